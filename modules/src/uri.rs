//! `uri`: not written yet.

pub struct UriModule;

impl crate::Module for UriModule {
    fn name(&self) -> &'static str {
        "uri"
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
            "the uri module is not written yet",
        ))
    }
}
