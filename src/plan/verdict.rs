//! The rules `tend apply` follows for each task: run it only if the plan
//! has it, the host looks as the plan saw it, and the task would make the
//! change the plan shows. Pure: the checker gathers the facts.
//!
//! "Looks as the plan saw it" is judged on the host as it was before this
//! apply changed it: a plan is made in check mode, so every probe it
//! recorded saw the host before any of its changes. `tend apply` first
//! reads every host in a check run of its own (the survey, checker.rs), so
//! a task that runs after an earlier change of the apply (a directory
//! made, a package installed, in this play or an earlier one) is compared
//! with what its probe saw before that change, and its change with the
//! planned one. When the survey could not see it (its parameters come from
//! a result only a real run has), a difference cannot be told from the
//! apply's own doing, and the task is refused: a new plan, made after this
//! apply, shows its real change.

use super::file::{Action, PlannedTask};
use super::hook::{SeenOutcome, SeenTask, Verdict};

/// What the checker knows about the host besides the task itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostState<'a> {
    /// What the task's probe saw before this apply changed the host.
    pub before_apply: Option<&'a str>,
    /// The first task of this apply that changed the host, if any.
    pub changed_by: Option<&'a str>,
}

const NEW_PLAN: &str = "refusing to apply; make a new plan";

pub fn judge(recorded: Option<&PlannedTask>, now: &SeenTask, host: HostState) -> Verdict {
    let refuse = |why: String| Verdict::Refuse(format!("{why}; {NEW_PLAN}"));
    let Some(r) = recorded else {
        return refuse(
            "this task is not in the plan (it did not run on this host when the plan was made)"
                .into(),
        );
    };
    if r.module != now.module || r.name != now.name {
        return refuse(format!(
            "the plan has {} '{}' at this place, not this task",
            r.module, r.name
        ));
    }
    if r.identity != now.identity {
        return refuse("its parameters differ from the plan's (did a variable change?)".into());
    }
    // It ran for real while planning (`check_mode: false`): it runs again.
    if r.action == Action::Ran {
        return Verdict::Proceed;
    }
    let SeenOutcome::Planned { intent, .. } = &now.outcome else {
        // Nothing runs; its failure is reported as it is.
        return Verdict::Proceed;
    };
    let changes = now.outcome.changed();
    let drifted = "the host changed since the plan (state fingerprint differs)".to_string();
    let state = if r.fingerprint == now.fingerprint {
        State::Same
    } else {
        match (host.before_apply, host.changed_by) {
            (Some(p), _) if r.fingerprint.as_deref() == Some(p) => State::Same,
            (Some(_), _) | (None, None) => State::Drifted,
            (None, Some(first)) => State::Unknown(first),
        }
    };
    if !changes {
        // Nothing runs. A planned change that is no longer needed is
        // refused only when someone else made it.
        return match state {
            State::Drifted if r.action.changes() => refuse(drifted),
            _ => Verdict::Proceed,
        };
    }
    if !r.action.runs() {
        return refuse(
            "the plan has no change here, but the task would now change the host".into(),
        );
    }
    match state {
        State::Same => {}
        State::Drifted => return refuse(drifted),
        State::Unknown(first) => {
            return refuse(format!(
                "{drifted}, perhaps only by '{first}' earlier in this apply, but its state could not be read before that change"
            ));
        }
    }
    // The plan could not say what it does: it depended on an earlier
    // change, which has now happened. Its parameters are the planned ones.
    if r.action == Action::Depends || r.intent == *intent {
        return Verdict::Proceed;
    }
    refuse("the change it would make now differs from the planned one".into())
}

