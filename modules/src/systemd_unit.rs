//! `systemd_unit` (tend's own): writes a unit file from structured YAML (or
//! raw `content`) to /etc/systemd/system and keeps the running unit in step
//! with it.
//!
//! The new file is checked by `systemd-analyze verify` (when the host has
//! it) before it replaces the old one: a unit systemd rejects, or one with
//! a diagnostic pointing into it (an unknown key, a value systemd ignores),
//! fails the task with systemd's message and leaves the old file in place.
//! `daemon-reload` runs only when the file changed (or systemd still has an
//! older copy loaded); a running service, timer or path unit is restarted
//! only then (or with `state: restarted`); sockets and targets are not,
//! since restarting those interrupts more than the unit itself. `enabled`
//! and `state` follow `systemd`; when an enabled unit's `[Install]` section
//! changes, `reenable` moves its symlinks. `state: absent` stops, disables
//! and removes the unit. Everything runs in one step, one round trip.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::content;
use crate::probe::{self, FileKind};
use crate::shell::quote;
use crate::unit_state::control::{self, Context, Control, Wanted};
use crate::unit_state::unit_file::{self, SECTIONS};
use crate::unit_state::{Ask, Sections, UnitState, probe_script};
use crate::write::{self, WriteOptions};
use crate::{
    Args, Controller, Diff, Kind, Map, Module, Observed, Param, ParamError, Plan, Step, StepOutput,
    Task, TaskError, Value,
};

pub struct SystemdUnitModule;

const PARAMS: &[Param] = &[
    Param::new("name", Kind::Str).required(),
    Param::new("unit", Kind::Dict),
    Param::new("service", Kind::Dict),
    Param::new("socket", Kind::Dict),
    Param::new("timer", Kind::Dict),
    Param::new("install", Kind::Dict),
    Param::new("content", Kind::Str),
    Param::new("state", Kind::Str).choices(&[
        "present",
        "absent",
        "started",
        "stopped",
        "restarted",
        "reloaded",
    ]),
    Param::new("enabled", Kind::Bool),
    Param::new("dest", Kind::Str).aliases(&["path"]),
    Param::new("verify", Kind::Bool),
];

/// Unit types tend writes, the section parameter each takes besides
/// `unit` and `install`, and whether a change restarts it when it runs.
const TYPES: &[(&str, Option<&str>, bool)] = &[
    ("service", Some("service"), true),
    ("socket", Some("socket"), false),
    ("timer", Some("timer"), true),
    ("target", None, false),
    ("path", None, true),
    ("mount", None, false),
    ("automount", None, false),
    ("swap", None, false),
    ("slice", None, false),
];

impl Module for SystemdUnitModule {
    fn name(&self) -> &'static str {
        "systemd_unit"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(UnitTask::new(&args)?))
    }
}

struct UnitTask {
    name: String,
    path: String,
    /// The file's text; `None` for `state: absent`.
    text: Option<String>,
    sha1: String,
    control: Control,
    verify: bool,
    restartable: bool,
    /// Set once this task's change has run; see `systemd`.
    applied: AtomicBool,
}

impl UnitTask {
    /// The file, whether `systemd-analyze` is there, and the unit.
    fn probe_asking(&self, status_if_failed: bool) -> String {
        let mut s = content::file_section("file", &self.path, false, true, Some(&self.sha1));
        s.push_str("echo '== analyze'\nif command -v systemd-analyze >/dev/null 2>&1; then echo yes; else echo no; fi\n");
        let ask = Ask {
            is_enabled: true,
            status_if_failed,
        };
        s.push_str(&probe_script(&self.name, ask));
        s
    }

