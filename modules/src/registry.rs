//! The Module and Task traits, and the table of builtin modules.

use crate::{
    Args, CheckMode, Controller, Map, Observed, Param, ParamError, Plan, Step, StepOutput,
    TaskError,
};

/// A builtin module: its parameters, and how a task is made from them.
pub trait Module: Sync {
    /// The short name (`file`); `ansible.builtin.file` finds it too.
    fn name(&self) -> &'static str;
    fn params(&self) -> &'static [Param];
    /// Whether a free-form string (`command: ls -l`) is the module's
    /// `_raw_params` rather than `k=v` pairs.
    fn free_form(&self) -> bool {
        false
    }
    /// Other names the module answers to (`systemd_service` for `systemd`).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// Runs without contacting the host (`debug`, `set_fact`, ...).
    fn local(&self) -> bool {
        false
    }
    /// Builds the task for one host from its templated arguments.
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError>;
}

/// One task for one host, ready to probe and plan.
pub trait Task: Send + Sync {
    /// A read-only `/bin/sh` script whose output `plan` reads; `None` when
    /// the task needs no observation.
    fn probe(&self) -> Option<String> {
        None
    }
    /// Pure: what to do, given what the probe saw (`None` if no probe).
    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError>;
    /// A step to run before deciding, outside check mode (`apt-get update`
    /// when the lists are stale): the engine runs it, probes again and asks
    /// `plan_refreshed`. It never makes the task changed by itself.
    fn refresh(&self, observed: Option<&Observed>) -> Option<Step> {
        let _ = observed;
        None
    }
    /// The plan after the `refresh` step ran, from a new observation.
    fn plan_refreshed(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        self.plan(observed)
    }
    /// The result after the plan's steps ran. By default the plan's result.
    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let _ = outputs;
        Ok(plan.result.clone())
    }
    fn check_mode(&self) -> CheckMode {
        CheckMode::Full
    }
    /// Whether the engine re-probes after a change and requires an empty
    /// plan. Off for modules that run something every time (`command`).
    fn verify(&self) -> bool {
        true
    }
    /// The probe that checks a change took, run after the task's steps
    /// and read by `plan` once `finish` has run. By default the task's own
    /// probe; a task whose check needs less than its decision asks less.
    fn verify_probe(&self) -> Option<String> {
        self.probe()
    }
    /// Whether `plan`'s steps print all that the verify probe would show
    /// (see [`Task::reported`]): the engine then sends no verify probe.
    fn reports(&self, plan: &Plan) -> bool {
        let _ = plan;
        false
    }
    /// What the verify probe would print after `plan`'s steps, read from
    /// their own output, for `plan` to check once `finish` has run; `None`
    /// when they did not say it all (the engine then probes). A write
    /// prints its file's stat; the content is the bytes it was sent.
    fn reported(&self, plan: &Plan, outputs: &[StepOutput]) -> Option<Observed> {
        let _ = (plan, outputs);
        None
    }
}

static MODULES: &[&dyn Module] = &[
    &crate::apt::AptModule,
    &crate::assert::AssertModule,
    &crate::command::CommandModule,
    &crate::command::ShellModule,
    &crate::copy::CopyModule,
    &crate::debug::DebugModule,
    &crate::fail::FailModule,
    &crate::file::FileModule,
    &crate::group::GroupModule,
    &crate::include_vars::IncludeVarsModule,
    &crate::iptables::IptablesModule,
    &crate::iptables_rules::IptablesRulesModule,
    &crate::lineinfile::LineinfileModule,
    &crate::meta::MetaModule,
    &crate::nginx_site::NginxSiteModule,
    &crate::package::PackageModule,
    &crate::service::ServiceModule,
    &crate::set_fact::SetFactModule,
    &crate::setup::SetupModule,
    &crate::stat::StatModule,
    &crate::systemd::SystemdModule,
    &crate::systemd_unit::SystemdUnitModule,
    &crate::template::TemplateModule,
    &crate::unarchive::UnarchiveModule,
    &crate::uri::UriModule,
    &crate::user::UserModule,
    &crate::wait_for::WaitForModule,
];

/// Finds a module by short name or by its `ansible.builtin.`/`ansible.legacy.` name.
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    MODULES
        .iter()
        .copied()
        .find(|m| m.name() == short || m.aliases().contains(&short))
}

/// Every builtin module's short name, for error messages.
pub fn names() -> Vec<&'static str> {
    MODULES.iter().map(|m| m.name()).collect()
}
