//! `group`: not written yet.

pub struct GroupModule;

impl crate::Module for GroupModule {
    fn name(&self) -> &'static str {
        "group"
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
            "the group module is not written yet",
        ))
    }
}
