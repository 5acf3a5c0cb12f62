//! `nginx_site`: not written yet.

pub struct NginxSiteModule;

impl crate::Module for NginxSiteModule {
    fn name(&self) -> &'static str {
        "nginx_site"
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
            "the nginx_site module is not written yet",
        ))
    }
}
