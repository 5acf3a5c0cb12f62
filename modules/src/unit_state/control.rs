//! Deciding what `systemctl` must do to bring one unit to the wanted state
//! (masked, enabled, started/stopped/restarted/reloaded), following
//! Ansible's `systemd_service`: mask first, then enablement, then the run
//! state; `restarted` and `reloaded` always act (and start a stopped unit).
//!
//! Two departures, both to keep tend's after-change check honest rather
//! than to report a change that never converges: a unit with no `[Install]`
//! section (`static`) is left alone by `enabled: false` (systemctl cannot
//! disable it; Ansible reports a change every run), and a `Type=oneshot`
//! service that just ran counts as started. Once its own change has run
//! (`applied`), the plan checks the outcome instead of acting again: a
//! unit started but already `failed` is an error naming the journal.

use crate::shell::quote;
use crate::{Map, TaskError, Value};

use super::UnitState;

/// The run state a task asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

impl Wanted {
    pub fn parse(word: &str) -> Option<Wanted> {
        match word {
            "started" => Some(Wanted::Started),
            "stopped" => Some(Wanted::Stopped),
            "restarted" => Some(Wanted::Restarted),
            "reloaded" => Some(Wanted::Reloaded),
            _ => None,
        }
    }
}

/// What should become of one unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Control {
    pub name: String,
    pub state: Option<Wanted>,
    pub enabled: Option<bool>,
    pub masked: Option<bool>,
    /// `--force` for enable and mask (override conflicting symlinks).
    pub force: bool,
    /// `--no-block`: queue the job and do not wait for it.
    pub no_block: bool,
}

/// Circumstances of one decision beyond the observed unit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Context {
    /// This task's change already ran; the plan now checks its outcome.
    pub applied: bool,
    /// The unit's definition changed: restart it if it runs (and the task
    /// does not stop it).
    pub restart_if_running: bool,
    /// The unit's `[Install]` section changed while it is enabled:
    /// `reenable` puts its symlinks where the new section says.
    pub reenable: bool,
    /// The caller reloads systemd after the unit-file changes (mask,
    /// enable, ...), which then skip their own implicit reload: one reload
    /// instead of two.
    pub reload_after_files: bool,
}

/// The outcome: shell lines for systemctl, diff lines, result fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Decision {
    pub script: String,
    /// Where the unit-file changes end in `script` and the start, stop,
    /// restart or reload begins.
    pub files_end: usize,
    pub before: String,
    pub after: String,
    /// Ansible's `state` and `enabled` result fields, when asked for.
    pub result: Map,
}

impl Decision {
    pub fn changed(&self) -> bool {
        !self.script.is_empty()
    }

    fn line(&mut self, key: &str, before: &str, after: &str) {
        self.before.push_str(&format!("{key}: {before}\n"));
        self.after.push_str(&format!("{key}: {after}\n"));
    }
}

/// The shell function the action lines call: runs systemctl and, when it
/// fails, exits with `message: <what systemctl said>` on stderr.
pub(crate) const HELPER: &str = "tend_sc() { m=$1; shift; if ! o=$(systemctl \"$@\" 2>&1); then printf '%s: %s\\n' \"$m\" \"$o\" >&2; exit 1; fi; }\n";

/// A line that runs `systemctl ARGS` and fails with `message`.
pub(crate) fn systemctl(message: &str, args: &str) -> String {
    format!("tend_sc {} {args}\n", quote(message))
}

/// The error for a unit systemd does not know (Ansible's wording).
pub(crate) fn missing(name: &str) -> TaskError {
    TaskError::new(format!("Could not find the requested service {name}: host"))
}

