//! `fail`: fails the task with a message. Runs on the controller.

use crate::{Args, Controller, Kind, Module, Observed, Param, ParamError, Plan, Task, TaskError};

pub struct FailModule;

const PARAMS: &[Param] = &[Param::new("msg", Kind::Any)];

impl Module for FailModule {
    fn name(&self) -> &'static str {
        "fail"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn local(&self) -> bool {
        true
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        let msg = args.value("msg").map(crate::args::display);
        Ok(Box::new(Fail(msg.unwrap_or_else(|| {
            "Failed as requested from task".into()
        }))))
    }
}

struct Fail(String);

impl Task for Fail {
    fn plan(&self, _: Option<&Observed>) -> Result<Plan, TaskError> {
        Err(TaskError::new(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::testing::FakeController;

    #[test]
    fn fails_with_message_or_default() {
        let ctx = FakeController::default();
        let args = Args::from_map(
            serde_json::json!({"msg": "nope"})
                .as_object()
                .unwrap()
                .clone(),
        );
        let task = FailModule.prepare(args, &ctx).unwrap();
        assert_eq!(task.plan(None).unwrap_err().msg, "nope");
        let task = FailModule
            .prepare(Args::from_map(Default::default()), &ctx)
            .unwrap();
        assert_eq!(
            task.plan(None).unwrap_err().msg,
            "Failed as requested from task"
        );
    }
}
