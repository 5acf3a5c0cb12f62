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

/// How a loop item hidden by `no_log` is labelled: `(item=None)`, as in
/// Ansible.
pub const HIDDEN_ITEM: &str = "None";

/// A result as shown: without internal keys, censored under `no_log`,
/// and with every registered secret (vault values, passwords) masked.
pub fn shown_result(outcome: &Outcome) -> Map {
    shown_map(&outcome.result, outcome.no_log)
}

/// A result (a task's, a loop item's, a retry's) as shown: censored when
/// `hidden`, else without internal keys and with registered secrets masked.
pub fn shown_map(result: &Map, hidden: bool) -> Map {
    if hidden {
        return censored(result);
    }
    let mut m = result.clone();
    m.retain(|k, _| !k.starts_with('_'));
    crate::redact::redact_map(&mut m);
    m
}

/// What Ansible keeps of a `no_log` result: its message in place of
/// everything, and whether it changed, how many attempts it took.
pub fn censored(result: &Map) -> Map {
    let mut m = Map::new();
    m.insert("censored".into(), CENSORED.into());
    let changed = result
        .get("changed")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    m.insert("changed".into(), changed.into());
    for key in ["attempts", "retries"] {
        if let Some(v) = result.get(key).filter(|v| v.is_number()) {
            m.insert(key.into(), v.clone());
        }
    }
    m
}

/// A failed outcome's message as shown: Ansible's censored message under
/// `no_log`, else the message with registered secrets masked.
pub fn shown_msg(outcome: &Outcome) -> Option<String> {
    if outcome.no_log {
        return Some(CENSORED.to_string());
    }
    outcome.msg().map(|m| crate::redact::redact(m).into_owned())
}

/// A loop item's label as shown.
pub fn shown_label(label: &str, hidden: bool) -> std::borrow::Cow<'_, str> {
    match hidden {
        true => HIDDEN_ITEM.into(),
        false => crate::redact::redact(label),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Outcome, Status};
    use serde_json::{Value, json};

    #[test]
    fn a_censored_result_keeps_only_what_ansible_keeps() {
        let result = json!({
            "changed": true, "attempts": 2, "stdout": "pw", "msg": "pw", "_internal": 1
        });
        let mut outcome = Outcome::new(Status::Failed, result.as_object().cloned().unwrap());
        outcome.no_log = true;
        assert_eq!(
            Value::Object(shown_result(&outcome)),
            json!({"censored": CENSORED, "changed": true, "attempts": 2})
        );
        assert_eq!(shown_msg(&outcome).as_deref(), Some(CENSORED));
        outcome.no_log = false;
        assert_eq!(
            Value::Object(shown_result(&outcome)),
            json!({"changed": true, "attempts": 2, "stdout": "pw", "msg": "pw"})
        );
        assert_eq!(shown_msg(&outcome).as_deref(), Some("pw"));
    }

    #[test]
    fn a_hidden_label_is_none_and_a_shown_one_is_masked() {
        crate::redact::register("label-s3cret");
        assert_eq!(shown_label("label-s3cret", true), HIDDEN_ITEM);
        assert_eq!(shown_label("user label-s3cret", false), "user ********");
    }
}
