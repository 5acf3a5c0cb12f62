//! `user`: not written yet.

pub struct UserModule;

impl crate::Module for UserModule {
    fn name(&self) -> &'static str {
        "user"
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
            "the user module is not written yet",
        ))
    }
}