impl Control {
    pub fn decide(&self, unit: &UnitState, cx: Context) -> Result<Decision, TaskError> {
        let mut d = Decision::default();
        let q = quote(&self.name);
        let found = unit.found();
        let load_error = unit.prop("LoadError");
        if found && unit.prop("LoadState") != "masked" && !load_error.is_empty() {
            return Err(TaskError::new(format!(
                "Error loading unit file '{}': {load_error}",
                self.name
            )));
        }
        let force = format!(
            "{}{}",
            if self.force { "--force " } else { "" },
            if cx.reload_after_files {
                "--no-reload "
            } else {
                ""
            }
        );
        if let Some(want) = self.masked.filter(|m| *m != unit.masked()) {
            let verb = if want { "mask" } else { "unmask" };
            d.script.push_str(&systemctl(
                &format!("Failed to {verb} the service ({})", self.name),
                &format!("{force}{verb} -- {q}"),
            ));
            d.line("masked", yes_no(!want), yes_no(want));
        }
        let mut enabled_now = unit.enabled();
        if let Some(want) = self.enabled {
            if !found {
                return Err(missing(&self.name));
            }
            // enable/disable act on the unit file: its real name, not an alias.
            let file = quote(match unit.prop("Id") {
                "" => &self.name,
                id => id,
            });
            // A static unit cannot be disabled: leave it, do not fail.
            let disable_static = unit.fixed_enablement() && !want;
            if want != enabled_now && !disable_static {
                let verb = if want { "enable" } else { "disable" };
                d.script.push_str(&systemctl(
                    &format!("Unable to {verb} service {}", self.name),
                    &format!("{force}{verb} -- {file}"),
                ));
                d.line("enabled", unit.enabled_word(), &format!("{verb}d"));
                enabled_now = want;
            } else if want && cx.reenable && !cx.applied {
                d.script.push_str(&systemctl(
                    &format!("Unable to reenable service {}", self.name),
                    &format!("{force}reenable -- {file}"),
                ));
                d.line("enabled", unit.enabled_word(), "reenabled");
            }
            d.result.insert("enabled".into(), Value::Bool(enabled_now));
        }
        d.files_end = d.script.len();
        self.decide_state(unit, cx, &mut d)?;
        Ok(d)
    }

    fn decide_state(
        &self,
        unit: &UnitState,
        cx: Context,
        d: &mut Decision,
    ) -> Result<(), TaskError> {
        let active = unit.prop("ActiveState");
        let mut want = self.state;
        if cx.applied && matches!(want, Some(Wanted::Restarted | Wanted::Reloaded)) {
            // The restart or reload ran: now the unit must simply be up.
            want = Some(Wanted::Started);
        }
        let verb = match want {
            None if cx.restart_if_running && unit.running() && !cx.applied => Some("restart"),
            None => None,
            Some(w) => {
                if !unit.found() {
                    return Err(missing(&self.name));
                }
                d.result.insert(
                    "state".into(),
                    Value::from(if w == Wanted::Stopped {
                        "stopped"
                    } else {
                        "started"
                    }),
                );
                match w {
                    Wanted::Stopped => {
                        let stopping = active == "deactivating" && !(cx.applied && self.no_block);
                        (unit.running() || stopping).then_some("stop")
                    }
                    Wanted::Started if unit.running() => {
                        (cx.restart_if_running && !cx.applied).then_some("restart")
                    }
                    // A queued job may not have started it yet.
                    Wanted::Started if cx.applied && self.no_block => None,
                    Wanted::Started if cx.applied => {
                        if unit.oneshot() && unit.prop("Result") == "success" {
                            None
                        } else {
                            return Err(not_running(&self.name, unit));
                        }
                    }
                    Wanted::Started => Some("start"),
                    _ if !unit.running() => Some("start"),
                    Wanted::Restarted => Some("restart"),
                    Wanted::Reloaded => Some("reload"),
                }
            }
        };
        let Some(verb) = verb else {
            return Ok(());
        };
        let q = quote(&self.name);
        let no_block = if self.no_block { "--no-block " } else { "" };
        d.script.push_str(&systemctl(
            &format!("Unable to {verb} service {}", self.name),
            &format!("{no_block}{verb} -- {q}"),
        ));
        let after = match verb {
            "start" => "active".to_string(),
            "stop" => "inactive".to_string(),
            other => format!("{other}ed"),
        };
        d.line("active", active, &after);
        Ok(())
    }
}

/// A service whose program cannot run is `failed` right after a
/// successful `systemctl start`: the check after the change says so, with
/// the status lines its probe brought back.
fn not_running(name: &str, unit: &UnitState) -> TaskError {
    let mut msg = format!(
        "{name} was started but is not running now (ActiveState={}, Result={}); see journalctl -u {name}",
        unit.prop("ActiveState"),
        unit.prop("Result"),
    );
    if let Some(status) = unit.status.as_deref().filter(|s| !s.is_empty()) {
        msg.push_str(&format!("\n{status}"));
    }
    TaskError::new(msg)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests;
