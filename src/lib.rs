//! tend: how playbooks get to hosts. The CLI, the playbook and inventory
//! readers, variables and templates, the task graph, the engine that walks it,
//! the transports and the reports. What can be done to a host lives in the
//! `tend-modules` crate.

pub mod atomic_file;
pub mod cli;
pub mod drift;
pub mod engine;
pub mod error;
pub mod fuzz_entry;
pub mod graph;
pub mod inventory;
pub mod plan;
pub mod playbook;
pub mod redact;
pub mod report;
pub mod templating;
pub mod transport;
pub mod validate;
pub mod vault;
pub mod yaml;
