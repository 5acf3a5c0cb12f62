//! What a drift run saw, gathered from the run's events instead of printed:
//! every task that changed or failed on a host, with its diff and time.

use std::time::Instant;

use serde_json::{Value, json};

use crate::engine::{HostStats, Outcome, Status};
use crate::report::{Map, Reporter, shown_diff, shown_msg, shown_result, task_name};

/// One task that changed or failed on one host.
#[derive(Debug, Clone)]
pub struct Drifted {
    pub host: String,
    pub task: String,
    pub status: &'static str,
    pub msg: Option<String>,
    pub diffs: Vec<String>,
    pub seconds: f64,
}

impl Drifted {
    pub fn failed(&self) -> bool {
        self.status != "changed"
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "host": self.host,
            "task": self.task,
            "status": self.status,
            "diff": self.diffs,
            "seconds": (self.seconds * 1000.0).round() / 1000.0,
        });
        if let Some(msg) = &self.msg {
            v["msg"] = msg.clone().into();
        }
        v
    }
}

pub struct Recorder {
    task: String,
    task_started: Instant,
    pub drifted: Vec<Drifted>,
    pub stats: Vec<(String, HostStats)>,
    pub notes: Vec<String>,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder {
            task: String::new(),
            task_started: Instant::now(),
            drifted: Vec::new(),
            stats: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl Reporter for Recorder {
    fn play_start(&mut self, _name: &str) {}

    fn no_hosts(&mut self) {}

    fn task_start(&mut self, header: &str) {
        self.task = task_name(header).to_string();
        self.task_started = Instant::now();
    }

    fn result(&mut self, host: &str, outcome: &Outcome) {
        let status = match outcome.status {
            _ if outcome.borrowed || outcome.ignored => return,
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Unreachable => "unreachable",
            Status::Ok | Status::Skipped => return,
        };
        // Censored under `no_log`, secrets masked.
        let msg = match status {
            "changed" => None,
            _ => Some(
                shown_msg(outcome)
                    .unwrap_or_else(|| Value::Object(shown_result(outcome)).to_string()),
            ),
        };
        let diffs = match outcome.no_log {
            true => Vec::new(),
            false => outcome
                .diffs
                .iter()
                .chain(outcome.items.iter().flat_map(|i| &i.diffs))
                .map(|d| shown_diff(d))
                .collect(),
        };
        self.drifted.push(Drifted {
            host: host.to_string(),
            task: self.task.clone(),
            status,
            msg,
            diffs,
            seconds: self.task_started.elapsed().as_secs_f64(),
        });
    }

    fn included(&mut self, _host: &str, _file: &str) {}

    fn retry(&mut self, _host: &str, _task: &str, _left: u32, _result: &Map) {}

    fn note(&mut self, text: &str) {
        self.notes.push(text.to_string());
    }

    fn recap(&mut self, stats: &[(String, HostStats)], _traffic: &[(String, (u64, u64, u64))]) {
        self.stats = stats.to_vec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_and_failures_are_kept_and_no_log_hides_the_diff_and_the_message() {
        let mut r = Recorder::default();
        r.task_start("TASK [write config]");
        let mut changed = Outcome::new(Status::Changed, Map::new());
        changed.diffs.push("--- before\n+++ after\n".into());
        r.result("h1", &changed);
        r.result("h2", &Outcome::new(Status::Ok, Map::new()));
        let mut secret = changed.clone();
        secret.no_log = true;
        r.result("h3", &secret);
        r.task_start("RUNNING HANDLER [restart app]");
        r.result("h1", &Outcome::failed("no such unit"));
        let mut ignored = Outcome::failed("x");
        ignored.ignored = true;
        r.result("h2", &ignored);
        let mut hidden = Outcome::failed("could not log in with pw hunter2");
        hidden.no_log = true;
        r.result("h3", &hidden);
        let got: Vec<_> = r
            .drifted
            .iter()
            .map(|d| {
                (
                    d.host.as_str(),
                    d.task.as_str(),
                    d.status,
                    d.msg.as_deref(),
                    d.diffs.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("h1", "write config", "changed", None, 1),
                ("h3", "write config", "changed", None, 0),
                ("h1", "restart app", "failed", Some("no such unit"), 0),
                (
                    "h3",
                    "restart app",
                    "failed",
                    Some(crate::report::CENSORED),
                    0
                ),
            ]
        );
    }
}
