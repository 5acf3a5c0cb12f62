//! A task's arguments, checked against the module's parameter spec.
//!
//! `Args::new` renames aliases to canonical names, rejects unknown and
//! missing parameters, coerces values to their declared kind the way Ansible
//! does (`"yes"` is a bool, `"8080"` an int, `"a,b"` a list) and checks
//! choices. Getters then hand typed values to the module.

use crate::spec::{self, Kind, Param};
use crate::{Map, ParamError, Value};

#[derive(Debug, Clone)]
pub struct Args {
    values: Map,
}

impl Args {
    /// Checks `given` against `params`. Values that are still templates
    /// (`{{ ... }}`) are accepted as they are when `lenient` is set, which is
    /// how `tend validate` checks a task before any variables exist.
    pub fn check(params: &[Param], given: &Map, lenient: bool) -> Result<Args, ParamError> {
        let mut values = Map::new();
        for (key, value) in given {
            let Some(param) = spec::find(params, key) else {
                let mut known: Vec<&str> = params
                    .iter()
                    .map(|p| p.name)
                    .filter(|n| !n.starts_with('_'))
                    .collect();
                known.sort_unstable();
                return Err(ParamError::new(
                    key.clone(),
                    format!(
                        "unknown parameter '{key}'; this module takes: {}",
                        known.join(", ")
                    ),
                ));
            };
            if values.contains_key(param.name) {
                return Err(ParamError::new(
                    key.clone(),
                    format!(
                        "parameter '{}' is given twice (by name and by alias)",
                        param.name
                    ),
                ));
            }
            let coerced = if lenient && is_template(value) {
                value.clone()
            } else {
                coerce(param, value)?
            };
            values.insert(param.name.to_string(), coerced);
        }
        if let Some(missing) = params
            .iter()
            .find(|p| p.required && !values.contains_key(p.name))
        {
            return Err(ParamError::general(format!(
                "missing required parameter '{}'",
                missing.name
            )));
        }
        Ok(Args { values })
    }

    /// Arguments built directly, for tests.
    pub fn from_map(values: Map) -> Args {
        Args { values }
    }

    pub fn value(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.value(name).is_some()
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.value(name).and_then(Value::as_str)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.str(name).map(str::to_string)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.value(name).and_then(Value::as_bool)
    }

    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        self.bool(name).unwrap_or(default)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.value(name).and_then(Value::as_i64)
    }

    pub fn list(&self, name: &str) -> Option<&Vec<Value>> {
        self.value(name).and_then(Value::as_array)
    }

    /// A list parameter as strings.
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        self.list(name)
            .map(|items| items.iter().map(display).collect())
    }

    pub fn dict(&self, name: &str) -> Option<&Map> {
        self.value(name).and_then(Value::as_object)
    }

    /// A required string, for parameters the spec already marks required.
    pub fn req_str(&self, name: &str) -> Result<&str, ParamError> {
        self.str(name)
            .ok_or_else(|| ParamError::new(name, format!("missing required parameter '{name}'")))
    }

    pub fn into_map(self) -> Map {
        self.values
    }
}

fn is_template(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.contains("{{") || s.contains("{%"))
}

/// How a scalar prints where a string is wanted, as Ansible stringifies.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// Ansible's boolean conversion (`module_utils.parsing.convert_bool`).
pub fn to_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "t" | "y" | "1.0" => Some(true),
            "no" | "off" | "0" | "false" | "f" | "n" | "0.0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "a string",
        Kind::Bool => "a boolean",
        Kind::Int => "an integer",
        Kind::Mode => "a file mode",
        Kind::List => "a list",
        Kind::Dict => "a mapping",
        Kind::Any | Kind::Raw => "a value",
    }
}

