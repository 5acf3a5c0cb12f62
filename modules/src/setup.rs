//! `setup`: not written yet.

pub struct SetupModule;

impl crate::Module for SetupModule {
    fn name(&self) -> &'static str {
        "setup"
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
            "the setup module is not written yet",
        ))
    }
}
