//! placeholder
pub struct CommandModule;
impl crate::Module for CommandModule {
    fn name(&self) -> &'static str {
        "command"
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
pub struct ShellModule;
impl crate::Module for ShellModule {
    fn name(&self) -> &'static str {
        "shell"
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
