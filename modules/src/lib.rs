//! tend's builtin modules: what can be done to a host, as pure logic.
//!
//! A module parses its parameters strictly, names a read-only probe (a shell
//! script whose output describes the current state), and turns the observed
//! state into a [`Plan`]: whether anything changes, a diff, and the steps that
//! carry the change out. Modules never talk to a host; the engine runs probes
//! and steps, batches round trips and owns check mode. So every module's
//! decisions are unit-tested here with fixtures, no host needed.

mod args;
mod context;
mod error;
mod plan;
mod registry;
mod spec;

pub mod diff;
pub mod facts;
pub mod mode;
pub mod probe;
pub mod shell;
pub mod write;

mod apt;
mod assert;
mod command;
mod content;
mod copy;
mod debug;
mod fail;
mod file;
mod group;
mod include_vars;
mod iptables;
mod iptables_rules;
mod lineinfile;
mod meta;
mod netfilter;
mod nginx_site;
mod package;
mod service;
mod set_fact;
mod setup;
mod stat;
mod systemd;
mod systemd_unit;
mod template;
mod unarchive;
mod unit_state;
mod uri;
mod user;
mod wait_for;

pub use args::{Args, display, to_bool};
pub use context::{Controller, TemplateFile};
pub use error::{ParamError, TaskError, clip, clip_to};
pub use plan::{CheckMode, Diff, Observed, Plan, Step, StepOutput};
pub use registry::{Module, Task, lookup, names};
pub use spec::{Kind, Param};

/// Parameter and result values are JSON values, as in Ansible.
pub type Value = serde_json::Value;
/// A module result or parameter mapping.
pub type Map = serde_json::Map<String, Value>;
