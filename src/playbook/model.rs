//! The shapes of a loaded playbook.

use std::path::PathBuf;
use std::sync::Arc;

use crate::yaml::Loc;

use super::Keywords;
use super::serial::SerialSpec;

pub type Map = serde_json::Map<String, serde_json::Value>;

#[derive(Debug)]
pub struct Playbook {
    pub path: PathBuf,
    /// The playbook's directory: roles/, files/, templates/, group_vars/ are looked up here.
    pub dir: PathBuf,
    pub plays: Vec<Play>,
}

#[derive(Debug)]
pub struct Play {
    pub name: Option<String>,
    pub hosts: String,
    pub loc: Loc,
    pub vars: Map,
    /// `vars_files` entries as written (may be templates), with their positions.
    pub vars_files: Vec<(String, Loc)>,
    pub gather_facts: bool,
    pub serial: SerialSpec,
    pub max_fail_percentage: Option<f64>,
    pub any_errors_fatal: bool,
    /// Notified handlers run on a host even after it failed.
    pub force_handlers: bool,
    /// Keywords every task of the play inherits (become, tags, environment, ...).
    pub keywords: Keywords,
    pub pre_tasks: Vec<Item>,
    /// Role tasks, then the play's `tasks`.
    pub tasks: Vec<Item>,
    pub post_tasks: Vec<Item>,
    pub handlers: Vec<Item>,
    pub strategy: Option<String>,
}

/// An entry of a task list.
#[derive(Debug)]
pub enum Item {
    Task(Task),
    Block(Block),
}

impl Item {
    pub fn loc(&self) -> &Loc {
        match self {
            Item::Task(t) => &t.loc,
            Item::Block(b) => &b.loc,
        }
    }
}

#[derive(Debug)]
pub struct Block {
    pub name: Option<String>,
    pub loc: Loc,
    pub keywords: Keywords,
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
    /// Set when this block is a role's task list: its variables and paths.
    pub role: Option<Arc<RoleScope>>,
}

/// What tasks inside a role see: the role's name, path and variables.
#[derive(Debug)]
pub struct RoleScope {
    pub name: String,
    pub path: PathBuf,
    pub defaults: Map,
    pub vars: Map,
    /// Parameters given where the role is used (`- role: x` with `vars:` or extra keys).
    pub params: Map,
}

#[derive(Debug)]
pub struct Task {
    pub name: Option<String>,
    pub loc: Loc,
    pub action: TaskAction,
    pub keywords: Keywords,
    /// Handler topics (`listen`), for handlers only.
    pub listen: Vec<String>,
}

pub enum TaskAction {
    /// A builtin module with its arguments as written.
    Module {
        module: &'static dyn tend_modules::Module,
        /// The name as written (`ansible.builtin.file`), for output.
        written: String,
        args: Map,
        /// Where each argument key is, for errors that name a parameter.
        arg_locs: Vec<(String, Loc)>,
    },
    /// `include_role`: the role's tasks, loaded with the playbook; run like
    /// an include (the task's keywords are for the include itself).
    IncludeRole {
        name: String,
        items: Arc<Vec<Item>>,
        apply: Box<Keywords>,
    },
    /// `include_tasks: file` — read when the task runs, for each host.
    IncludeTasks {
        file: String,
        base_dir: PathBuf,
        role: Option<Arc<RoleScope>>,
        /// `apply:` keywords for the included tasks. The include's own
        /// keywords (tags, when, become...) are for the include alone;
        /// only its variables reach the included tasks.
        apply: Box<Keywords>,
    },
}

impl std::fmt::Debug for TaskAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskAction::Module { written, args, .. } => write!(f, "{written} {args:?}"),
            TaskAction::IncludeTasks { file, .. } => write!(f, "include_tasks {file}"),
            TaskAction::IncludeRole { items, .. } => write!(f, "include_role {items:?}"),
        }
    }
}

impl Task {
    /// The name shown in output: the task's name, or the module's name.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match &self.action {
            TaskAction::Module { written, .. } => written.clone(),
            TaskAction::IncludeTasks { .. } => "include_tasks".into(),
            TaskAction::IncludeRole { .. } => "include_role".into(),
        }
    }

    pub fn module_name(&self) -> &str {
        match &self.action {
            TaskAction::Module { module, .. } => module.name(),
            TaskAction::IncludeTasks { .. } => "include_tasks",
            TaskAction::IncludeRole { .. } => "include_role",
        }
    }
}
