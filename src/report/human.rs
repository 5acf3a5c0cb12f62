//! Output for people, in the shape Ansible users know: PLAY and TASK
//! banners, one line per host, diffs, and the PLAY RECAP.

use std::io::{IsTerminal, Write};

use serde_json::Value;

use super::{Map, Reporter, shown_diff, shown_label, shown_map, shown_result};
use crate::engine::{HostStats, Outcome, Status};
use crate::redact::Redacting;

pub struct Human {
    out: Box<dyn Write>,
    color: bool,
    verbosity: u8,
    /// Set when a task banner was announced but not printed yet: it is
    /// printed with the first line under it.
    pending_header: Option<String>,
}

impl Human {
    pub fn stdout(verbosity: u8) -> Human {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Human {
            // Every line passes the redaction of secrets on its way out.
            out: Box::new(Redacting::new(std::io::stdout())),
            color,
            verbosity,
            pending_header: None,
        }
    }

    fn line(&mut self, text: &str) {
        if let Some(h) = self.pending_header.take() {
            let _ = writeln!(self.out, "\n{}", banner(&h));
        }
        let _ = writeln!(self.out, "{text}");
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn status_line(
        &self,
        status: Status,
        ignored: bool,
        host: &str,
        delegated: Option<&str>,
    ) -> String {
        let target = match delegated {
            Some(d) => format!("[{host} -> {d}]"),
            None => format!("[{host}]"),
        };
        let (text, code) = match status {
            Status::Ok => (format!("ok: {target}"), "32"),
            Status::Changed => (format!("changed: {target}"), "33"),
            Status::Skipped => (format!("skipping: {target}"), "36"),
            Status::Failed if ignored => (format!("fatal: {target}: FAILED!"), "31"),
            Status::Failed => (format!("fatal: {target}: FAILED!"), "31"),
            Status::Unreachable => (format!("fatal: {target}: UNREACHABLE!"), "31"),
        };
        self.paint(&text, code)
    }
}

/// `TASK [name] ****...`: a title padded with stars to 80 columns.
pub fn banner(title: &str) -> String {
    let stars = 79usize.saturating_sub(title.chars().count()).max(3);
    format!("{title} {}", "*".repeat(stars))
}

fn json(v: &Map) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn pretty(v: &Map) -> String {
    // Ansible's debug output: 4-space indented JSON.
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if serde::Serialize::serialize(v, &mut ser).is_err() {
        return json(v);
    }
    String::from_utf8(buf).unwrap_or_default()
}

impl Reporter for Human {
    fn play_start(&mut self, name: &str) {
        let _ = writeln!(self.out, "\n{}", banner(&format!("PLAY [{name}]")));
    }

    fn no_hosts(&mut self) {
        let _ = writeln!(self.out, "skipping: no hosts matched");
    }

    fn task_start(&mut self, header: &str) {
        self.pending_header = Some(header.to_string());
    }

    fn result(&mut self, host: &str, outcome: &Outcome) {
        let shown = shown_result(outcome);
        let verbose_always = outcome.result.contains_key("_verbose_always");
        // Ansible's callback drops `changed` from debug's output only.
        let is_debug = outcome
            .result
            .get("_verbose_always")
            .and_then(Value::as_str)
            == Some("debug");
        for item in &outcome.items {
            // `no_log` hides an item's diff, label and result, at every
            // verbosity; each item as its own `no_log` says (the task as
            // a whole is hidden if any item is), as in Ansible.
            let hidden = item.no_log;
            if !hidden {
                for d in &item.diffs {
                    self.line(&shown_diff(d));
                }
            }
            let status = match item.status {
                Status::Failed => self.paint(&format!("failed: [{host}]"), "31"),
                other => self.status_line(other, false, host, outcome.delegated_to.as_deref()),
            };
            let label = shown_label(&item.label, hidden);
            let mut line = match item.status {
                Status::Failed => format!("{status} (item={label})"),
                _ => format!("{status} => (item={label})"),
            };
            let mut r = shown_map(&item.result, hidden);
            if item.status == Status::Failed || item.status == Status::Unreachable {
                line.push_str(&format!(" => {}", json(&r)));
            } else if verbose_always && !hidden {
                if is_debug {
                    r.remove("changed");
                }
                r.remove("ansible_loop_var");
                r.remove("item");
                line.push_str(&format!(" => {}", pretty(&r)));
            } else if self.verbosity > 0 {
                line.push_str(&format!(" => {}", json(&r)));
            }
            self.line(&line);
        }
        if outcome.items.is_empty() && !outcome.no_log {
            for d in &outcome.diffs {
                self.line(&shown_diff(d));
            }
        }
        let failed = matches!(outcome.status, Status::Failed | Status::Unreachable);
        if !outcome.items.is_empty() && matches!(outcome.status, Status::Ok | Status::Changed) {
            // Ansible shows a loop's success per item only.
            return;
        }
        let mut line = self.status_line(
            outcome.status,
            outcome.ignored,
            host,
            outcome.delegated_to.as_deref(),
        );
        if failed {
            line.push_str(&format!(" => {}", json(&shown)));
        } else if outcome.result.contains_key("_depends_on") {
            let why = shown
                .get("msg")
                .or_else(|| shown.get("censored"))
                .and_then(Value::as_str)
                .unwrap_or("");
            line.push_str(&format!(" => ({why})"));
        } else if !outcome.items.is_empty() {
            // Loop results were shown per item.
        } else if verbose_always && !outcome.no_log {
            let mut r = shown.clone();
            if is_debug {
                r.remove("changed");
            }
            line.push_str(&format!(" => {}", pretty(&r)));
        } else if self.verbosity > 0 {
            line.push_str(&format!(" => {}", json(&shown)));
        }
        self.line(&line);
        if outcome.ignored {
            self.line(&self.paint("...ignoring", "36"));
        }
    }

    fn included(&mut self, host: &str, file: &str) {
        self.line(&format!("included: {file} for {host}"));
    }

    fn retry(&mut self, host: &str, task: &str, left: u32, result: &Map) {
        let mut line = format!("FAILED - RETRYING: [{host}]: {task} ({left} retries left).");
        if self.verbosity > 0 {
            line.push_str(&format!("Result was: {}", json(result)));
        }
        let _ = writeln!(self.out, "{}", self.paint(&line, "31"));
    }

    fn note(&mut self, text: &str) {
        self.line(text);
    }

    fn recap(&mut self, stats: &[(String, HostStats)], traffic: &[(String, (u64, u64, u64))]) {
        let _ = writeln!(self.out, "\n{}", banner("PLAY RECAP"));
        for (host, s) in stats {
            let count = |name: &str, n: u32| format!("{name}={:<4}", n);
            let line = format!(
                "{:<26} : {} {} {} {} {} {} {}",
                host,
                count("ok", s.ok),
                count("changed", s.changed),
                count("unreachable", s.unreachable),
                count("failed", s.failed),
                count("skipped", s.skipped),
                count("rescued", s.rescued),
                count("ignored", s.ignored),
            );
            let _ = writeln!(self.out, "{line}");
        }
        if self.verbosity > 0 {
            let _ = writeln!(self.out);
            for (host, (trips, sent, received)) in traffic {
                let _ = writeln!(
                    self.out,
                    "{host}: {trips} round trips, {sent} bytes sent, {received} bytes received"
                );
            }
        }
        let _ = writeln!(self.out);
        let _ = self.out.flush();
    }
}
