//! `wait_for`: not written yet.

pub struct WaitForModule;

impl crate::Module for WaitForModule {
    fn name(&self) -> &'static str {
        "wait_for"
    }
    fn params(&self) -> &'static [crate::Param] {
        &[]
    }
    fn prepare(
        &self,
        _: crate::Args,
        _: &dyn crate::Controller,
    ) -> Result<Box<dyn crate::Task>, crate::ParamError> {
        Err(crate::ParamError::general(
            "the wait_for module is not written yet",
        ))
    }
}
