//! Reports: what a run tells people (human) and programs (JSON).

mod human;
mod json;

pub use human::Human;
pub use json::Json;

use crate::engine::{HostStats, Outcome};

pub type Map = serde_json::Map<String, serde_json::Value>;

/// Receives a run's events in playbook order.
pub trait Reporter {
    fn play_start(&mut self, name: &str);
    /// The play selected no host.
    fn no_hosts(&mut self);
    fn task_start(&mut self, header: &str);
    fn result(&mut self, host: &str, outcome: &Outcome);
    fn included(&mut self, host: &str, file: &str);
    fn retry(&mut self, host: &str, task: &str, left: u32, result: &Map);
    fn note(&mut self, text: &str);
    /// The end of the run: counts per host, and each host's traffic.
    fn recap(&mut self, stats: &[(String, HostStats)], traffic: &[(String, (u64, u64, u64))]);
}

/// The message Ansible shows instead of a `no_log` result.
pub const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// A result as shown: without internal keys, censored under `no_log`,
/// and with every registered secret (vault values, passwords) masked.
pub fn shown_result(outcome: &Outcome) -> Map {
    if outcome.no_log {
        let mut m = Map::new();
        m.insert("censored".into(), CENSORED.into());
        m.insert("changed".into(), outcome.changed().into());
        return m;
    }
    let mut m = outcome.result.clone();
    m.retain(|k, _| !k.starts_with('_'));
    crate::redact::redact_map(&mut m);
    m
}

/// A rendered diff as shown: with every registered secret masked.
pub fn shown_diff(diff: &str) -> String {
    crate::redact::redact(diff.trim_end()).into_owned()
}

/// The task's name in a header such as `TASK [name]` or
/// `RUNNING HANDLER [name]`.
pub fn task_name(header: &str) -> &str {
    header
        .split_once('[')
        .map_or(header, |(_, r)| r.trim_end_matches(']'))
}
