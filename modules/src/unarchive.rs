//! `unarchive`: not written yet.

pub struct UnarchiveModule;

impl crate::Module for UnarchiveModule {
    fn name(&self) -> &'static str {
        "unarchive"
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
            "the unarchive module is not written yet",
        ))
    }
}
