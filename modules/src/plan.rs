//! What a module decides: the observed state in, a plan out.

use crate::Map;

/// What a probe printed on the host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Observed {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// One action the engine carries out on the host: a `/bin/sh` script,
/// optionally fed bytes on stdin.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub script: String,
    pub stdin: Option<Vec<u8>>,
    /// A non-zero exit fails the task with the step's stderr. Modules that
    /// judge the exit code themselves (`command`) turn this off.
    pub check_rc: bool,
    /// Run over a new connection to the host, not the one the run uses:
    /// proof that the host can still be reached (a firewall change is
    /// confirmed this way, or reverted by a timer on the host).
    pub fresh_connection: bool,
    /// Run on an SSH channel of its own, not in the host's resident shell:
    /// the run waits, as Ansible does, until whatever the script started
    /// and left holding its output lets go of it, and nothing it leaves
    /// behind can print into a later script's answer.
    pub own_channel: bool,
}

impl Step {
    pub fn script(script: impl Into<String>) -> Step {
        Step {
            script: script.into(),
            stdin: None,
            check_rc: true,
            fresh_connection: false,
            own_channel: false,
        }
    }
    pub fn with_stdin(mut self, stdin: Vec<u8>) -> Step {
        self.stdin = Some(stdin);
        self
    }
    pub fn unchecked(mut self) -> Step {
        self.check_rc = false;
        self
    }
    pub fn on_own_channel(mut self) -> Step {
        self.own_channel = true;
        self
    }
    pub fn on_fresh_connection(mut self) -> Step {
        self.fresh_connection = true;
        self
    }
}

/// What a step printed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutput {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A before/after pair, shown as a unified diff (text) by the engine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diff {
    pub before_header: String,
    pub after_header: String,
    pub before: String,
    pub after: String,
}

impl Diff {
    pub fn new(header: &str, before: impl Into<String>, after: impl Into<String>) -> Diff {
        Diff {
            before_header: header.to_string(),
            after_header: header.to_string(),
            before: before.into(),
            after: after.into(),
        }
    }
}

/// A module's decision for one task on one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Whether carrying out the plan changes the host.
    pub changed: bool,
    pub diff: Vec<Diff>,
    /// What to run; empty when nothing changes.
    pub steps: Vec<Step>,
    /// Ansible's result fields for this module (`path`, `mode`, `msg`, ...).
    pub result: Map,
    /// Set when the task is skipped rather than run (Ansible's `skipped`).
    pub skipped: Option<String>,
}

impl Plan {
    /// Nothing to do; the result fields describe the state as it is.
    pub fn unchanged(result: Map) -> Plan {
        Plan {
            result,
            ..Plan::default()
        }
    }
    pub fn change(steps: Vec<Step>, result: Map) -> Plan {
        Plan {
            changed: true,
            steps,
            result,
            ..Plan::default()
        }
    }
    pub fn with_diff(mut self, diff: Diff) -> Plan {
        self.diff.push(diff);
        self
    }
}

/// How a task behaves under `--check`.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckMode {
    /// The plan is reported, its steps are not run.
    Full,
    /// The task cannot predict its effect: it is skipped with this message.
    Skip(String),
}