/// Whether the host looks, to this task, as the plan saw it.
enum State<'a> {
    Same,
    Drifted,
    /// It looks different now, after this apply's change by that task.
    Unknown(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::hook::seen;

    fn planned(now: &SeenTask, action: Action) -> PlannedTask {
        let intent = match &now.outcome {
            SeenOutcome::Planned { intent, .. } => intent.clone(),
            SeenOutcome::Failed { .. } => now.identity.clone(),
        };
        PlannedTask {
            at: now.at.clone(),
            item: None,
            label: None,
            occurrence: 1,
            task: now.title.clone(),
            name: now.name.clone(),
            module: now.module.clone(),
            action,
            fingerprint: now.fingerprint.clone(),
            identity: now.identity.clone(),
            intent,
            after: None,
            message: None,
            diff: vec![],
        }
    }

    fn refused(v: Verdict) -> String {
        match v {
            Verdict::Refuse(why) => why,
            Verdict::Proceed => panic!("expected a refusal"),
        }
    }

    const CLEAN: HostState = HostState {
        before_apply: None,
        changed_by: None,
    };

    #[test]
    fn the_planned_change_on_the_planned_state_goes_ahead() {
        let now = seen("site.yml:3:7", true, "f1");
        let r = planned(&now, Action::Change);
        assert_eq!(judge(Some(&r), &now, CLEAN), Verdict::Proceed);
    }

    #[test]
    fn a_host_that_changed_since_the_plan_is_refused() {
        let r = planned(&seen("site.yml:3:7", true, "f1"), Action::Change);
        let now = seen("site.yml:3:7", true, "f2");
        let host = HostState {
            before_apply: Some("f2"),
            changed_by: None,
        };
        assert_eq!(
            refused(judge(Some(&r), &now, host)),
            "the host changed since the plan (state fingerprint differs); refusing to apply; make a new plan"
        );
    }

    #[test]
    fn after_an_earlier_change_the_state_before_it_counts() {
        let r = planned(&seen("site.yml:9:7", true, "before"), Action::Change);
        // The directory an earlier task made shows in the probe now.
        let now = seen("site.yml:9:7", true, "after-mkdir");
        let ours = HostState {
            before_apply: Some("before"),
            changed_by: Some("Make the directory"),
        };
        assert_eq!(judge(Some(&r), &now, ours), Verdict::Proceed);
        // Someone changed the file before this apply began: refused.
        let theirs = HostState {
            before_apply: Some("edited"),
            changed_by: Some("Make the directory"),
        };
        assert!(refused(judge(Some(&r), &now, theirs)).starts_with("the host changed"));
        // Not read before the change: cannot tell, refused.
        let unknown = HostState {
            before_apply: None,
            changed_by: Some("Make the directory"),
        };
        assert!(
            refused(judge(Some(&r), &now, unknown))
                .contains("perhaps only by 'Make the directory'")
        );
    }

    #[test]
    fn a_task_that_would_now_change_but_was_planned_unchanged_is_refused() {
        let r = planned(&seen("site.yml:3:7", false, "f1"), Action::Unchanged);
        let now = seen("site.yml:3:7", true, "f1");
        assert!(refused(judge(Some(&r), &now, CLEAN)).starts_with("the plan has no change here"));
    }

    #[test]
    fn a_different_change_is_refused() {
        let r = planned(&seen("site.yml:3:7", true, "f1"), Action::Change);
        let mut now = seen("site.yml:3:7", true, "f1");
        if let SeenOutcome::Planned { intent, .. } = &mut now.outcome {
            *intent = "another content".into();
        }
        assert!(refused(judge(Some(&r), &now, CLEAN)).starts_with("the change it would make now"));
    }

    #[test]
    fn nothing_to_do_goes_ahead_unless_someone_else_did_the_planned_change() {
        // A read-only task whose probe output moves (a log file's size).
        let r = planned(&seen("site.yml:3:7", false, "f1"), Action::Unchanged);
        let now = seen("site.yml:3:7", false, "f2");
        assert_eq!(judge(Some(&r), &now, CLEAN), Verdict::Proceed);
        // The planned change was made by hand since.
        let r = planned(&seen("site.yml:3:7", true, "f1"), Action::Change);
        assert!(refused(judge(Some(&r), &now, CLEAN)).starts_with("the host changed"));
        // Or by an earlier task of this apply.
        let ours = HostState {
            before_apply: Some("f1"),
            changed_by: Some("Unpack"),
        };
        assert_eq!(judge(Some(&r), &now, ours), Verdict::Proceed);
    }

    #[test]
    fn tasks_not_in_the_plan_or_not_the_planned_ones_are_refused() {
        let now = seen("site.yml:3:7", true, "f1");
        assert!(refused(judge(None, &now, CLEAN)).starts_with("this task is not in the plan"));
        let mut other = planned(&now, Action::Change);
        other.module = "template".into();
        assert!(refused(judge(Some(&other), &now, CLEAN)).starts_with("the plan has template"));
        let mut params = planned(&now, Action::Change);
        params.identity = "another probe".into();
        assert!(refused(judge(Some(&params), &now, CLEAN)).starts_with("its parameters differ"));
    }

    #[test]
    fn a_task_that_depended_on_an_earlier_change_goes_ahead_once_it_happened() {
        let mut then = seen("site.yml:9:7", false, "no-unit");
        then.outcome = SeenOutcome::Failed {
            message: "no unit".into(),
            depends_on: Some("Install nginx".into()),
        };
        let r = planned(&then, Action::Depends);
        let now = seen("site.yml:9:7", true, "unit-stopped");
        let host = HostState {
            before_apply: Some("no-unit"),
            changed_by: Some("Install nginx"),
        };
        assert_eq!(judge(Some(&r), &now, host), Verdict::Proceed);
    }

    #[test]
    fn commands_and_tasks_that_ran_while_planning_run() {
        let mut command = seen("site.yml:3:7", true, "x");
        command.fingerprint = None;
        let r = planned(&command, Action::Run);
        assert_eq!(judge(Some(&r), &command, CLEAN), Verdict::Proceed);
        let r = planned(&seen("site.yml:3:7", true, "f1"), Action::Ran);
        let now = seen("site.yml:3:7", false, "f2");
        assert_eq!(judge(Some(&r), &now, CLEAN), Verdict::Proceed);
        // `changed_when: false`: it runs, though no change is planned.
        let r = planned(&command, Action::Read);
        assert_eq!(judge(Some(&r), &command, CLEAN), Verdict::Proceed);
    }
}
