//! `systemd` (also `systemd_service`): starts, stops, restarts, reloads,
//! enables, masks a unit and reloads systemd, as Ansible's
//! `systemd_service` does, from one read-only probe (`systemctl show`, and
//! `is-enabled` when the task manages enablement or masking; see
//! `unit_state`). `service` runs the same task.
//!
//! Differences from Ansible, on purpose: `daemon_reload` reloads, and
//! reports a change, only when systemd has not read everything on disk yet
//! (the unit's `NeedDaemonReload`, or a file newer than systemd's last load
//! in the unit directories or among the generators' inputs; see
//! `unit_state::reload_script`), or after the task changed the unit's
//! links (enable, mask), before any other action. Ansible reloads every
//! time and never reports it, which tend cannot do without a step on every
//! run; a reload with nothing to read reruns every generator and costs
//! about a tenth of a second of the host's CPU. `daemon_reexec` always runs
//! and reports a change. Only the system manager is supported (`scope: system`).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::unit_state::control::{self, Context, Control, Wanted};
use crate::unit_state::{self, Ask, Sections};
use crate::{
    Args, Controller, Diff, Kind, Map, Module, Observed, Param, ParamError, Plan, Step, StepOutput,
    Task, TaskError, Value,
};

pub struct SystemdModule;

const STATES: &[&str] = &["reloaded", "restarted", "started", "stopped"];

const PARAMS: &[Param] = &[
    Param::new("name", Kind::Str).aliases(&["service", "unit"]),
    Param::new("state", Kind::Str).choices(STATES),
    Param::new("enabled", Kind::Bool),
    Param::new("force", Kind::Bool),
    Param::new("masked", Kind::Bool),
    Param::new("daemon_reload", Kind::Bool).aliases(&["daemon-reload"]),
    Param::new("daemon_reexec", Kind::Bool).aliases(&["daemon-reexec"]),
    Param::new("scope", Kind::Str).choices(&["system", "user", "global"]),
    Param::new("no_block", Kind::Bool),
];

impl Module for SystemdModule {
    fn name(&self) -> &'static str {
        "systemd"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["systemd_service"]
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(SystemdTask::new(&args)?))
    }
}

/// One unit (or only systemd itself) brought to the wanted state.
pub(crate) struct SystemdTask {
    control: Option<Control>,
    daemon_reload: bool,
    daemon_reexec: bool,
    /// Set once this task's change has run: the plan that follows checks
    /// the outcome instead of planning the same actions again.
    applied: AtomicBool,
}

impl SystemdTask {
    /// The task from `systemd`'s parameters (which `service` shares).
    pub(crate) fn new(args: &Args) -> Result<SystemdTask, ParamError> {
        if let Some(scope) = args.str("scope").filter(|s| *s != "system") {
            return Err(ParamError::new(
                "scope",
                format!(
                    "scope '{scope}' is not supported by tend yet: it manages the system's units only (scope: system)"
                ),
            ));
        }
        let name = args.string("name");
        if let Some(n) = &name {
            if let Some(glob) = ['*', '?', '['].iter().find(|g| n.contains(**g)) {
                return Err(ParamError::new(
                    "name",
                    format!(
                        "This module does not currently support using glob patterns, found '{glob}' in service name: {n}"
                    ),
                ));
            }
            if n.is_empty() || n.contains(['/', '\n']) {
                return Err(ParamError::new("name", format!("'{n}' is not a unit name")));
            }
        }
        let state = args.str("state").and_then(Wanted::parse);
        let (enabled, masked) = (args.bool("enabled"), args.bool("masked"));
        let daemon_reload = args.bool_or("daemon_reload", false);
        let daemon_reexec = args.bool_or("daemon_reexec", false);
        if state.is_none()
            && enabled.is_none()
            && masked.is_none()
            && !daemon_reload
            && !daemon_reexec
        {
            return Err(ParamError::general(
                "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec",
            ));
        }
        let control = match name {
            Some(name) => Some(Control {
                name,
                state,
                enabled,
                masked,
                force: args.bool_or("force", false),
                no_block: args.bool_or("no_block", false),
            }),
            None => {
                let needs = ["state", "enabled", "masked"]
                    .into_iter()
                    .find(|p| args.has(p));
                if let Some(p) = needs {
                    return Err(ParamError::new(
                        p,
                        format!("missing parameter(s) required by '{p}': name"),
                    ));
                }
                None
            }
        };
        Ok(SystemdTask {
            control,
            daemon_reload,
            daemon_reexec,
            applied: AtomicBool::new(false),
        })
    }
}

