//! Keywords that plays, blocks and tasks share, and how they inherit.

use serde_json::Value;

use super::model::Map;
use crate::error::Error;
use crate::yaml::{Node, NodeValue};

/// Task keywords as written. Values that may hold templates stay `Value`s
/// and are evaluated per host by the engine.
#[derive(Debug, Clone, Default)]
pub struct Keywords {
    /// Conditions; a task runs when all hold (inherited ones first).
    pub when: Vec<String>,
    pub tags: Vec<String>,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub ignore_errors: Option<Value>,
    pub ignore_unreachable: Option<Value>,
    pub check_mode: Option<Value>,
    pub diff: Option<Value>,
    pub vars: Map,
    pub environment: Option<Value>,
    pub no_log: Option<Value>,
    pub run_once: Option<Value>,
    pub delegate_to: Option<String>,
    pub any_errors_fatal: Option<bool>,
    pub connection: Option<String>,
    /// The login user when the inventory names none (`ansible_user` wins).
    pub remote_user: Option<String>,
    /// Seconds a task's module may run (`timeout`); 0 or absent: no limit.
    pub timeout: Option<Value>,
    /// Task-only keywords below: not inherited.
    pub loop_items: Option<Value>,
    /// Whether the loop came from `with_items` (which flattens one level).
    pub loop_flatten: bool,
    /// Whether the loop came from `with_dict` (a mapping, one item per entry).
    pub loop_dict: bool,
    /// `loop_control: {extended: true}`: `ansible_loop` is set.
    pub loop_extended: bool,
    pub loop_var: Option<String>,
    pub loop_label: Option<Value>,
    pub index_var: Option<String>,
    pub register: Option<String>,
    pub notify: Vec<String>,
    pub changed_when: Option<Vec<String>>,
    pub failed_when: Option<Vec<String>>,
    pub until: Option<String>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
}

/// `environment` adds up like Ansible's (a list, outermost first): a
/// task's variables override its play's and block's, the others stay.
/// Each layer stays as written (a mapping or a template), to be rendered
/// and merged per host.
fn layered(parent: Option<&Value>, child: Option<&Value>) -> Option<Value> {
    fn layers(v: &Value) -> Vec<Value> {
        match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        }
    }
    match (parent, child) {
        (Some(p), Some(c)) => Some(Value::Array([layers(p), layers(c)].concat())),
        (p, c) => c.or(p).cloned(),
    }
}

/// Keywords valid on plays, blocks and tasks alike.
pub const SHARED: &[&str] = &[
    "name",
    "when",
    "tags",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "ignore_errors",
    "ignore_unreachable",
    "check_mode",
    "diff",
    "vars",
    "environment",
    "no_log",
    "run_once",
    "delegate_to",
    "delegate_facts",
    "any_errors_fatal",
    "connection",
    "remote_user",
    "port",
    "module_defaults",
    "collections",
    "throttle",
    "timeout",
    "debugger",
];

/// Keywords only a task takes.
pub const TASK_ONLY: &[&str] = &[
    "loop",
    "loop_control",
    "register",
    "notify",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "args",
    "listen",
    "async",
    "poll",
    "action",
    "local_action",
    "with_items",
    "with_list",
    "with_dict",
    "with_fileglob",
    "with_sequence",
    "with_together",
    "with_nested",
    "with_subelements",
    "with_indexed_items",
    "with_flattened",
    "with_random_choice",
];

impl Keywords {
    /// What a child (a block's task, a role's task) inherits from `parent`:
    /// conditions and tags add up, variables layer, the rest the child may override.
    pub fn inherit(&self, parent: &Keywords) -> Keywords {
        let mut k = self.clone();
        k.when = parent.when.iter().chain(&self.when).cloned().collect();
        for tag in &parent.tags {
            if !k.tags.contains(tag) {
                k.tags.push(tag.clone());
            }
        }
        let mut vars = parent.vars.clone();
        vars.extend(self.vars.clone());
        k.vars = vars;
        k.environment = layered(parent.environment.as_ref(), self.environment.as_ref());
        k.become_ = self.become_.or(parent.become_);
        k.become_user = self
            .become_user
            .clone()
            .or_else(|| parent.become_user.clone());
        macro_rules! or_parent {
            ($($f:ident),*) => { $( if k.$f.is_none() { k.$f = parent.$f.clone(); } )* };
        }
        or_parent!(
            ignore_errors,
            ignore_unreachable,
            check_mode,
            diff,
            no_log,
            run_once,
            delegate_to,
            any_errors_fatal,
            connection,
            remote_user,
            timeout
        );
        k
    }

