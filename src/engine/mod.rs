//! The engine: runs a loaded playbook against an inventory, host by host in
//! parallel, task by task, and reports what happened.

mod batches;
mod controller;
mod facts;
mod failures;
mod file_facts;
mod host;
mod hostvars;
mod include;
mod invoke;
mod lockstep;
mod options;
mod outcome;
mod play;
mod prefetch;
mod run;
mod run_once;
mod saved_plan;
mod stats;
mod task;
mod timeout;
mod vars;

pub use options::{ConnectionOptions, RunOptions};
pub use outcome::{ItemOutcome, Outcome, Status};
pub use run::{RunSummary, run_playbook};
pub use stats::HostStats;
