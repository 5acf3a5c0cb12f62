//! `include_vars`: variables from a YAML or JSON file on the controller,
//! set on the host for the rest of the play. The file is searched in the
//! role's or playbook's `vars/` directory, then beside them. The engine
//! merges the result's `ansible_facts` into the host's variables, as it
//! does for `set_fact`.

use crate::debug::Done;
use crate::{Args, Controller, Kind, Map, Module, Param, ParamError, Task, Value};

pub struct IncludeVarsModule;

const PARAMS: &[Param] = &[
    Param::new("_raw_params", Kind::Str),
    Param::new("file", Kind::Str),
    Param::new("name", Kind::Str),
    Param::new("hash_behaviour", Kind::Str).choices(&["replace"]),
];

impl Module for IncludeVarsModule {
    fn name(&self) -> &'static str {
        "include_vars"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn free_form(&self) -> bool {
        true
    }
    fn local(&self) -> bool {
        true
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        let (param, file) = match (args.str("file"), args.str("_raw_params")) {
            (Some(f), None) => ("file", f),
            (None, Some(f)) => ("_raw_params", f),
            (Some(_), Some(_)) => {
                return Err(ParamError::general(
                    "give the file once: as `include_vars: FILE` or as `file: FILE`",
                ));
            }
            (None, None) => {
                return Err(ParamError::general(
                    "include_vars needs a file (`include_vars: vars/main.yml`); loading a `dir` is not supported",
                ));
            }
        };
        let (value, path) = ctx
            .read_yaml(file, "vars")
            .map_err(|e| ParamError::new(param, e))?;
        let vars = match value {
            Value::Object(vars) => vars,
            Value::Null => Map::new(),
            other => {
                return Err(ParamError::new(
                    param,
                    format!(
                        "{path} must hold a mapping of variables, not {}",
                        kind(&other)
                    ),
                ));
            }
        };
        Ok(Box::new(Done(result(vars, args.str("name"), path))))
    }
}

/// Ansible's result: the variables under `ansible_facts` (or one variable
/// `name` holding them all) and the file that was read.
fn result(vars: Map, name: Option<&str>, path: String) -> Map {
    let facts = match name {
        Some(name) => Map::from_iter([(name.to_string(), Value::Object(vars))]),
        None => vars,
    };
    let mut result = Map::new();
    result.insert("ansible_facts".into(), Value::Object(facts));
    result.insert(
        "ansible_included_var_files".into(),
        Value::Array(vec![Value::String(path)]),
    );
    result.insert("changed".into(), Value::Bool(false));
    result
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        _ => "something else",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variables_land_under_ansible_facts_or_under_name() {
        let vars = json!({"a": 1}).as_object().cloned().unwrap();
        let r = result(vars.clone(), None, "/p/vars/x.yml".into());
        assert_eq!(r["ansible_facts"], json!({"a": 1}));
        assert_eq!(r["ansible_included_var_files"], json!(["/p/vars/x.yml"]));
        let r = result(vars, Some("loaded"), "/p/vars/x.yml".into());
        assert_eq!(r["ansible_facts"], json!({"loaded": {"a": 1}}));
    }
}