impl SystemdTask {
    /// What the probe asks about the unit: `is-enabled` only when the task
    /// manages enablement or masking.
    fn ask(&self, c: &Control) -> Ask {
        Ask {
            is_enabled: c.enabled.is_some() || c.masked.is_some(),
            status_if_failed: false,
        }
    }
}

impl Task for SystemdTask {
    fn probe(&self) -> Option<String> {
        let mut s = String::new();
        if let Some(c) = &self.control {
            s.push_str(&unit_state::probe_script(&c.name, self.ask(c)));
        }
        if self.daemon_reload {
            s.push_str(&unit_state::reload_script());
        }
        (!s.is_empty()).then_some(s)
    }

    /// After the change, the plan reads only the unit (the reload is
    /// done), and the status lines of a unit that failed.
    fn verify_probe(&self) -> Option<String> {
        let c = self.control.as_ref()?;
        let ask = Ask {
            status_if_failed: true,
            ..self.ask(c)
        };
        Some(unit_state::probe_script(&c.name, ask))
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let applied = self.applied.load(Ordering::Relaxed);
        let mut result = Map::new();
        result.insert(
            "name".into(),
            self.control
                .as_ref()
                .map_or(Value::Null, |c| Value::String(c.name.clone())),
        );
        let mut unit_part = control::Decision::default();
        let mut status = Map::new();
        if let Some(c) = &self.control {
            let unit = Sections::parse(observed)?.unit(&c.name)?;
            let cx = Context {
                applied,
                reload_after_files: self.daemon_reload && !applied,
                ..Context::default()
            };
            unit_part = c.decide(&unit, cx)?;
            result.extend(std::mem::take(&mut unit_part.result));
            status = unit.props;
        }
        // The unit-file changes (enable, mask, ...) run first, without
        // their own reload when daemon_reload follows them.
        let (files, actions) = unit_part.script.split_at(unit_part.files_end);
        let (mut script, mut before, mut after) = (files.to_string(), String::new(), String::new());
        if self.daemon_reload && !applied {
            // Reload when systemd has not read everything yet, or has not
            // read the links this task's unit-file changes just made.
            let mut pending = Sections::parse(observed)?.reload()?;
            if status.get("NeedDaemonReload").and_then(Value::as_str) == Some("yes") {
                let id = status.get("Id").and_then(Value::as_str);
                let name = self.control.as_ref().map(|c| c.name.as_str());
                pending.units.extend(id.or(name).map(str::to_string));
            }
            if pending.any() || !files.is_empty() {
                script.push_str(&control::systemctl(
                    "failure during daemon-reload",
                    "daemon-reload",
                ));
                before.push_str(&match pending.any() {
                    true => format!("daemon: needs reload ({})\n", pending.describe()),
                    false => "daemon: up to date\n".to_string(),
                });
                after.push_str("daemon: reloaded\n");
            }
        }
        if self.daemon_reexec && !applied {
            script.push_str(&control::systemctl(
                "failure during daemon-reexec",
                "daemon-reexec",
            ));
            before.push_str("daemon: running\n");
            after.push_str("daemon: reexecuted\n");
        }
        script.push_str(actions);
        before.push_str(&unit_part.before);
        after.push_str(&unit_part.after);
        result.insert("status".into(), Value::Object(status));
        if script.is_empty() {
            result.insert("changed".into(), Value::Bool(false));
            return Ok(Plan::unchanged(result));
        }
        result.insert("changed".into(), Value::Bool(true));
        let header = self.control.as_ref().map_or("systemd", |c| c.name.as_str());
        let step = Step::script(format!("{}{script}", control::HELPER));
        Ok(Plan::change(vec![step], result).with_diff(Diff::new(header, before, after)))
    }

