//! What the engine tells a saved plan about each task, and what it hears
//! back. The engine calls [`PlanHook::judge`] once per module run on a
//! host (each loop item; not `until` retries), after probing and before
//! running anything: `tend plan` records, `tend apply` decides.

use std::collections::HashMap;

/// The engine's side of a saved plan.
pub trait PlanHook: Send + Sync + std::fmt::Debug {
    /// Records the task (`tend plan`) or says whether it may run (`tend apply`).
    fn judge(&self, host: &str, task: &SeenTask) -> Verdict;

    /// A task that went ahead refreshed first (`apt-get update`) and was
    /// planned again: whether it may still run.
    fn refreshed(&self, host: &str, task: &SeenTask, refreshed: &SeenOutcome) -> Verdict {
        let _ = (host, task, refreshed);
        Verdict::Proceed
    }
}

/// What the engine does with a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    /// Fail the task with this reason; the host goes on with its next task.
    Refuse(String),
}

/// One module run on a host, as the engine sees it before running it.
#[derive(Debug, Clone)]
pub struct SeenTask {
    /// Where the task is written (`file:line:col`).
    pub at: String,
    /// The loop item's position and label.
    pub item: Option<(usize, String)>,
    /// The task's name as written.
    pub name: String,
    /// The task as shown (templated, with its role).
    pub title: String,
    pub module: String,
    /// Which probe, run where (see fingerprint.rs); none without a probe.
    pub state_key: Option<String>,
    /// What the probe saw.
    pub fingerprint: Option<String>,
    /// The module and its probe: which task this is.
    pub identity: String,
    pub outcome: SeenOutcome,
    /// Runs for real even under `tend plan` (`check_mode: false`).
    pub real: bool,
    /// Says it changes nothing (`changed_when: false`, the idiom for
    /// commands that only read).
    pub read_only: bool,
}

/// What the module decided from what its probe saw.
#[derive(Debug, Clone, PartialEq)]
pub enum SeenOutcome {
    Planned {
        /// Its steps will run (under check mode: would run).
        changed: bool,
        skipped: bool,
        /// Whether a diff tells its change; if not (`command`), it can
        /// only run, not be predicted.
        predictable: bool,
        intent: String,
        /// Unified diffs; empty when hidden (`diff: false`, `no_log`).
        diffs: Vec<String>,
    },
    Failed {
        message: String,
        /// Under check mode, the earlier task whose change did not happen
        /// and that this one depends on.
        depends_on: Option<String>,
    },
}

impl SeenOutcome {
    pub fn changed(&self) -> bool {
        matches!(
            self,
            SeenOutcome::Planned {
                changed: true,
                skipped: false,
                ..
            }
        )
    }
}

/// A task's place in a host's run: where it is written, its loop item,
/// and the how-manieth time that pair runs on the host. The same files,
/// inventory and variables give the same places, whatever else differs,
/// so a task skipped when planning but run when applying (or the other
/// way round) does not shift the tasks after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskPlace {
    pub at: String,
    pub item: Option<usize>,
    pub occurrence: u32,
}

/// Counts the runs of each task and item on one host.
#[derive(Debug, Default)]
pub struct Occurrences(HashMap<(String, Option<usize>), u32>);

impl Occurrences {
    pub fn place(&mut self, task: &SeenTask) -> TaskPlace {
        let item = task.item.as_ref().map(|(i, _)| *i);
        let n = self.0.entry((task.at.clone(), item)).or_insert(0);
        *n += 1;
        TaskPlace {
            at: task.at.clone(),
            item,
            occurrence: *n,
        }
    }
}

#[cfg(test)]
pub(crate) fn seen(at: &str, changed: bool, fingerprint: &str) -> SeenTask {
    SeenTask {
        at: at.into(),
        item: None,
        name: format!("task at {at}"),
        title: format!("task at {at}"),
        module: "copy".into(),
        state_key: Some(format!("key {at}")),
        fingerprint: Some(fingerprint.into()),
        identity: format!("id {at}"),
        outcome: SeenOutcome::Planned {
            changed,
            skipped: false,
            predictable: true,
            intent: format!("intent {at} {changed}"),
            diffs: if changed {
                vec![format!("--- before: {at}\n+++ after: {at}\n")]
            } else {
                vec![]
            },
        },
        real: false,
        read_only: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_counts_runs_of_the_same_task_and_item() {
        let mut o = Occurrences::default();
        let mut t = seen("site.yml:3:7", true, "f");
        assert_eq!(o.place(&t).occurrence, 1);
        assert_eq!(o.place(&t).occurrence, 2);
        t.item = Some((0, "a".into()));
        assert_eq!(o.place(&t).occurrence, 1);
        t.item = Some((1, "b".into()));
        let p = o.place(&t);
        assert_eq!((p.item, p.occurrence), (Some(1), 1));
        assert_eq!(o.place(&seen("site.yml:9:7", true, "f")).occurrence, 1);
    }
}
