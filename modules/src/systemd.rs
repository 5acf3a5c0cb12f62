//! `systemd`: not written yet.

pub struct SystemdModule;

impl crate::Module for SystemdModule {
    fn name(&self) -> &'static str {
        "systemd"
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
            "the systemd module is not written yet",
        ))
    }
}
