//! placeholder
pub struct StatModule;
impl crate::Module for StatModule {
    fn name(&self) -> &'static str {
        "stat"
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
