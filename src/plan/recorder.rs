//! `tend plan`'s side of the hook: every task of the check run, recorded
//! with what its probe saw and what it would do.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::file::{Action, HostPlan, PlannedTask};
use super::hook::{Occurrences, PlanHook, SeenOutcome, SeenTask, Verdict};

#[derive(Debug, Default)]
pub struct Recorder {
    hosts: Mutex<BTreeMap<String, HostRecord>>,
}

#[derive(Debug, Default)]
struct HostRecord {
    places: Occurrences,
    tasks: Vec<PlannedTask>,
    /// The first task that would change the host: what later tasks saw
    /// is the host before that change.
    first_change: Option<String>,
}

impl Recorder {
    /// The recorded tasks, host by host (sorted by name).
    pub fn hosts(&self) -> Vec<HostPlan> {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .iter()
            .map(|(host, record)| HostPlan {
                host: host.clone(),
                tasks: record.tasks.clone(),
            })
            .collect()
    }
}

impl PlanHook for Recorder {
    fn judge(&self, host: &str, task: &SeenTask) -> Verdict {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let record = hosts.entry(host.to_string()).or_default();
        let place = record.places.place(task);
        let (action, intent, message, diff) = classify(task);
        let after = record.first_change.clone();
        let changes = action.changes() || (action == Action::Ran && task.outcome.changed());
        if changes && after.is_none() {
            record.first_change = Some(task.title.clone());
        }
        // What is there for people is kept with every registered secret
        // masked (vault values, become passwords): the plan file is
        // printed, copied and attached to tickets. `name` is not: apply
        // matches it as written.
        let masked = |text: &str| crate::redact::redact(text).into_owned();
        record.tasks.push(PlannedTask {
            at: place.at,
            item: place.item,
            label: task.item.as_ref().map(|(_, label)| masked(label)),
            occurrence: place.occurrence,
            task: masked(&task.title),
            name: task.name.clone(),
            module: task.module.clone(),
            action,
            fingerprint: task.fingerprint.clone(),
            identity: task.identity.clone(),
            intent,
            after: after.as_deref().map(masked),
            message: message.as_deref().map(masked),
            diff: diff.iter().map(|d| masked(d)).collect(),
        });
        Verdict::Proceed
    }
}

/// The action, intent, message and diffs of a task as planned.
fn classify(task: &SeenTask) -> (Action, String, Option<String>, Vec<String>) {
    match &task.outcome {
        SeenOutcome::Planned {
            changed,
            skipped,
            predictable,
            intent,
            diffs,
        } => {
            let action = if task.real {
                Action::Ran
            } else if *skipped {
                Action::Skip
            } else if !changed {
                Action::Unchanged
            } else if task.read_only {
                Action::Read
            } else if *predictable {
                Action::Change
            } else {
                Action::Run
            };
            (action, intent.clone(), None, diffs.clone())
        }
        SeenOutcome::Failed {
            message,
            depends_on,
        } => {
            let action = match (task.real, depends_on) {
                (true, _) => Action::Ran,
                (false, Some(_)) => Action::Depends,
                (false, None) => Action::Fail,
            };
            let message = match depends_on {
                Some(first) => {
                    format!("depends on '{first}', which changes the host first ({message})")
                }
                None => message.clone(),
            };
            (action, task.identity.clone(), Some(message), Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::hook::seen;

    #[test]
    fn tasks_are_recorded_in_order_with_what_changes_before_them() {
        let r = Recorder::default();
        r.judge("web1", &seen("site.yml:3:7", false, "a"));
        r.judge("web1", &seen("site.yml:6:7", true, "b"));
        r.judge("web1", &seen("site.yml:9:7", true, "c"));
        r.judge("db1", &seen("site.yml:3:7", false, "a"));
        let hosts = r.hosts();
        assert_eq!(hosts[0].host, "db1");
        let web = &hosts[1].tasks;
        let actions: Vec<Action> = web.iter().map(|t| t.action).collect();
        assert_eq!(actions, [Action::Unchanged, Action::Change, Action::Change]);
        assert_eq!(web[0].after, None);
        assert_eq!(web[1].after, None);
        assert_eq!(web[2].after.as_deref(), Some("task at site.yml:6:7"));
        assert_eq!(web[1].fingerprint.as_deref(), Some("b"));
        assert_eq!(web[1].diff.len(), 1);
    }

    #[test]
    fn commands_run_and_unplannable_tasks_depend() {
        let r = Recorder::default();
        let mut command = seen("site.yml:3:7", true, "a");
        command.module = "command".into();
        command.fingerprint = None;
        if let SeenOutcome::Planned { predictable, .. } = &mut command.outcome {
            *predictable = false;
        }
        r.judge("web1", &command);
        let mut service = seen("site.yml:6:7", false, "b");
        service.outcome = SeenOutcome::Failed {
            message: "no unit nginx".into(),
            depends_on: Some("Install nginx".into()),
        };
        r.judge("web1", &service);
        let mut real = seen("site.yml:9:7", true, "c");
        real.real = true;
        r.judge("web1", &real);
        let mut read = command.clone();
        read.at = "site.yml:12:7".into();
        read.read_only = true;
        r.judge("web1", &read);
        let tasks = &r.hosts()[0].tasks;
        assert_eq!(tasks[3].action, Action::Read);
        assert_eq!(tasks[0].action, Action::Run);
        assert_eq!(tasks[1].action, Action::Depends);
        assert_eq!(tasks[1].intent, tasks[1].identity);
        assert_eq!(
            tasks[1].message.as_deref(),
            Some("depends on 'Install nginx', which changes the host first (no unit nginx)")
        );
        assert_eq!(tasks[2].action, Action::Ran);
    }

    #[test]
    fn what_people_read_is_masked_and_the_name_apply_matches_is_not() {
        crate::redact::register("plan-s3cret");
        let r = Recorder::default();
        let mut task = seen("site.yml:3:7", true, "a");
        task.item = Some((0, "user plan-s3cret".into()));
        task.title = "Write plan-s3cret".into();
        task.name = "Write {{ pw }}".into();
        if let SeenOutcome::Planned { diffs, .. } = &mut task.outcome {
            diffs.push("+pw=plan-s3cret\n".into());
        }
        r.judge("web1", &task);
        let recorded = &r.hosts()[0].tasks[0];
        assert_eq!(recorded.label.as_deref(), Some("user ********"));
        assert_eq!(recorded.task, "Write ********");
        assert_eq!(recorded.name, "Write {{ pw }}");
        assert_eq!(
            recorded.diff.last().map(String::as_str),
            Some("+pw=********\n")
        );
    }
}
