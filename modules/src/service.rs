//! `service`: Ansible's generic service module. On a systemd host Ansible
//! hands the task to `systemd`, and so does tend: the same task, the same
//! results. The generic module's own parameters (`arguments`, `pattern`,
//! `sleep`, `runlevel`) mean nothing to systemd; Ansible drops them with a
//! warning, tend accepts their defaults and refuses other values, so a
//! task never silently does less than it says.

use crate::systemd::SystemdTask;
use crate::{Args, Controller, Kind, Module, Param, ParamError, Task};

pub struct ServiceModule;

const PARAMS: &[Param] = &[
    Param::new("name", Kind::Str).required(),
    Param::new("state", Kind::Str).choices(&["reloaded", "restarted", "started", "stopped"]),
    Param::new("enabled", Kind::Bool),
    Param::new("arguments", Kind::Str).aliases(&["args"]),
    Param::new("pattern", Kind::Str),
    Param::new("sleep", Kind::Int),
    Param::new("runlevel", Kind::Str),
    Param::new("use", Kind::Str),
    // What Ansible's systemd module takes and its service action passes on.
    Param::new("force", Kind::Bool),
    Param::new("masked", Kind::Bool),
    Param::new("daemon_reload", Kind::Bool).aliases(&["daemon-reload"]),
    Param::new("daemon_reexec", Kind::Bool).aliases(&["daemon-reexec"]),
    Param::new("scope", Kind::Str).choices(&["system", "user", "global"]),
    Param::new("no_block", Kind::Bool),
];

impl Module for ServiceModule {
    fn name(&self) -> &'static str {
        "service"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        let unsupported = |name: &str, value: &str| {
            ParamError::new(
                name,
                format!(
                    "{name}={value} is not supported: tend manages services through systemd, which has no use for '{name}'"
                ),
            )
        };
        for name in ["arguments", "pattern"] {
            if let Some(v) = args.str(name).filter(|v| !v.is_empty()) {
                return Err(unsupported(name, v));
            }
        }
        if let Some(v) = args.int("sleep") {
            return Err(unsupported("sleep", &v.to_string()));
        }
        if let Some(v) = args.str("runlevel").filter(|v| *v != "default") {
            return Err(unsupported("runlevel", v));
        }
        if let Some(v) = args
            .str("use")
            .filter(|v| !matches!(*v, "auto" | "systemd"))
        {
            return Err(ParamError::new(
                "use",
                format!(
                    "use={v} is not supported: tend manages services through systemd only (use: auto or systemd)"
                ),
            ));
        }
        Ok(Box::new(SystemdTask::new(&args)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use crate::debug::testing::FakeController;
    use crate::unit_state::testing::*;
    use serde_json::json;

    fn task(args: Value) -> Result<Box<dyn Task>, String> {
        let map = args.as_object().cloned().unwrap_or_default();
        let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
        ServiceModule
            .prepare(args, &FakeController::default())
            .map_err(|e| e.message)
    }

    #[test]
    fn runs_the_systemd_task() {
        let t = task(json!({"name": "app", "state": "stopped", "enabled": false})).unwrap();
        let p = t.plan(Some(&observed(&unit(RUNNING, "enabled")))).unwrap();
        assert!(p.changed);
        assert!(p.steps[0].script.contains("disable -- app.service"));
        assert!(p.steps[0].script.contains("stop -- app"));
        assert_eq!(p.diff[0].after, "enabled: disabled\nactive: inactive\n");
        assert_eq!(p.result["state"], "stopped");
        assert_eq!(p.result["enabled"], false);
        let p = t.plan(Some(&observed(&unit(STOPPED, "disabled")))).unwrap();
        assert!(!p.changed);
    }

    #[test]
    fn generic_parameters_take_their_defaults_only() {
        for ok in [
            json!({"name": "app", "state": "started", "arguments": "", "runlevel": "default", "use": "auto"}),
            json!({"name": "app", "state": "started", "args": "", "use": "systemd", "masked": false}),
        ] {
            assert!(task(ok.clone()).is_ok(), "{ok}");
        }
        let err = |v| task(v).err().unwrap_or_default();
        assert_eq!(
            err(json!({"name": "app", "state": "started", "pattern": "app"})),
            "pattern=app is not supported: tend manages services through systemd, which has no use for 'pattern'"
        );
        assert!(
            err(json!({"name": "app", "state": "started", "args": "-v"}))
                .starts_with("arguments=-v")
        );
        assert!(
            err(json!({"name": "app", "state": "restarted", "sleep": 2})).starts_with("sleep=2")
        );
        assert!(
            err(json!({"name": "app", "state": "started", "runlevel": "3"}))
                .starts_with("runlevel=3")
        );
        assert!(
            err(json!({"name": "app", "state": "started", "use": "sysvinit"}))
                .contains("systemd only")
        );
        assert_eq!(
            err(json!({"state": "started"})),
            "missing required parameter 'name'"
        );
        assert!(err(json!({"name": "app"})).starts_with("one of the following is required"));
    }
}
