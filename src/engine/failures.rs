//! How one host's failure reaches the rest of its batch, as Ansible's
//! linear strategy has it.
//!
//! `max_fail_percentage` counts a host once nothing can catch its failure
//! any more: a failure inside a block with a `rescue` or an `always` is not
//! counted (even if the `always` then lets the host end failed), one that
//! ends a rescue with no `always` around it is. When the count breaks the
//! threshold, the play ends after that task.
//!
//! `any_errors_fatal` fails every other host of the batch once all of them
//! are done with the task: each goes to the `rescue` or `always` around it,
//! if there is one, and stops otherwise. Such a host failed no task, so its
//! recap counts no failure, and a rescue it runs counts no rescue; yet
//! Ansible holds it failed from then on, even if it rescued: it sits out
//! later plays, and the run fails once a later batch or play starts.
//! Ansible ignores `any_errors_fatal` under `strategy: free`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::host::HostRun;
use super::play::SitePath;
use crate::playbook::Keywords;

/// Whether another host's `any_errors_fatal` failed this host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Marked {
    #[default]
    No,
    /// In the batch that just ran.
    Yes,
    /// And a later batch or play has started since: the run fails.
    Carried,
}

/// What the hosts of one batch share about their failures.
pub struct BatchFailures {
    size: usize,
    max_fail_percentage: Option<f64>,
    /// `any_errors_fatal` applies (not under `strategy: free`).
    linear: bool,
    /// Hosts counted against `max_fail_percentage`.
    counted: Mutex<Vec<bool>>,
    breached: AtomicBool,
    /// `any_errors_fatal` failures, in the order they happened: the task
    /// and the host that failed it.
    fatal: Mutex<Vec<(SitePath, usize)>>,
}

impl BatchFailures {
    pub fn new(size: usize, max_fail_percentage: Option<f64>, linear: bool) -> BatchFailures {
        BatchFailures {
            size,
            max_fail_percentage,
            linear,
            counted: Mutex::new(vec![false; size]),
            breached: AtomicBool::new(false),
            fatal: Mutex::new(Vec::new()),
        }
    }

    /// Counts `host` as failed (once); true when the batch now breaks
    /// `max_fail_percentage`, so the play ends after the current task.
    pub fn count(&self, host: usize) -> bool {
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = counted.get_mut(host) {
            *c = true;
        }
        let failed = counted.iter().filter(|c| **c).count();
        let breached = self
            .max_fail_percentage
            .is_some_and(|pct| failed as f64 * 100.0 / self.size.max(1) as f64 > pct);
        if breached {
            self.breached.store(true, Ordering::SeqCst);
        }
        breached
    }

    /// Whether the batch broke `max_fail_percentage`: the run ends.
    pub fn breached(&self) -> bool {
        self.breached.load(Ordering::SeqCst)
    }

    fn fatal(&self) -> std::sync::MutexGuard<'_, Vec<(SitePath, usize)>> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `any_errors_fatal` failures at tasks before `at` that come after
    /// the first `seen` (which is moved past them). A host asks once the
    /// lockstep has let it in at `at`: every such failure is known by then,
    /// and they come before any failure at `at` in the list.
    fn fatal_before(&self, at: &SitePath, seen: &mut usize) -> Vec<(SitePath, usize)> {
        let fatal = self.fatal();
        let new: Vec<_> = fatal
            .iter()
            .skip(*seen)
            .take_while(|(task, _)| task < at)
            .cloned()
            .collect();
        *seen += new.len();
        new
    }
}

/// One host's side of it, for its walk through the play.
#[derive(Default)]
pub struct HostFailures {
    /// Enclosing sections that would catch a failure where the host is: a
    /// block with a rescue or an always (while in the block), a rescue
    /// with an always after it.
    pub catchers: usize,
    /// The failure being handled came from another host's
    /// `any_errors_fatal`: the rescue that catches it counts no rescue.
    pub quiet: bool,
    /// The last task this host failed: others failing it too do not fail
    /// this host again.
    failed_at: Option<SitePath>,
    /// How many of the batch's `any_errors_fatal` failures it has seen.
    seen: usize,
}

impl HostRun<'_, '_> {
    fn errors_fatal(&self, keywords: &Keywords) -> bool {
        self.ctx.failures.linear
            && keywords
                .any_errors_fatal
                .unwrap_or(self.ctx.play.any_errors_fatal)
    }

    /// This host failed the task at `path` (`count`: and may count against
    /// `max_fail_percentage`; an unreachable host does not, in Ansible).
    pub(super) fn failed_at(&mut self, keywords: &Keywords, path: &SitePath, count: bool) {
        self.fail.quiet = false;
        self.fail.failed_at = Some(path.clone());
        if self.errors_fatal(keywords) {
            self.ctx.failures.fatal().push((path.clone(), self.index));
        }
        if count && self.fail.catchers == 0 && self.ctx.failures.count(self.index) {
            self.ctx.abort_at(path);
        }
    }

    /// After a task with `any_errors_fatal` that did not fail here: waits
    /// until every host of the batch is done with it, then fails this host
    /// if another one failed it. True when this host is now failed.
    pub(super) fn fatal_after(&mut self, keywords: &Keywords, path: &SitePath) -> bool {
        if !self.errors_fatal(keywords) {
            return false;
        }
        // Just past the task and everything under it: no host can start a
        // later task before this host does, so all are done with it.
        let mut past = path.clone();
        past.push(u32::MAX);
        drop(self.ctx.lockstep.enter(self.index, &past));
        self.take_fatal(&past)
    }

    /// Fails this host, quietly, if another host failed a task before `at`
    /// under `any_errors_fatal` since this host last looked (and this host
    /// did not fail that task itself). Called where the lockstep has let
    /// this host in at `at`.
    pub(super) fn take_fatal(&mut self, at: &SitePath) -> bool {
        let fatal = self.ctx.failures.fatal_before(at, &mut self.fail.seen);
        let Some((task, _)) = fatal
            .into_iter()
            .find(|(task, host)| *host != self.index && self.fail.failed_at.as_ref() != Some(task))
        else {
            return false;
        };
        self.mem.failed = true;
        self.mem.marked = Marked::Yes;
        self.fail.quiet = true;
        self.fail.failed_at = Some(task.clone());
        if self.ctx.failures.count(self.index) {
            self.ctx.abort_at(&task);
        }
        true
    }
}
