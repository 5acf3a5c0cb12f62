//! `iptables`: not written yet.

pub struct IptablesModule;

impl crate::Module for IptablesModule {
    fn name(&self) -> &'static str {
        "iptables"
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
            "the iptables module is not written yet",
        ))
    }
}