    fn finish(&self, plan: &Plan, _: &[StepOutput]) -> Result<Map, TaskError> {
        self.applied.store(true, Ordering::Relaxed);
        Ok(plan.result.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::testing::FakeController;
    use crate::unit_state::testing::*;
    use serde_json::json;

    fn task(args: Value) -> Result<Box<dyn Task>, String> {
        let map = args.as_object().cloned().unwrap_or_default();
        let args = Args::check(PARAMS, &map, false).map_err(|e| e.message)?;
        SystemdModule
            .prepare(args, &FakeController::default())
            .map_err(|e| e.message)
    }

    fn plan(args: Value, out: &str) -> Result<Plan, String> {
        task(args)?.plan(Some(&observed(out))).map_err(|e| e.msg)
    }

    #[test]
    fn answers_to_systemd_service() {
        assert_eq!(
            crate::lookup("systemd_service").map(|m| m.name()),
            Some("systemd")
        );
        assert_eq!(
            crate::lookup("ansible.builtin.systemd_service").map(|m| m.name()),
            Some("systemd")
        );
    }

    #[test]
    fn start_a_stopped_unit() {
        let p = plan(
            json!({"name": "app", "state": "started", "enabled": true}),
            &unit(STOPPED, "disabled"),
        )
        .unwrap();
        assert!(p.changed);
        assert_eq!(p.steps.len(), 1);
        assert!(p.steps[0].script.starts_with(control::HELPER));
        assert_eq!(
            p.diff,
            vec![Diff::new(
                "app",
                "enabled: disabled\nactive: inactive\n",
                "enabled: enabled\nactive: active\n"
            )]
        );
        assert_eq!(p.result["name"], "app");
        assert_eq!(p.result["state"], "started");
        assert_eq!(p.result["enabled"], true);
        assert_eq!(p.result["changed"], true);
        assert_eq!(p.result["status"]["ActiveState"], "inactive");
    }

    #[test]
    fn converged_unit_is_no_change() {
        let p = plan(
            json!({"name": "app", "state": "started", "enabled": "yes"}),
            &unit(RUNNING, "enabled"),
        )
        .unwrap();
        assert!(!p.changed && p.steps.is_empty() && p.diff.is_empty());
        assert_eq!(p.result["changed"], false);
        assert_eq!(p.result["status"]["SubState"], "running");
        let probe = task(json!({"name": "app", "state": "started"}))
            .unwrap()
            .probe()
            .unwrap();
        assert_eq!(probe.matches("systemctl show").count(), 2);
        assert!(!probe.contains("== reload"));
    }

    #[test]
    fn restarted_always_changes_then_checks_it_runs() {
        let t = task(json!({"name": "app", "state": "restarted"})).unwrap();
        let p = t.plan(Some(&observed(&unit(RUNNING, "enabled")))).unwrap();
        assert!(p.changed && p.steps[0].script.contains("restart -- app"));
        assert!(t.verify());
        t.finish(&p, &[]).unwrap();
        let again = t.plan(Some(&observed(&unit(RUNNING, "enabled")))).unwrap();
        assert!(!again.changed, "the engine's re-check passes");
        let failed = unit(&STOPPED.replace("inactive", "failed"), "enabled");
        assert!(
            t.plan(Some(&observed(&failed)))
                .unwrap_err()
                .msg
                .contains("was started but is not running")
        );
    }

    #[test]
    fn daemon_reload_only_when_a_unit_changed() {
        let p = plan(json!({"daemon_reload": true}), "== reload\nend\n").unwrap();
        assert!(!p.changed);
        assert_eq!(p.result["name"], Value::Null);
        assert_eq!(p.result["status"], json!({}));
        let p = plan(
            json!({"daemon-reload": "yes"}),
            "== reload\nunit app.service\nfile /etc/systemd/system/app.service.d/x.conf\nend\n",
        )
        .unwrap();
        assert!(p.changed && p.steps[0].script.contains("daemon-reload"));
        assert_eq!(
            p.diff[0],
            Diff::new(
                "systemd",
                "daemon: needs reload (app.service, /etc/systemd/system/app.service.d/x.conf)\n",
                "daemon: reloaded\n"
            )
        );
        let probe = task(json!({"daemon_reload": true}))
            .unwrap()
            .probe()
            .unwrap();
        assert!(probe.contains("== reload") && !probe.contains("== unit"));
        // With a unit, one probe answers both.
        let out = format!(
            "{}== reload\nunit app.service\nend\n",
            unit(RUNNING, "enabled")
        );
        let p = plan(
            json!({"name": "app", "state": "restarted", "daemon_reload": true}),
            &out,
        )
        .unwrap();
        let s = &p.steps[0].script;
        assert!(s.find("daemon-reload").unwrap() < s.find("restart --").unwrap());
        // Enabling with daemon_reload: the unit file's links first, without
        // enable's own reload, then the one reload, then the start.
        let out = format!("{}== reload\nend\n", unit(STOPPED, "disabled"));
        let args =
            json!({"name": "app", "state": "started", "enabled": true, "daemon_reload": true});
        let s = plan(args, &out).unwrap().steps[0].script.clone();
        let (enable, reload, start) = (
            s.find("enable -- ").unwrap(),
            s.find("daemon-reload").unwrap(),
            s.find("start -- ").unwrap(),
        );
        assert!(enable < reload && reload < start, "{s}");
        assert!(s.contains("--no-reload enable -- ") && s.matches(" daemon-reload\n").count() == 1);
        let args = json!({"name": "app", "enabled": true});
        let s = plan(args, &unit(STOPPED, "disabled")).unwrap().steps[0]
            .script
            .clone();
        assert!(
            s.contains("enable -- ") && !s.contains("--no-reload"),
            "{s}"
        );
        // Nothing pending: no reload before another action either.
        let out = format!("{}== reload\nend\n", unit(STOPPED, "enabled"));
        let p = plan(
            json!({"name": "app", "state": "started", "daemon_reload": true}),
            &out,
        )
        .unwrap();
        assert!(!p.steps[0].script.contains("daemon-reload"));
        assert_eq!(p.diff[0].before, "active: inactive\n");
        assert_eq!(p.diff[0].after, "active: active\n");
        let out = format!("{}== reload\nend\n", unit(RUNNING, "enabled"));
        let p = plan(
            json!({"name": "app", "state": "started", "daemon_reload": true}),
            &out,
        )
        .unwrap();
        assert!(!p.changed);
        // The task's own unit changed on disk: systemd's NeedDaemonReload.
        let stale = RUNNING.replace("NeedDaemonReload=no", "NeedDaemonReload=yes");
        let out = format!("{}== reload\nend\n", unit(&stale, "enabled"));
        let p = plan(
            json!({"name": "app", "state": "started", "daemon_reload": true}),
            &out,
        )
        .unwrap();
        assert!(p.changed);
        assert_eq!(p.diff[0].before, "daemon: needs reload (app.service)\n");
    }

    #[test]
    fn daemon_reexec_runs_without_a_probe() {
        let t = task(json!({"daemon_reexec": true})).unwrap();
        assert!(t.probe().is_none());
        let p = t.plan(None).unwrap();
        assert!(p.changed && p.steps[0].script.contains("daemon-reexec"));
        t.finish(&p, &[]).unwrap();
        assert!(!t.plan(None).unwrap().changed);
    }

    #[test]
    fn parameter_errors() {
        let err = |v| task(v).err().unwrap_or_default();
        assert_eq!(
            err(json!({"name": "app"})),
            "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec"
        );
        assert_eq!(
            err(json!({"state": "started"})),
            "missing parameter(s) required by 'state': name"
        );
        assert!(
            err(json!({"name": "app", "state": "started", "scope": "user"}))
                .contains("scope 'user' is not supported")
        );
        assert!(
            err(json!({"name": "app*", "state": "started"})).contains("glob patterns, found '*'")
        );
        assert!(err(json!({"name": "app", "state": "running"})).contains("must be one of"));
        assert!(task(json!({"name": "app", "state": "started", "scope": "system"})).is_ok());
    }

    #[test]
    fn host_errors() {
        let e = plan(
            json!({"name": "nosuch", "state": "started"}),
            &unit(MISSING, ""),
        )
        .unwrap_err();
        assert_eq!(e, "Could not find the requested service nosuch: host");
        assert!(plan(json!({"name": "app", "state": "started"}), "garbage").is_err());
        assert!(
            plan(
                json!({"name": "app", "state": "started"}),
                "== unit\nno-systemctl\n"
            )
            .unwrap_err()
            .contains("systemctl was not found")
        );
    }
}