    fn new(args: &Args) -> Result<UnitTask, ParamError> {
        let name = args.req_str("name")?.to_string();
        let kind = name.rsplit_once('.').map_or("", |(_, k)| k);
        let Some(&(_, own_section, restartable)) = TYPES.iter().find(|t| t.0 == kind) else {
            let kinds: Vec<String> = TYPES.iter().map(|t| format!(".{}", t.0)).collect();
            return Err(ParamError::new(
                "name",
                format!("name '{name}' must end in one of {}", kinds.join(", ")),
            ));
        };
        let ok = |c: char| c.is_ascii_alphanumeric() || ":_.-@\\".contains(c);
        if name.len() <= kind.len() + 1 || !name.chars().all(ok) {
            return Err(ParamError::new(
                "name",
                format!("'{name}' is not a unit name"),
            ));
        }
        let state = args.str("state").unwrap_or("present");
        let given: Vec<(&str, &Map)> = SECTIONS
            .iter()
            .filter_map(|(p, _)| args.dict(p).map(|m| (*p, m)))
            .collect();
        if let Some((p, _)) = given
            .iter()
            .find(|(p, _)| !matches!(*p, "unit" | "install") && Some(*p) != own_section)
        {
            return Err(ParamError::new(
                *p,
                format!("a .{kind} unit has no [{}] section", title(p)),
            ));
        }
        let text = match (args.str("content"), given.is_empty()) {
            _ if state == "absent" => {
                if let Some(p) = [
                    "content", "enabled", "unit", "service", "socket", "timer", "install",
                ]
                .into_iter()
                .find(|p| args.has(p))
                {
                    return Err(ParamError::new(
                        p,
                        format!("{p} cannot be used with state: absent"),
                    ));
                }
                None
            }
            (Some(_), false) => {
                return Err(ParamError::general(
                    "content and the sections (unit, service, socket, timer, install) are mutually exclusive",
                ));
            }
            (Some(text), true) => Some(text.to_string()),
            (None, false) => Some(unit_file::render(&given).map_err(ParamError::general)?),
            (None, true) => {
                return Err(ParamError::general(
                    "the unit's sections (unit, service, socket, timer, install) or content are required",
                ));
            }
        };
        let dir = args.str("dest").unwrap_or("/etc/systemd/system");
        if !dir.starts_with('/') {
            return Err(ParamError::new(
                "dest",
                format!("dest must be an absolute directory, got '{dir}'"),
            ));
        }
        Ok(UnitTask {
            path: format!("{}/{name}", dir.trim_end_matches('/')),
            sha1: content::sha1_hex(text.as_deref().unwrap_or("").as_bytes()),
            text,
            control: Control {
                name: name.clone(),
                state: Wanted::parse(state),
                enabled: args.bool("enabled"),
                ..Control::default()
            },
            name,
            verify: args.bool_or("verify", true),
            restartable,
            applied: AtomicBool::new(false),
        })
    }

    /// The step prefix defining `tend_verify FILE`: `systemd-analyze verify`
    /// on a copy named after the unit (it reads the type from the name), in
    /// a directory of its own (0700: the copy is given the unit's final
    /// mode there, which the file being verified gets only after). Its
    /// messages name the real path.
    fn verify_function(&self) -> String {
        let q = quote(&self.name);
        let dir = quote(self.path.rsplit_once('/').map_or("", |(d, _)| d));
        format!(
            "tend_verify() {{\n\
             \x20 vd=$(mktemp -d) || exit 1\n\
             \x20 {{ cp -- \"$1\" \"$vd\"/{q} && chmod 0644 \"$vd\"/{q}; }} || {{ rm -rf -- \"$vd\"; exit 1; }}\n\
             \x20 if vo=$(systemd-analyze verify --man=no \"$vd\"/{q} 2>&1); then vr=0; else vr=$?; fi\n\
             \x20 if printf '%s\\n' \"$vo\" | grep -qF -- \"$vd\"/{q}:; then vr=1; fi\n\
             \x20 vo=$(printf '%s\\n' \"$vo\" | while IFS= read -r l; do case $l in \"$vd\"/*) l={dir}\"${{l#\"$vd\"}}\";; esac; printf '%s\\n' \"$l\"; done)\n\
             \x20 rm -rf -- \"$vd\"\n\
             \x20 if [ \"$vr\" != 0 ]; then printf '%s\\n%s\\n' {} \"$vo\" >&2; exit 1; fi\n\
             }}\n",
            quote(&format!(
                "systemd-analyze verify rejects the new {}; {} was not changed:",
                self.name, self.path
            )),
        )
    }

    fn result(&self, unit: &UnitState, state: &str) -> Map {
        let mut result = Map::new();
        result.insert("name".into(), self.name.clone().into());
        result.insert("dest".into(), self.path.clone().into());
        result.insert("state".into(), state.into());
        result.insert("status".into(), Value::Object(unit.props.clone()));
        result
    }

    fn plan_absent(&self, st: &probe::FileState, unit: &UnitState) -> Plan {
        let mut result = self.result(unit, "absent");
        if !st.exists() {
            result.insert("changed".into(), false.into());
            return Plan::unchanged(result);
        }
        let q = quote(&self.name);
        let (mut script, mut before, mut after) =
            (control::HELPER.to_string(), String::new(), String::new());
        if unit.running() {
            script.push_str(&control::systemctl(
                &format!("Unable to stop service {}", self.name),
                &format!("stop -- {q}"),
            ));
            before.push_str(&format!("active: {}\n", unit.prop("ActiveState")));
            after.push_str("active: inactive\n");
        }
        if unit.enabled() && !unit.fixed_enablement() {
            script.push_str(&control::systemctl(
                &format!("Unable to disable service {}", self.name),
                &format!("disable -- {q}"),
            ));
            before.push_str(&format!("enabled: {}\n", unit.enabled_word()));
            after.push_str("enabled: disabled\n");
        }
        script.push_str(&format!("rm -f -- {}\n", quote(&self.path)));
        script.push_str(&control::systemctl(
            "failure during daemon-reload",
            "daemon-reload",
        ));
        script.push_str(&format!(
            "systemctl reset-failed -- {q} >/dev/null 2>&1 || true\n"
        ));
        result.insert("changed".into(), true.into());
        let mut plan = Plan::change(vec![Step::script(script)], result)
            .with_diff(content::content_diff(&self.path, st, b""));
        if !before.is_empty() {
            plan = plan.with_diff(Diff::new(&self.name, before, after));
        }
        plan
    }
}

