//! The engine's side of saved plans (src/plan): before a module runs on a
//! host, it tells the plan what the task's probe saw and what the task
//! would do. Under `tend plan` that is recorded; under `tend apply` a task
//! the plan refuses fails without running anything, and its host goes on
//! with the next task, which is checked against the plan in turn.

use serde_json::Value;
use tend_modules::{CheckMode, Module, Observed, Plan, TaskError};

use super::host::{HostRun, Scope};
use super::invoke::{Target, render_diffs};
use super::outcome::{Outcome, Status};
use crate::plan::{SeenOutcome, SeenTask, Verdict};
use crate::playbook::{Keywords, Task};
use crate::templating::Vars;

/// The result key that marks a task the plan refused (internal: not shown,
/// not registered).
pub const REFUSED: &str = "_plan_refused";

/// Which loop item and which `until` attempt the module run at hand is:
/// a plan tells the runs of one task apart by item, and judges only the
/// first attempt.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub item: Option<(usize, String)>,
    pub attempt: u32,
}

/// A task about to run, as `invoke` has it after probing.
pub(super) struct TaskAtHand<'a> {
    pub task: &'a Task,
    pub kw: &'a Keywords,
    pub scope: &'a Scope,
    pub vars: &'a Vars,
    pub module: &'static dyn Module,
    pub prepared: &'a dyn tend_modules::Task,
    pub target: &'a Target,
    /// What the probe saw, before any refresh step.
    pub observed: Option<&'a Observed>,
    pub check: bool,
    pub diff: bool,
}

impl HostRun<'_, '_> {
    /// Tells the saved plan about a task before anything of it runs.
    /// `Ok(Some(seen))`: it may run; `Ok(None)`: there is no saved plan,
    /// or this is an `until` retry of a task already judged; `Err`: refused.
    pub(super) fn judge_saved_plan(
        &self,
        at_hand: &TaskAtHand,
    ) -> Result<Option<SeenTask>, Box<Outcome>> {
        let Some(hook) = &self.ctx.opts.plan_hook else {
            return Ok(None);
        };
        if self.invocation.attempt > 1 {
            return Ok(None);
        }
        let seen = self.seen_task(at_hand);
        match hook.judge(&self.mem.name, &seen) {
            Verdict::Proceed => Ok(Some(seen)),
            Verdict::Refuse(message) => Err(Box::new(refused(message))),
        }
    }

    /// A task that went ahead ran its refresh step and was planned again:
    /// a refusal if its change is no longer the planned one.
    pub(super) fn judge_refreshed(
        &self,
        seen: &SeenTask,
        at_hand: &TaskAtHand,
        planned: &Result<Plan, TaskError>,
    ) -> Option<Outcome> {
        let hook = self.ctx.opts.plan_hook.as_ref()?;
        let again = self.seen_outcome(at_hand, &seen.identity, planned);
        match hook.refreshed(&self.mem.name, seen, &again) {
            Verdict::Proceed => None,
            Verdict::Refuse(message) => Some(refused(message)),
        }
    }

    fn seen_task(&self, at_hand: &TaskAtHand) -> SeenTask {
        let probe = at_hand.prepared.probe();
        let mut place = super::prefetch::target_key(at_hand.target);
        if let Some(delegate) = &at_hand.kw.delegate_to {
            place.push_str("\0delegate_to=");
            place.push_str(delegate);
        }
        let state_key = probe
            .as_deref()
            .map(|script| crate::plan::state_key(&place, script));
        let fingerprint = match (&state_key, at_hand.observed) {
            (Some(key), Some(o)) => Some(crate::plan::fingerprint(key, o.rc, &o.stdout)),
            _ => None,
        };
        let identity = crate::plan::identity(at_hand.module.name(), probe.as_deref());
        let planned = at_hand.prepared.plan(at_hand.observed);
        let outcome = self.seen_outcome(at_hand, &identity, &planned);
        let loc = &at_hand.task.loc;
        let path = &loc.source.path;
        let shown = path.strip_prefix(&self.ctx.playbook_dir).unwrap_or(path);
        SeenTask {
            at: format!("{}:{}:{}", shown.display(), loc.line, loc.col),
            item: self.invocation.item.clone(),
            name: at_hand.task.display_name(),
            title: self.task_title(at_hand.task, at_hand.scope),
            module: at_hand.module.name().to_string(),
            state_key,
            fingerprint,
            identity,
            outcome,
            real: !at_hand.check,
            read_only: at_hand
                .kw
                .changed_when
                .as_ref()
                .is_some_and(|c| c.len() == 1 && matches!(c[0].as_str(), "False" | "false")),
        }
    }

