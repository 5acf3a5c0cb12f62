//! `apt`: installs, upgrades and removes Debian packages, updates the
//! package lists, installs a `.deb` from the controller.
//!
//! Follows `ansible.builtin.apt` (parameters, results, messages) with apt's
//! own tools instead of python-apt, which the hosts need not have: one
//! `dpkg-query` call reads the state of every package of the task and one
//! `apt-cache policy` call their candidates; the plan compares versions
//! itself. The `package` module shares all of it (`package.rs`).
//!
//! Differences, on purpose: `deb` names a file on the controller (looked up
//! in `files/` like copy's `src`) that is sent to the host, not a path on
//! the host; a cache update that comes with packages runs only when they
//! change, and one on its own counts as a change whenever it runs (see
//! `decide.rs`); name patterns, `upgrade`, `clean`, `autoclean`,
//! `policy_rc_d` and the `build-dep`/`fixed` states are refused rather than
//! ignored.

mod deb;
mod decide;
mod observe;
mod request;
mod steps;
#[cfg(test)]
mod tests;
mod version;

use request::Request;

use crate::{
    Args, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, Step, StepOutput, Task,
    TaskError, Value,
};

pub struct AptModule;

/// apt's parameters; `package` takes the same and `use`.
pub(crate) const PARAMS: [Param; 25] = [
    Param::new("name", Kind::List).aliases(&["pkg", "package"]),
    Param::new("state", Kind::Str).choices(&[
        "present",
        "absent",
        "latest",
        "installed",
        "removed",
        "build-dep",
        "fixed",
    ]),
    Param::new("update_cache", Kind::Bool).aliases(&["update-cache"]),
    Param::new("update_cache_retries", Kind::Int),
    Param::new("update_cache_retry_max_delay", Kind::Int),
    Param::new("cache_valid_time", Kind::Int),
    Param::new("purge", Kind::Bool),
    Param::new("deb", Kind::Str),
    Param::new("default_release", Kind::Str).aliases(&["default-release"]),
    Param::new("install_recommends", Kind::Bool).aliases(&["install-recommends"]),
    Param::new("force", Kind::Bool),
    // `upgrade: no` is a boolean in YAML 1.1: the value is checked by hand.
    Param::new("upgrade", Kind::Any),
    Param::new("dpkg_options", Kind::Str),
    Param::new("autoremove", Kind::Bool),
    Param::new("autoclean", Kind::Bool),
    Param::new("fail_on_autoremove", Kind::Bool),
    Param::new("policy_rc_d", Kind::Int),
    Param::new("only_upgrade", Kind::Bool),
    Param::new("force_apt_get", Kind::Bool),
    Param::new("clean", Kind::Bool),
    Param::new("allow_unauthenticated", Kind::Bool).aliases(&["allow-unauthenticated"]),
    Param::new("allow_downgrade", Kind::Bool).aliases(&[
        "allow-downgrade",
        "allow_downgrades",
        "allow-downgrades",
    ]),
    Param::new("allow_change_held_packages", Kind::Bool),
    Param::new("lock_timeout", Kind::Int),
    Param::new("auto_install_module_deps", Kind::Bool),
];

impl Module for AptModule {
    fn name(&self) -> &'static str {
        "apt"
    }
    fn params(&self) -> &'static [Param] {
        &PARAMS
    }
    fn prepare(&self, args: Args, ctx: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(AptTask::new(&args, ctx)?))
    }
}

/// One apt task on one host.
pub(crate) struct AptTask {
    req: Request,
}

impl AptTask {
    pub(crate) fn new(args: &Args, ctx: &dyn Controller) -> Result<AptTask, ParamError> {
        Ok(AptTask {
            req: Request::new(args, ctx)?,
        })
    }
}

impl Task for AptTask {
    fn probe(&self) -> Option<String> {
        Some(observe::script(&self.req))
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        decide::plan(&self.req, &observation(observed)?)
    }

    fn refresh(&self, observed: Option<&Observed>) -> Option<Step> {
        // A probe that cannot be read fails in `plan`, with its message.
        let obs = observation(observed).ok()?;
        decide::refresh(&self.req, &obs)
    }

    fn plan_refreshed(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        decide::plan_refreshed(&self.req, &observation(observed)?)
    }

    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        let mut result = plan.result.clone();
        let update = steps::update(&self.req).script;
        for (step, out) in plan.steps.iter().zip(outputs) {
            let stdout = String::from_utf8_lossy(&out.stdout);
            if step.script == update {
                let time = stdout
                    .lines()
                    .find_map(|l| l.strip_prefix("cache_update_time "))
                    .and_then(|t| t.trim().parse::<i64>().ok())
                    .ok_or_else(|| {
                        TaskError::new(format!(
                            "the cache update did not say when it happened: {stdout:?}"
                        ))
                    })?;
                if result.contains_key("cache_updated") {
                    result.insert("cache_updated".into(), Value::Bool(true));
                    result.insert("cache_update_time".into(), Value::from(time));
                }
                continue;
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            result.insert("stdout".into(), Value::String(stdout.to_string()));
            result.insert("stdout_lines".into(), lines(&stdout));
            result.insert("stderr".into(), Value::String(stderr.to_string()));
            result.insert("stderr_lines".into(), lines(&stderr));
        }
        Ok(result)
    }

    /// A task that only updates the cache, with no `cache_valid_time`,
    /// updates it on every run, as Ansible does: nothing to re-check.
    fn verify(&self) -> bool {
        !(self.req.cache_only() && self.req.update_cache && self.req.cache_valid_time == 0)
    }
}

fn observation(observed: Option<&Observed>) -> Result<observe::Observation, TaskError> {
    let observed = observed.ok_or_else(|| TaskError::new("the apt probe did not run"))?;
    observe::parse(&observed.stdout)
}

/// Lines as Python's `splitlines` gives them: apt's progress uses `\r`.
fn lines(text: &str) -> Value {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    Value::Array(text.lines().map(|l| Value::String(l.to_string())).collect())
}
