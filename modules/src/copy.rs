//! placeholder
pub struct CopyModule;
impl crate::Module for CopyModule {
    fn name(&self) -> &'static str {
        "copy"
    }
    fn params(&self) -> &'static [crate::Param] {
        &[]
    }
    fn prepare(
        &self,
        _: crate::Args,
        _: &dyn crate::Controller,
    ) -> Result<Box<dyn crate::Task>, crate::ParamError> {
        Err(crate::ParamError::general("not written yet"))
    }
}