fn coerce(param: &Param, value: &Value) -> Result<Value, ParamError> {
    let wrong = || {
        ParamError::new(
            param.name,
            format!(
                "parameter '{}' must be {}, got {}",
                param.name,
                kind_name(param.kind),
                short(value)
            ),
        )
    };
    if value.is_null() {
        return Ok(Value::Null);
    }
    let coerced = match param.kind {
        Kind::Str => match value {
            Value::String(_) => value.clone(),
            Value::Number(_) | Value::Bool(_) => Value::String(display(value)),
            _ => return Err(wrong()),
        },
        Kind::Bool => Value::Bool(to_bool(value).ok_or_else(wrong)?),
        Kind::Int => match value {
            Value::Number(n) if n.is_i64() => value.clone(),
            Value::String(s) => Value::from(s.trim().parse::<i64>().map_err(|_| wrong())?),
            _ => return Err(wrong()),
        },
        Kind::Mode => match value {
            Value::String(_) => value.clone(),
            // YAML 1.1 reads `0644` as the integer 420, which is the mode
            // Ansible means; plain `644` is an integer too and is taken as is.
            Value::Number(n) if n.is_u64() => {
                Value::String(format!("{:o}", n.as_u64().unwrap_or(0)))
            }
            _ => return Err(wrong()),
        },
        Kind::List => match value {
            Value::Array(_) => value.clone(),
            Value::String(s) => Value::Array(
                s.split(',')
                    .map(|p| Value::String(p.trim().to_string()))
                    .filter(|v| v != "")
                    .collect(),
            ),
            Value::Number(_) | Value::Bool(_) => Value::Array(vec![Value::String(display(value))]),
            _ => return Err(wrong()),
        },
        Kind::Dict => match value {
            Value::Object(_) => value.clone(),
            _ => return Err(wrong()),
        },
        Kind::Any | Kind::Raw => value.clone(),
    };
    if !param.choices.is_empty() {
        let text = display(&coerced);
        if !param.choices.contains(&text.as_str()) {
            return Err(ParamError::new(
                param.name,
                format!(
                    "value of '{}' must be one of: {}; got: {}",
                    param.name,
                    param.choices.join(", "),
                    text
                ),
            ));
        }
    }
    Ok(coerced)
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PARAMS: &[Param] = &[
        Param::new("path", Kind::Str)
            .required()
            .aliases(&["dest", "name"]),
        Param::new("force", Kind::Bool),
        Param::new("mode", Kind::Mode),
        Param::new("state", Kind::Str).choices(&["file", "absent"]),
        Param::new("groups", Kind::List),
        Param::new("retries", Kind::Int),
    ];

    fn check(v: Value) -> Result<Args, ParamError> {
        Args::check(PARAMS, v.as_object().unwrap(), false)
    }

    #[test]
    fn aliases_become_canonical_names() {
        let a = check(json!({"dest": "/tmp/x"})).unwrap();
        assert_eq!(a.str("path"), Some("/tmp/x"));
    }

    #[test]
    fn unknown_parameter_is_named_with_the_known_ones() {
        let e = check(json!({"path": "/x", "mdoe": "0644"})).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("mdoe"));
        assert!(e.message.contains("unknown parameter 'mdoe'"), "{e}");
        assert!(e.message.contains("mode"), "{e}");
    }

    #[test]
    fn missing_required_parameter() {
        let e = check(json!({"force": true})).unwrap_err();
        assert_eq!(e.message, "missing required parameter 'path'");
    }

    #[test]
    fn ansible_coercions() {
        let a = check(
            json!({"path": 5, "force": "yes", "mode": 420, "groups": "a, b", "retries": "3"}),
        )
        .unwrap();
        assert_eq!(a.str("path"), Some("5"));
        assert_eq!(a.bool("force"), Some(true));
        assert_eq!(a.str("mode"), Some("644"));
        assert_eq!(a.strings("groups").unwrap(), vec!["a", "b"]);
        assert_eq!(a.int("retries"), Some(3));
    }

    #[test]
    fn wrong_type_and_bad_choice() {
        let e = check(json!({"path": "/x", "force": "maybe"})).unwrap_err();
        assert!(e.message.contains("must be a boolean"), "{e}");
        let e = check(json!({"path": "/x", "state": "dir"})).unwrap_err();
        assert!(e.message.contains("must be one of: file, absent"), "{e}");
    }

    #[test]
    fn lenient_check_leaves_templates_alone() {
        let m = json!({"path": "/x", "force": "{{ f }}"});
        assert!(Args::check(PARAMS, m.as_object().unwrap(), true).is_ok());
        assert!(Args::check(PARAMS, m.as_object().unwrap(), false).is_err());
    }
}
