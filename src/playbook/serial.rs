//! A play's `serial`, in two stages: as written (sizes checked when the
//! playbook is read, or a template kept for later), then as sizes. Ansible
//! renders a templated `serial` when the play starts, with the play's
//! variables and the extra vars (`serial: "{{ batch | default(1) }}"` with
//! `-e batch=2`); the engine does that, then reads the result here.

use serde_json::Value;

use crate::error::Error;
use crate::yaml::{Loc, Node, NodeValue};

/// One `serial` batch size.
#[derive(Debug, Clone, PartialEq)]
pub enum Serial {
    Count(usize),
    Percent(f64),
    /// Every host left, in one batch: Ansible reads a size of 0 or less so.
    Rest,
}

/// `serial` as written in a play.
#[derive(Debug, Clone)]
pub enum SerialSpec {
    /// Sizes known when the playbook is read; none: one batch of all hosts.
    Sizes(Vec<Serial>),
    /// A template, or a list holding one: rendered when the play starts.
    Template { value: Value, loc: Loc },
}

impl Default for SerialSpec {
    fn default() -> SerialSpec {
        SerialSpec::Sizes(Vec::new())
    }
}

impl SerialSpec {
    /// Reads `serial` as written. Values without a template are checked
    /// now, so that a typo is an error before any host is contacted.
    pub fn parse(node: &Node) -> Result<SerialSpec, Error> {
        if has_template(node) {
            return Ok(SerialSpec::Template {
                value: node.to_value(),
                loc: node.loc.clone(),
            });
        }
        let sizes = match &node.value {
            NodeValue::Seq(items) => items.iter().map(written).collect::<Result<_, _>>()?,
            NodeValue::Null | NodeValue::Int(0) => Vec::new(),
            _ => vec![written(node)?],
        };
        Ok(SerialSpec::Sizes(sizes))
    }
}

/// The sizes a templated `serial` rendered to (`written` is the template,
/// for the message): a size, a list of them, or nothing.
pub fn rendered_sizes(value: &Value, written: &Value, loc: &Loc) -> Result<Vec<Serial>, Error> {
    let bad = |v: &Value| {
        Error::at(
            loc,
            format!(
                "serial: {} renders to {}, which is not a number, a percentage or a list of them",
                shown(written),
                shown(v)
            ),
        )
    };
    let one = |v: &Value| match v {
        Value::Number(n) => n.as_i64().map(count).ok_or_else(|| bad(v)),
        Value::String(s) => from_text(s).ok_or_else(|| bad(v)),
        _ => Err(bad(v)),
    };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(one).collect(),
        _ => Ok(vec![one(value)?]),
    }
}

fn has_template(node: &Node) -> bool {
    match &node.value {
        NodeValue::Str(s) => crate::templating::is_template(s),
        NodeValue::Seq(items) => items.iter().any(has_template),
        _ => false,
    }
}

/// One size as written, without a template.
fn written(n: &Node) -> Result<Serial, Error> {
    match &n.value {
        NodeValue::Int(i) if *i > 0 => Ok(Serial::Count(*i as usize)),
        NodeValue::Str(s) if s.trim().ends_with('%') => {
            from_text(s).ok_or_else(|| Error::at(&n.loc, "bad serial percentage"))
        }
        NodeValue::Str(s) => match s.trim().parse::<usize>() {
            Ok(i) => Ok(count(i as i64)),
            Err(_) => Err(Error::at(
                &n.loc,
                "serial must be a number, a percentage or a list of them",
            )),
        },
        _ => Err(Error::at(
            &n.loc,
            "serial must be a positive number, a percentage or a list of them",
        )),
    }
}

/// `"2"`, `" 2 "`, `"50%"`, `"-1"`: a size, as Ansible reads the text.
fn from_text(s: &str) -> Option<Serial> {
    let s = s.trim();
    match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok().map(Serial::Percent),
        None => s.parse::<i64>().ok().map(count),
    }
}

fn count(n: i64) -> Serial {
    match usize::try_from(n) {
        Ok(n) if n > 0 => Serial::Count(n),
        _ => Serial::Rest,
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Result<SerialSpec, Error> {
        let path = std::path::Path::new("play.yml");
        let doc =
            crate::yaml::load_str(path, format!("serial: {yaml}\n")).expect("test YAML parses");
        let node = doc.get("serial").expect("a serial key");
        SerialSpec::parse(node)
    }

    fn sizes(yaml: &str) -> Vec<Serial> {
        match spec(yaml) {
            Ok(SerialSpec::Sizes(s)) => s,
            other => panic!("{yaml}: not static sizes: {other:?}"),
        }
    }

    #[test]
    fn written_sizes_are_checked_when_read() {
        assert_eq!(sizes("2"), vec![Serial::Count(2)]);
        assert_eq!(sizes("'30%'"), vec![Serial::Percent(30.0)]);
        assert_eq!(
            sizes("[1, '50%']"),
            vec![Serial::Count(1), Serial::Percent(50.0)]
        );
        assert_eq!(sizes("0"), vec![]);
        assert_eq!(sizes("'0'"), vec![Serial::Rest]);
        for bad in ["abc", "-1", "[1, x]", "'x%'", "{a: 1}"] {
            assert!(spec(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn a_template_is_kept_for_when_the_play_starts() {
        for yaml in ["'{{ n }}'", "[1, '{{ rest }}']"] {
            assert!(
                matches!(spec(yaml), Ok(SerialSpec::Template { .. })),
                "{yaml}"
            );
        }
    }

    #[test]
    fn rendered_sizes_read_as_ansible_reads_them() {
        let loc = Loc::synthetic("play.yml");
        let read = |v: Value| rendered_sizes(&v, &Value::from("{{ n }}"), &loc);
        assert_eq!(read(Value::from("2")).unwrap(), vec![Serial::Count(2)]);
        assert_eq!(read(Value::from(3)).unwrap(), vec![Serial::Count(3)]);
        assert_eq!(
            read(Value::from("50%")).unwrap(),
            vec![Serial::Percent(50.0)]
        );
        assert_eq!(
            read(serde_json::json!([1, "3"])).unwrap(),
            vec![Serial::Count(1), Serial::Count(3)]
        );
        assert_eq!(read(Value::from(0)).unwrap(), vec![Serial::Rest]);
        assert_eq!(read(Value::from("-1")).unwrap(), vec![Serial::Rest]);
        assert_eq!(read(Value::Null).unwrap(), vec![]);
        let err = read(Value::from("abc")).unwrap_err().to_string();
        assert!(
            err.contains("serial: '{{ n }}' renders to 'abc', which is not a number"),
            "{err}"
        );
        assert!(read(Value::from(1.5)).is_err());
        assert!(read(serde_json::json!({"a": 1})).is_err());
    }
}
