//! `--format json`: one document shaped like Ansible's json callback
//! (`plays` → `tasks` → `hosts`, and `stats`), plus tend's traffic counts.

use std::io::Write;

use serde_json::{Value, json};

use super::{Map, Reporter, shown_result};
use crate::engine::{HostStats, Outcome};

#[derive(Default)]
pub struct Json {
    plays: Vec<Value>,
    notes: Vec<String>,
}

impl Json {
    fn current_tasks(&mut self) -> Option<&mut Vec<Value>> {
        self.plays.last_mut()?.get_mut("tasks")?.as_array_mut()
    }

    fn host_entry(&mut self, host: &str, result: Map) {
        if let Some(task) = self.current_tasks().and_then(|t| t.last_mut()) {
            if let Some(hosts) = task.get_mut("hosts").and_then(Value::as_object_mut) {
                hosts.insert(host.to_string(), Value::Object(result));
            }
        }
    }
}

impl Reporter for Json {
    fn play_start(&mut self, name: &str) {
        self.plays
            .push(json!({"play": {"name": name}, "tasks": []}));
    }

    fn no_hosts(&mut self) {}

    fn task_start(&mut self, header: &str) {
        let name = super::task_name(header);
        if let Some(tasks) = self.current_tasks() {
            tasks.push(json!({"task": {"name": name}, "hosts": {}}));
        }
    }

    fn result(&mut self, host: &str, outcome: &Outcome) {
        let mut r = shown_result(outcome);
        if outcome.ignored {
            r.insert("ignored".into(), Value::Bool(true));
        }
        if outcome.status == crate::engine::Status::Skipped {
            r.insert("skipped".into(), Value::Bool(true));
        }
        self.host_entry(host, r);
    }

    fn included(&mut self, host: &str, file: &str) {
        let mut r = Map::new();
        r.insert("include".into(), Value::String(file.to_string()));
        r.insert("changed".into(), Value::Bool(false));
        self.host_entry(host, r);
    }

    fn retry(&mut self, _: &str, _: &str, _: u32, _: &Map) {}

    fn note(&mut self, text: &str) {
        self.notes.push(text.to_string());
    }

    fn recap(&mut self, stats: &[(String, HostStats)], traffic: &[(String, (u64, u64, u64))]) {
        let mut s = Map::new();
        for (host, st) in stats {
            s.insert(
                host.clone(),
                serde_json::to_value(st).unwrap_or(Value::Null),
            );
        }
        let mut t = Map::new();
        for (host, (trips, sent, received)) in traffic {
            t.insert(
                host.clone(),
                json!({"round_trips": trips, "bytes_sent": sent, "bytes_received": received}),
            );
        }
        let mut doc = json!({
            "custom_stats": {},
            "global_custom_stats": {},
            "plays": std::mem::take(&mut self.plays),
            "stats": s,
            "tend": {"version": env!("CARGO_PKG_VERSION"), "traffic": t, "notes": self.notes},
        });
        // Task names, notes and results may hold secrets too.
        crate::redact::redact_value(&mut doc);
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
    }
}
