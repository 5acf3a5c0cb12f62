//! `iptables_rules`: not written yet.

pub struct IptablesRulesModule;

impl crate::Module for IptablesRulesModule {
    fn name(&self) -> &'static str {
        "iptables_rules"
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
            "the iptables_rules module is not written yet",
        ))
    }
}
