//! What running one task on one host produced.

use serde_json::Value;

pub type Map = serde_json::Map<String, Value>;

/// The status of a task on a host, as the recap counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Skipped => "skipping",
            Status::Failed => "fatal",
            Status::Unreachable => "fatal",
        }
    }
}

/// One loop item's outcome.
#[derive(Debug, Clone)]
pub struct ItemOutcome {
    pub status: Status,
    pub label: String,
    pub result: Map,
    pub diffs: Vec<String>,
    /// Hidden by `no_log` (which may differ per item: `no_log: "{{ item.secret }}"`).
    pub no_log: bool,
}

/// The outcome of a task on a host: its status, its Ansible-style result
/// (what `register` keeps) and, for output, diffs and loop items.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub result: Map,
    pub diffs: Vec<String>,
    pub items: Vec<ItemOutcome>,
    /// A failure that `ignore_errors` let pass.
    pub ignored: bool,
    /// The host the task really ran on, when delegated.
    pub delegated_to: Option<String>,
    /// Hidden by `no_log`: the result, its message, loop items and diffs
    /// are shown censored, and kept out of drift reports and saved plans.
    /// A looped task is hidden if any of its items is.
    pub no_log: bool,
    /// A `run_once` result another host produced: this host takes its
    /// effects (register) but does not report or count it, as in Ansible.
    pub borrowed: bool,
}

impl Outcome {
    pub fn new(status: Status, result: Map) -> Outcome {
        Outcome {
            status,
            result,
            diffs: Vec::new(),
            items: Vec::new(),
            ignored: false,
            delegated_to: None,
            no_log: false,
            borrowed: false,
        }
    }

    pub fn failed(msg: impl Into<String>) -> Outcome {
        let mut result = Map::new();
        result.insert("failed".into(), Value::Bool(true));
        result.insert("msg".into(), Value::String(msg.into()));
        Outcome::new(Status::Failed, result)
    }

    pub fn skipped(reason: &str, condition: Option<&str>) -> Outcome {
        let mut result = Map::new();
        result.insert("changed".into(), Value::Bool(false));
        result.insert("skipped".into(), Value::Bool(true));
        result.insert("skip_reason".into(), Value::String(reason.into()));
        if let Some(c) = condition {
            result.insert("false_condition".into(), Value::String(c.into()));
        }
        Outcome::new(Status::Skipped, result)
    }

    pub fn changed(&self) -> bool {
        self.result
            .get("changed")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn is_failure(&self) -> bool {
        matches!(self.status, Status::Failed | Status::Unreachable) && !self.ignored
    }

    pub fn msg(&self) -> Option<&str> {
        self.result.get("msg").and_then(Value::as_str)
    }
}
