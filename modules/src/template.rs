//! placeholder
pub struct TemplateModule;
impl crate::Module for TemplateModule {
    fn name(&self) -> &'static str {
        "template"
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
