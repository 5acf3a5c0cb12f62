//! Saved plans. `tend plan` runs the playbook in check mode and records,
//! per host and task, what the task's probe saw (a fingerprint of the
//! state) and the change it would make, with diffs. `tend apply` runs the
//! same playbook for real and lets each task go ahead only if the plan has
//! it, the host still looks as the plan saw it and the task would make the
//! planned change; it refuses the others, so nothing unplanned is applied.
//!
//! This module is the plan file and its rules, apart from the engine: the
//! engine calls a [`PlanHook`] once per task, with plain data.

mod age;
mod checker;
mod checksums;
mod file;
mod fingerprint;
mod hook;
mod recorder;
mod summary;
mod verdict;

pub use age::{DEFAULT_MAX_AGE, check_age, now_unix, parse_duration, rfc3339};
pub use checker::{ApplyReport, Checker, Refusal, Survey};
pub use checksums::{collect as file_sums, first_difference};
pub use file::{
    Action, FORMAT, FileSum, HostPlan, PlanFile, PlannedTask, Problem, RunSpec, VERSION,
    is_plan_file,
};
pub use fingerprint::{fingerprint, identity, intent, sealed_intent, state_key};
pub use hook::{PlanHook, SeenOutcome, SeenTask, Verdict};
pub use recorder::Recorder;
pub use summary::{apply_text, plan_text};
