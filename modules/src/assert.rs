//! `assert`: checks that expressions hold. Runs on the controller.

use crate::{
    Args, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, Task, TaskError, Value,
};

pub struct AssertModule;

const PARAMS: &[Param] = &[
    Param::new("that", Kind::Raw).required(),
    Param::new("fail_msg", Kind::Any).aliases(&["msg"]),
    Param::new("success_msg", Kind::Any),
    Param::new("quiet", Kind::Bool),
];

impl Module for AssertModule {
    fn name(&self) -> &'static str {
        "assert"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn local(&self) -> bool {
        true
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        let that: Vec<String> = match args.value("that") {
            Some(Value::Array(items)) => items.iter().map(crate::args::display).collect(),
            Some(other) => vec![crate::args::display(other)],
            None => return Err(ParamError::general("missing required parameter 'that'")),
        };
        for expr in &that {
            let holds = ctx.eval(expr).map_err(|e| {
                ParamError::new(
                    "that",
                    format!("the conditional check '{expr}' failed: {e}"),
                )
            })?;
            if !truthy(&holds) {
                let mut result = Map::new();
                result.insert("assertion".into(), Value::String(expr.clone()));
                result.insert("evaluated_to".into(), Value::Bool(false));
                let msg = args
                    .value("fail_msg")
                    .cloned()
                    .unwrap_or_else(|| "Assertion failed".into());
                return Ok(Box::new(Outcome(Err((msg, result)))));
            }
        }
        let mut result = Map::new();
        result.insert("changed".into(), Value::Bool(false));
        let msg = args
            .value("success_msg")
            .cloned()
            .unwrap_or_else(|| "All assertions passed".into());
        result.insert("msg".into(), msg);
        Ok(Box::new(Outcome(Ok(result))))
    }
}

struct Outcome(Result<Map, (Value, Map)>);

impl Task for Outcome {
    fn plan(&self, _: Option<&Observed>) -> Result<Plan, TaskError> {
        match &self.0 {
            Ok(result) => Ok(Plan::unchanged(result.clone())),
            Err((msg, result)) => {
                let mut result = result.clone();
                result.insert("msg".into(), msg.clone());
                Err(TaskError::with_result(crate::args::display(msg), result))
            }
        }
    }
}

/// Jinja's truthiness, with Ansible's reading of boolean-like strings.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => crate::args::to_bool(value).unwrap_or(!s.is_empty()),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::testing::FakeController;
    use serde_json::json;

    fn run(that: Value) -> Result<Plan, TaskError> {
        let ctx = FakeController {
            vars: json!({"yes_": true, "no_": false, "zero": 0})
                .as_object()
                .unwrap()
                .clone(),
            ..Default::default()
        };
        let args = Args::check(PARAMS, json!({"that": that}).as_object().unwrap(), false).unwrap();
        AssertModule.prepare(args, &ctx).unwrap().plan(None)
    }

    #[test]
    fn passes_when_all_hold() {
        assert_eq!(
            run(json!(["yes_"])).unwrap().result["msg"],
            "All assertions passed"
        );
    }

    #[test]
    fn names_the_failing_assertion() {
        let e = run(json!(["yes_", "zero"])).unwrap_err();
        assert_eq!(e.msg, "Assertion failed");
        assert_eq!(e.result["assertion"], "zero");
        assert_eq!(e.result["evaluated_to"], false);
    }

    #[test]
    fn truthiness() {
        assert!(!truthy(&json!("no")));
        assert!(truthy(&json!("x")));
        assert!(!truthy(&json!([])));
    }
}
