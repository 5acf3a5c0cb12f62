//! placeholder
pub struct LineinfileModule;
impl crate::Module for LineinfileModule {
    fn name(&self) -> &'static str {
        "lineinfile"
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
