//! `tend apply`'s side of the hook: finds each task in the plan, keeps
//! what each host looked like before this apply changed it, asks the rules
//! (verdict.rs) and remembers every refusal for the summary and the exit
//! code.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::file::{Action, HostPlan, PlannedTask};
use super::hook::{Occurrences, PlanHook, SeenOutcome, SeenTask, TaskPlace, Verdict};
use super::verdict::{HostState, judge};

#[derive(Debug)]
pub struct Checker {
    planned: HashMap<String, HashMap<TaskPlace, PlannedTask>>,
    /// Each host's planned tasks in the plan's order, for the report.
    order: Vec<(String, Vec<TaskPlace>)>,
    hosts: Mutex<HashMap<String, HostLedger>>,
}

/// What one host has been through in this apply.
#[derive(Debug, Default)]
struct HostLedger {
    places: Occurrences,
    /// Fingerprints of probes taken before this apply changed the host, by
    /// state key.
    before_apply: HashMap<String, String>,
    /// The first task that changed (or may have changed) the host.
    changed_by: Option<String>,
    reached: HashSet<TaskPlace>,
    /// Planned changes that went ahead.
    went_ahead: usize,
    refusals: Vec<Refusal>,
}

/// A task `tend apply` would not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub host: String,
    pub task: String,
    pub reason: String,
}

impl Refusal {
    /// `<host>: <task>: <reason>`: the task's failure message.
    pub fn message(&self) -> String {
        format!("{}: {}: {}", self.host, self.task, self.reason)
    }
}

/// How an apply went, against its plan.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub planned: usize,
    pub went_ahead: usize,
    pub refusals: Vec<Refusal>,
    /// Planned changes no task reached (the host failed before them, or a
    /// condition no longer held), as `(host, task)`.
    pub unreached: Vec<(String, String)>,
}