    /// Reads one shared keyword into `self`; false if `key` is not one.
    /// A value of the wrong type is an error that names the keyword.
    pub fn read_shared(&mut self, key: &str, value: &Node) -> Result<bool, Error> {
        self.read_shared_value(key, value)
            .map_err(|e| e.context(key))
    }

    fn read_shared_value(&mut self, key: &str, value: &Node) -> Result<bool, Error> {
        match key {
            "when" => self.when.extend(conditions(value)?),
            "tags" => self.tags.extend(strings(value)?),
            "become" => self.become_ = Some(boolean(value)?),
            "become_user" => self.become_user = Some(text(value)?),
            "ignore_errors" => self.ignore_errors = Some(value.to_value()),
            "ignore_unreachable" => self.ignore_unreachable = Some(value.to_value()),
            "check_mode" => self.check_mode = Some(value.to_value()),
            "diff" => self.diff = Some(value.to_value()),
            "vars" => self.vars.extend(mapping(value)?),
            "environment" => self.environment = Some(value.to_value()),
            "no_log" => self.no_log = Some(value.to_value()),
            "run_once" => self.run_once = Some(value.to_value()),
            "delegate_to" => self.delegate_to = Some(text(value)?),
            "any_errors_fatal" => self.any_errors_fatal = Some(boolean(value)?),
            "connection" => self.connection = Some(text(value)?),
            "remote_user" => self.remote_user = Some(text(value)?),
            "timeout" => self.timeout = Some(value.to_value()),
            "name" | "become_method" | "become_flags" | "delegate_facts" | "port"
            | "module_defaults" | "collections" | "throttle" | "debugger" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// `when`-like values: a string, a boolean, or a list of them.
pub fn conditions(value: &Node) -> Result<Vec<String>, Error> {
    match &value.value {
        NodeValue::Seq(items) => items.iter().map(condition).collect(),
        NodeValue::Null => Ok(Vec::new()),
        _ => Ok(vec![condition(value)?]),
    }
}

fn condition(value: &Node) -> Result<String, Error> {
    match &value.value {
        NodeValue::Str(s) => {
            let t = s.trim();
            // Ansible accepts `when: "{{ x }}"` with a warning; the bare expression is meant.
            Ok(
                match t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) {
                    Some(inner) if !inner.contains("{{") => inner.trim().to_string(),
                    _ => t.to_string(),
                },
            )
        }
        NodeValue::Bool(b) => Ok(if *b { "True" } else { "False" }.to_string()),
        NodeValue::Int(i) => Ok(i.to_string()),
        _ => Err(Error::at(
            &value.loc,
            format!(
                "a condition must be a string or a boolean, not {}",
                value.kind()
            ),
        )),
    }
}

/// A string or a list of strings (`tags: a,b` splits on commas, as Ansible does).
pub fn strings(value: &Node) -> Result<Vec<String>, Error> {
    match &value.value {
        NodeValue::Seq(items) => items.iter().map(text).collect(),
        NodeValue::Str(s) => Ok(s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()),
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => Ok(vec![text(value)?]),
        NodeValue::Map(_) => Err(Error::at(
            &value.loc,
            "expected a string or a list of strings, not a mapping",
        )),
    }
}

pub fn text(value: &Node) -> Result<String, Error> {
    match &value.value {
        NodeValue::Str(s) => Ok(s.clone()),
        NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => Ok(value.key_text()),
        _ => Err(Error::at(
            &value.loc,
            format!("expected a string, not {}", value.kind()),
        )),
    }
}

pub fn boolean(value: &Node) -> Result<bool, Error> {
    tend_modules::to_bool(&value.to_value()).ok_or_else(|| {
        Error::at(
            &value.loc,
            format!(
                "expected a boolean (true/false, yes/no), not {}",
                value.kind()
            ),
        )
    })
}

pub fn mapping(value: &Node) -> Result<Map, Error> {
    match value.to_value() {
        serde_json::Value::Object(m) => Ok(m),
        serde_json::Value::Null => Ok(Map::new()),
        _ => Err(Error::at(
            &value.loc,
            format!("expected a mapping, not {}", value.kind()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn environment_layers_add_up_outermost_first() {
        let play = json!({"A": "play", "B": "play"});
        let task = json!({"A": "task"});
        assert_eq!(
            layered(Some(&play), Some(&task)),
            Some(json!([{"A": "play", "B": "play"}, {"A": "task"}]))
        );
        assert_eq!(layered(Some(&play), None), Some(play.clone()));
        assert_eq!(layered(None, Some(&task)), Some(task.clone()));
        let block = json!([{"C": "block"}, "{{ proxy_env }}"]);
        assert_eq!(
            layered(Some(&block), Some(&task)),
            Some(json!([{"C": "block"}, "{{ proxy_env }}", {"A": "task"}]))
        );
    }
}
