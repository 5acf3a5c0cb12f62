//! `systemd_unit`: not written yet.

pub struct SystemdUnitModule;

impl crate::Module for SystemdUnitModule {
    fn name(&self) -> &'static str {
        "systemd_unit"
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
            "the systemd_unit module is not written yet",
        ))
    }
}
