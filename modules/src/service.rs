//! `service`: not written yet.

pub struct ServiceModule;

impl crate::Module for ServiceModule {
    fn name(&self) -> &'static str {
        "service"
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
            "the service module is not written yet",
        ))
    }
}