fn title(param: &str) -> &'static str {
    SECTIONS
        .iter()
        .find(|(p, _)| *p == param)
        .map_or("", |(_, t)| t)
}

impl Task for UnitTask {
    fn probe(&self) -> Option<String> {
        Some(self.probe_asking(false))
    }

    /// With the status lines of a unit that failed after its change.
    fn verify_probe(&self) -> Option<String> {
        Some(self.probe_asking(true))
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let secs = Sections::parse(observed)?;
        let st = probe::parse_file(secs.body("file")?.as_bytes())?;
        if matches!(st.kind, Some(FileKind::Directory | FileKind::Other)) {
            return Err(TaskError::new(format!(
                "{} exists and is not a unit file",
                self.path
            )));
        }
        let unit = secs.unit(&self.name)?;
        let Some(text) = &self.text else {
            return Ok(self.plan_absent(&st, &unit));
        };
        let applied = self.applied.load(Ordering::Relaxed);
        let same =
            st.kind == Some(FileKind::File) && st.sha1.as_deref() == Some(self.sha1.as_str());
        let stale = !same || (unit.found() && unit.prop("NeedDaemonReload") == "yes" && !applied);
        let mut predicted = unit.clone();
        let mut reenable = false;
        if !same {
            // What systemd will make of the new file once it is reloaded.
            predicted.props.insert("LoadError".into(), "".into());
            if !unit.found() {
                predicted.props.insert("LoadState".into(), "loaded".into());
            }
            let install = unit_file::install_section(text);
            if install.is_empty() {
                predicted.is_enabled = Some("static".into());
            } else if !unit.found() || matches!(unit.is_enabled.as_deref(), None | Some("static")) {
                predicted.is_enabled = Some("disabled".into());
            }
            let old = st.content.as_deref().map(String::from_utf8_lossy);
            reenable = old.is_some_and(|o| unit_file::install_section(&o) != install);
        }
        let cx = Context {
            applied,
            restart_if_running: stale && self.restartable,
            reenable,
            reload_after_files: false,
        };
        let decision = self.control.decide(&predicted, cx)?;
        // `decide` puts `started`/`stopped` here when a state is asked for.
        let mut result = self.result(&unit, "present");
        result.extend(decision.result.clone());
        result.insert("checksum".into(), self.sha1.clone().into());
        if !stale && !decision.changed() {
            result.insert("changed".into(), false.into());
            return Ok(Plan::unchanged(result));
        }
        result.insert("changed".into(), true.into());
        let mut tail = String::new();
        let (mut before, mut after) = (String::new(), String::new());
        if stale {
            tail.push_str(&control::systemctl(
                "failure during daemon-reload",
                "daemon-reload",
            ));
            if same {
                before.push_str("daemon: needs reload\n");
                after.push_str("daemon: reloaded\n");
            }
        }
        tail.push_str(&decision.script);
        before.push_str(&decision.before);
        after.push_str(&decision.after);
        let mut diffs = Vec::new();
        let step = if same {
            Step::script(format!("{}{tail}", control::HELPER))
        } else {
            let analyze = match secs.body("analyze")?.trim() {
                "yes" => true,
                "no" => false,
                other => {
                    return Err(TaskError::new(format!(
                        "unexpected systemd-analyze check {other:?}"
                    )));
                }
            };
            let check = self.verify && analyze;
            let opts = WriteOptions {
                mode: Some("0644".into()),
                validate: check.then(|| "tend_verify %s".to_string()),
                ..WriteOptions::default()
            };
            let mut step = write::atomic_write(&self.path, text.as_bytes().to_vec(), &opts);
            let verify = if check {
                self.verify_function()
            } else {
                String::new()
            };
            step.script = format!("{}{verify}{}{tail}", control::HELPER, step.script);
            diffs.push(content::content_diff(&self.path, &st, text.as_bytes()));
            step
        };
        if !before.is_empty() {
            diffs.push(Diff::new(&self.name, before, after));
        }
        let mut plan = Plan::change(vec![step], result);
        plan.diff = diffs;
        Ok(plan)
    }

    fn finish(&self, plan: &Plan, _: &[StepOutput]) -> Result<Map, TaskError> {
        self.applied.store(true, Ordering::Relaxed);
        Ok(plan.result.clone())
    }
}

#[cfg(test)]
mod tests;
