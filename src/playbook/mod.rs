//! Playbooks as written, checked strictly: plays, blocks, tasks, handlers
//! and roles, each with its source position. Nothing here is templated;
//! that happens per host when the engine runs a task.

mod keywords;
mod load;
mod model;
mod role;
mod role_task;
mod serial;
mod splitter;
mod task;

pub use keywords::Keywords;
pub use load::{load_playbook, load_playbook_bytes, load_task_file};
pub use model::{Block, Item, Play, Playbook, RoleScope, Task, TaskAction};
pub use serial::{Serial, SerialSpec, rendered_sizes};
pub use task::{resolve_task_file, split_args};
