//! `set_fact`: sets host variables from the task's arguments. The engine
//! merges the result's `ansible_facts` into the host's variables.

use crate::debug::Done;
use crate::{Args, Controller, Map, Module, Param, ParamError, Task, Value};

pub struct SetFactModule;

impl Module for SetFactModule {
    fn name(&self) -> &'static str {
        "set_fact"
    }
    /// Any key is a fact to set; the engine skips the spec check for
    /// this module, and `cacheable` is accepted and has no effect here.
    fn params(&self) -> &'static [Param] {
        &[]
    }
    fn local(&self) -> bool {
        true
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        let mut facts = args.into_map();
        facts.remove("cacheable");
        if facts.is_empty() {
            return Err(ParamError::general(
                "set_fact needs at least one key=value to set",
            ));
        }
        for key in facts.keys() {
            if !is_identifier(key) {
                return Err(ParamError::new(
                    key.clone(),
                    format!("the variable name '{key}' is not valid: use letters, digits and _"),
                ));
            }
        }
        let mut result = Map::new();
        result.insert("ansible_facts".into(), Value::Object(facts));
        Ok(Box::new(Done(result)))
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::testing::FakeController;
    use serde_json::json;

    #[test]
    fn facts_land_under_ansible_facts() {
        let args = Args::from_map(json!({"a": 1, "b": [2]}).as_object().unwrap().clone());
        let task = SetFactModule
            .prepare(args, &FakeController::default())
            .unwrap();
        assert_eq!(
            task.plan(None).unwrap().result["ansible_facts"],
            json!({"a": 1, "b": [2]})
        );
    }

    #[test]
    fn bad_names_are_refused() {
        let args = Args::from_map(json!({"a-b": 1}).as_object().unwrap().clone());
        assert!(
            SetFactModule
                .prepare(args, &FakeController::default())
                .is_err()
        );
    }
}
