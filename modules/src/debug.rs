//! `debug`: prints a message or a variable's value. Runs on the controller.

use crate::{
    Args, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, Task, TaskError, Value,
};

pub struct DebugModule;

const PARAMS: &[Param] = &[
    Param::new("msg", Kind::Any),
    Param::new("var", Kind::Raw),
    Param::new("verbosity", Kind::Int),
];

impl Module for DebugModule {
    fn name(&self) -> &'static str {
        "debug"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn local(&self) -> bool {
        true
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        if args.has("msg") && args.has("var") {
            return Err(ParamError::general(
                "parameters are mutually exclusive: msg|var",
            ));
        }
        let mut result = Map::new();
        if let Some(var) = args.value("var") {
            let expr = crate::args::display(var);
            // Ansible prints an undefined variable as a message, not a failure.
            let value = ctx
                .eval(&expr)
                .unwrap_or_else(|_| Value::String("VARIABLE IS NOT DEFINED!".into()));
            result.insert(expr, value);
        } else {
            let msg = args
                .value("msg")
                .cloned()
                .unwrap_or_else(|| "Hello world!".into());
            result.insert("msg".into(), msg);
        }
        Ok(Box::new(Done(result)))
    }
}

/// A task decided entirely on the controller.
pub(crate) struct Done(pub Map);

impl Task for Done {
    fn plan(&self, _: Option<&Observed>) -> Result<Plan, TaskError> {
        Ok(Plan::unchanged(self.0.clone()))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A controller for module unit tests: expressions are looked up in a map.
    use crate::{Controller, Map, Value};

    #[derive(Default)]
    pub struct FakeController {
        pub vars: Map,
        pub files: Map,
    }

    impl Controller for FakeController {
        fn read_src(&self, path: &str, _subdir: &str) -> Result<Vec<u8>, String> {
            self.files
                .get(path)
                .and_then(Value::as_str)
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| format!("could not find '{path}'"))
        }
        fn render(&self, text: &str) -> Result<String, String> {
            Ok(text.to_string())
        }
        fn eval(&self, expr: &str) -> Result<Value, String> {
            self.vars
                .get(expr.trim())
                .cloned()
                .ok_or_else(|| format!("'{expr}' is undefined"))
        }
        fn check_mode(&self) -> bool {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::FakeController;
    use super::*;
    use serde_json::json;

    fn run(args: Value, vars: Value) -> Result<Map, String> {
        let ctx = FakeController {
            vars: vars.as_object().unwrap().clone(),
            ..Default::default()
        };
        let args = Args::check(PARAMS, args.as_object().unwrap(), false).map_err(|e| e.message)?;
        let task = DebugModule.prepare(args, &ctx).map_err(|e| e.message)?;
        Ok(task.plan(None).map_err(|e| e.msg)?.result)
    }

    #[test]
    fn msg_and_var() {
        assert_eq!(
            run(json!({"msg": "hi"}), json!({})).unwrap(),
            *json!({"msg": "hi"}).as_object().unwrap()
        );
        assert_eq!(
            run(json!({"var": "x"}), json!({"x": 3})).unwrap(),
            *json!({"x": 3}).as_object().unwrap()
        );
        assert_eq!(
            run(json!({"var": "y"}), json!({})).unwrap(),
            *json!({"y": "VARIABLE IS NOT DEFINED!"})
                .as_object()
                .unwrap()
        );
    }

    #[test]
    fn default_message_and_exclusive_params() {
        assert_eq!(run(json!({}), json!({})).unwrap()["msg"], "Hello world!");
        assert!(run(json!({"msg": "a", "var": "b"}), json!({})).is_err());
    }
}
