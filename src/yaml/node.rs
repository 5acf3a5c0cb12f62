//! The YAML tree: nodes that remember where they came from.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

/// A file (or other text) that nodes point back into.
#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    /// The text of a 1-based line, for error snippets.
    pub fn line(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }
}

/// Where a node starts: a file and a 1-based line and column.
#[derive(Debug, Clone)]
pub struct Loc {
    pub source: Arc<Source>,
    pub line: usize,
    pub col: usize,
}

impl Loc {
    /// A location with no position, for values made by tend itself.
    pub fn synthetic(what: &str) -> Loc {
        Loc {
            source: Arc::new(Source {
                path: PathBuf::from(what),
                text: String::new(),
            }),
            line: 0,
            col: 0,
        }
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.source.path.display())
        } else {
            write!(
                f,
                "{}:{}:{}",
                self.source.path.display(),
                self.line,
                self.col
            )
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub value: NodeValue,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in document order; a duplicate key keeps its last value, as Ansible does.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, NodeValue::Null)
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key_text() == key)
            .map(|(_, v)| v)
    }

    /// A mapping key as text (Ansible keys are strings; `1:` is the key "1").
    pub fn key_text(&self) -> String {
        match &self.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Null => String::new(),
            _ => value_text(&self.to_value()),
        }
    }

    /// What kind of YAML value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) | NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The plain value, without positions.
    pub fn to_value(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            NodeValue::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.key_text(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// A scalar as text, the way Python's `str()` prints it.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}