impl Checker {
    pub fn new(hosts: &[HostPlan]) -> Checker {
        let mut planned = HashMap::new();
        let mut order = Vec::new();
        for h in hosts {
            let mut tasks = HashMap::new();
            let mut places = Vec::new();
            for t in &h.tasks {
                let place = TaskPlace {
                    at: t.at.clone(),
                    item: t.item,
                    occurrence: t.occurrence,
                };
                places.push(place.clone());
                tasks.insert(place, t.clone());
            }
            planned.insert(h.host.clone(), tasks);
            order.push((h.host.clone(), places));
        }
        Checker {
            planned,
            order,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    pub fn report(&self) -> ApplyReport {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = ApplyReport::default();
        for (host, places) in &self.order {
            let ledger = hosts.get(host);
            for place in places {
                let task = &self.planned[host][place];
                if !task.action.changes() {
                    continue;
                }
                report.planned += 1;
                if !ledger.is_some_and(|l| l.reached.contains(place)) {
                    report.unreached.push((host.clone(), task.task.clone()));
                }
            }
        }
        let mut ledgers: Vec<(&String, &HostLedger)> = hosts.iter().collect();
        ledgers.sort_by_key(|(name, _)| *name);
        for (_, ledger) in ledgers {
            report.went_ahead += ledger.went_ahead;
            report.refusals.extend(ledger.refusals.iter().cloned());
        }
        report
    }

    /// What a probe sees before this apply changes the host.
    fn note_before_apply(&self, host: &str, state_key: &str, fingerprint: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let ledger = hosts.entry(host.to_string()).or_default();
        if ledger.changed_by.is_none() {
            ledger
                .before_apply
                .insert(state_key.to_string(), fingerprint.to_string());
        }
    }

    fn refuse(ledger: &mut HostLedger, host: &str, task: &SeenTask, reason: String) -> Verdict {
        let refusal = Refusal {
            host: host.to_string(),
            task: task.title.clone(),
            reason,
        };
        let message = refusal.message();
        ledger.refusals.push(refusal);
        Verdict::Refuse(message)
    }
}

impl PlanHook for Checker {
    fn judge(&self, host: &str, task: &SeenTask) -> Verdict {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let ledger = hosts.entry(host.to_string()).or_default();
        let place = ledger.places.place(task);
        ledger.reached.insert(place.clone());
        if ledger.changed_by.is_none() {
            if let (Some(key), Some(fp)) = (&task.state_key, &task.fingerprint) {
                ledger.before_apply.insert(key.clone(), fp.clone());
            }
        }
        let recorded = self.planned.get(host).and_then(|tasks| tasks.get(&place));
        let before_apply = task
            .state_key
            .as_ref()
            .and_then(|k| ledger.before_apply.get(k))
            .map(String::as_str);
        let state = HostState {
            before_apply,
            changed_by: ledger.changed_by.as_deref(),
        };
        match judge(recorded, task, state) {
            Verdict::Proceed => {
                let ran = recorded.is_some_and(|r| r.action == Action::Ran);
                if (task.outcome.changed() && !task.read_only) || ran {
                    ledger.changed_by.get_or_insert_with(|| task.title.clone());
                }
                if task.outcome.changed() && recorded.is_some_and(|r| r.action.changes()) {
                    ledger.went_ahead += 1;
                }
                Verdict::Proceed
            }
            Verdict::Refuse(reason) => Checker::refuse(ledger, host, task, reason),
        }
    }

    fn refreshed(&self, host: &str, task: &SeenTask, refreshed: &SeenOutcome) -> Verdict {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let ledger = hosts.entry(host.to_string()).or_default();
        // The refresh (`apt-get update`) changed what later probes see.
        ledger.changed_by.get_or_insert_with(|| task.title.clone());
        let intent = |o: &SeenOutcome| match o {
            SeenOutcome::Planned { intent, .. } => Some(intent.clone()),
            SeenOutcome::Failed { .. } => None,
        };
        let same = !refreshed.changed()
            || (task.outcome.changed() && intent(refreshed) == intent(&task.outcome));
        if same {
            return Verdict::Proceed;
        }
        if task.outcome.changed() {
            ledger.went_ahead = ledger.went_ahead.saturating_sub(1);
        }
        Checker::refuse(
            ledger,
            host,
            task,
            "after refreshing (apt-get update), the change it would make differs from the planned one; refusing to apply; make a new plan".into(),
        )
    }
}

/// The check run `tend apply` makes before it changes anything: every
/// task's probe, as the host is now, so that a task that runs after an
/// earlier change (in a later play, too) is still compared with the host
/// as it was before that change. It only reads: a `check_mode: false` task
/// does not run in it.
#[derive(Debug)]
pub struct Survey(pub Arc<Checker>);

impl PlanHook for Survey {
    fn judge(&self, host: &str, task: &SeenTask) -> Verdict {
        if task.real {
            return Verdict::Refuse("not run while reading the hosts before applying".into());
        }
        if let (Some(key), Some(fp)) = (&task.state_key, &task.fingerprint) {
            self.0.note_before_apply(host, key, fp);
        }
        Verdict::Proceed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::hook::seen;
    use crate::plan::recorder::Recorder;

    /// A plan of these tasks on web1, as the recorder makes it.
    fn plan(tasks: &[SeenTask]) -> Checker {
        let r = Recorder::default();
        for t in tasks {
            r.judge("web1", t);
        }
        Checker::new(&r.hosts())
    }

    #[test]
    fn a_perturbed_task_is_refused_and_the_rest_go_ahead() {
        let mkdir = seen("site.yml:3:7", true, "no-dir");
        let copy = seen("site.yml:6:7", true, "no-file");
        let edited = seen("site.yml:9:7", true, "old-conf");
        let checker = plan(&[mkdir.clone(), copy.clone(), edited]);
        // The survey read every probe before changing anything; someone
        // edited the third task's file since the plan.
        let checker = Arc::new(checker);
        let survey = Survey(checker.clone());
        survey.judge("web1", &mkdir);
        survey.judge("web1", &copy);
        survey.judge("web1", &seen("site.yml:9:7", true, "hand-edited"));
        assert_eq!(checker.judge("web1", &mkdir), Verdict::Proceed);
        // The directory made by the first task shows in the second's probe.
        let copy_now = seen("site.yml:6:7", true, "dir-exists");
        assert_eq!(checker.judge("web1", &copy_now), Verdict::Proceed);
        let edited_now = seen("site.yml:9:7", true, "hand-edited");
        assert_eq!(
            checker.judge("web1", &edited_now),
            Verdict::Refuse(
                "web1: task at site.yml:9:7: the host changed since the plan (state fingerprint differs); refusing to apply; make a new plan".into()
            )
        );
        let report = checker.report();
        assert_eq!((report.planned, report.went_ahead), (3, 2));
        assert_eq!(report.refusals.len(), 1);
        assert!(report.unreached.is_empty());
    }

    #[test]
    fn the_survey_only_reads() {
        let survey = Survey(Arc::new(plan(&[])));
        let mut real = seen("site.yml:3:7", true, "a");
        real.real = true;
        assert!(matches!(survey.judge("web1", &real), Verdict::Refuse(_)));
        assert_eq!(
            survey.judge("web1", &seen("site.yml:3:7", true, "a")),
            Verdict::Proceed
        );
    }

    #[test]
    fn planned_changes_never_reached_are_reported() {
        let a = seen("site.yml:3:7", true, "a");
        let b = seen("site.yml:6:7", true, "b");
        let checker = plan(&[a.clone(), b]);
        checker.judge("web1", &a);
        let report = checker.report();
        assert_eq!(
            report.unreached,
            [("web1".to_string(), "task at site.yml:6:7".to_string())]
        );
    }

    #[test]
    fn probes_after_a_change_are_not_the_plans_state() {
        let a = seen("site.yml:3:7", true, "a");
        let b = seen("site.yml:6:7", true, "b");
        let checker = plan(&[a.clone(), b]);
        checker.judge("web1", &a);
        // Read after the first change: not taken as the state before it.
        checker.note_before_apply("web1", "key site.yml:6:7", "b");
        let b_now = seen("site.yml:6:7", true, "b-after-a");
        let Verdict::Refuse(why) = checker.judge("web1", &b_now) else {
            panic!("refused")
        };
        assert!(
            why.contains("perhaps only by 'task at site.yml:3:7'"),
            "{why}"
        );
    }

    #[test]
    fn a_refresh_that_changes_the_change_is_refused() {
        let mut apt = seen("site.yml:3:7", false, "lists-old");
        apt.module = "apt".into();
        let checker = plan(std::slice::from_ref(&apt));
        assert_eq!(checker.judge("web1", &apt), Verdict::Proceed);
        let upgrade = seen("site.yml:3:7", true, "lists-new").outcome;
        assert!(matches!(
            checker.refreshed("web1", &apt, &upgrade),
            Verdict::Refuse(_)
        ));
        let same = seen("site.yml:3:7", false, "lists-new").outcome;
        assert_eq!(checker.refreshed("web1", &apt, &same), Verdict::Proceed);
        assert_eq!(checker.report().refusals.len(), 1);
    }
}