    fn seen_outcome(
        &self,
        at_hand: &TaskAtHand,
        identity: &str,
        planned: &Result<Plan, TaskError>,
    ) -> SeenOutcome {
        let full = at_hand.prepared.check_mode() == CheckMode::Full;
        // A `no_log` task leaves nothing of what it writes or runs in the
        // plan file: no diff, no message, no digest of its content.
        let hidden = self.no_log(at_hand.kw, at_hand.vars);
        match planned {
            Ok(plan) => {
                // Only a diff shows a change before it is made; without
                // one (a command, a restart) the task can only be run,
                // and its steps are what the plan holds it to.
                let predictable = full && !plan.diff.is_empty();
                // Diffs are for the plan file (a check run); an apply
                // compares intents. `diff: false` and `no_log` keep them
                // out of the file.
                let shown = at_hand.check && at_hand.diff && !hidden;
                let steps = at_hand.prepared.probe().is_none() || !predictable;
                let intent = match hidden {
                    true => crate::plan::sealed_intent(identity, plan),
                    false => crate::plan::intent(identity, plan, steps),
                };
                SeenOutcome::Planned {
                    changed: plan.changed,
                    skipped: plan.skipped.is_some(),
                    predictable,
                    intent,
                    diffs: if shown {
                        render_diffs(&plan.diff)
                    } else {
                        Vec::new()
                    },
                }
            }
            Err(e) => SeenOutcome::Failed {
                message: match hidden {
                    true => crate::report::CENSORED.to_string(),
                    false => e.msg.clone(),
                },
                depends_on: if at_hand.check {
                    self.mem.would_change.clone()
                } else {
                    None
                },
            },
        }
    }
}

fn refused(message: String) -> Outcome {
    let mut o = Outcome::failed(message);
    o.result.insert("changed".into(), Value::Bool(false));
    o.result.insert(REFUSED.into(), Value::Bool(true));
    o
}

/// Whether a failed outcome failed only because the plan refused it (all
/// its failed loop items, if it looped): its host goes on.
pub fn only_refusals(outcome: &Outcome) -> bool {
    if outcome.items.is_empty() {
        return outcome.result.contains_key(REFUSED);
    }
    let mut failed = outcome
        .items
        .iter()
        .filter(|i| matches!(i.status, Status::Failed | Status::Unreachable))
        .peekable();
    failed.peek().is_some() && failed.all(|i| i.result.contains_key(REFUSED))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ItemOutcome;

    fn item(status: Status, refused_item: bool) -> ItemOutcome {
        let mut result = serde_json::Map::new();
        if refused_item {
            result.insert(REFUSED.into(), Value::Bool(true));
        }
        ItemOutcome {
            status,
            label: "x".into(),
            result,
            diffs: vec![],
            no_log: false,
        }
    }

    #[test]
    fn a_refusal_is_a_failure_its_host_goes_on_after() {
        let o = refused("web1: Write: the host changed".into());
        assert_eq!(o.status, Status::Failed);
        assert!(only_refusals(&o));
        assert!(!only_refusals(&Outcome::failed("a real failure")));
        let mut looped = Outcome::failed("One or more items failed");
        looped.items = vec![item(Status::Ok, false), item(Status::Failed, true)];
        assert!(only_refusals(&looped));
        looped.items.push(item(Status::Failed, false));
        assert!(
            !only_refusals(&looped),
            "a real failure among them stops the host"
        );
    }
}
