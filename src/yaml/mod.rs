//! YAML as Ansible reads it, with a source position on every node.
//!
//! Built on saphyr-parser's event stream, so that every key and value knows
//! its `file:line:col` for error messages, and so that scalars resolve the
//! way PyYAML's YAML 1.1 does for Ansible: `yes`/`no`/`on`/`off` are
//! booleans, `0644` is the octal integer 420, `~` is null.

mod load;
mod node;
mod scalar;

pub use load::{MAX_FILE_BYTES, load_bytes, load_file, load_str, read_bounded};
pub use node::{Loc, Node, NodeValue, Source};
