//! `run_once`, deterministically: the task runs on the first host of the
//! batch (in inventory order) that reaches it, and every other host takes
//! its result. A host reaching the task waits only for the hosts before it
//! to arrive, pass it, or finish, so no host ever waits on a later one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use super::outcome::Outcome;
use super::play::SitePath;

#[derive(Default)]
struct State {
    /// Where each host of the batch last reported; `None` once it is done.
    cursors: Vec<Option<SitePath>>,
    arrivals: HashMap<SitePath, BTreeSet<usize>>,
    results: HashMap<SitePath, Arc<OnceLock<Outcome>>>,
}

#[derive(Default)]
pub struct RunOnce {
    state: Mutex<State>,
    moved: Condvar,
}

/// Who runs a `run_once` task, as seen by one host.
pub enum Turn {
    /// This host runs it and must `publish` the outcome.
    Run(Arc<OnceLock<Outcome>>),
    /// Another host runs it: wait on the cell.
    Wait(Arc<OnceLock<Outcome>>),
}

impl RunOnce {
    pub fn new(hosts: usize) -> RunOnce {
        RunOnce {
            state: Mutex::new(State {
                cursors: vec![Some(Vec::new()); hosts],
                ..State::default()
            }),
            moved: Condvar::new(),
        }
    }

    /// A host reported a task at `path`.
    pub fn advance(&self, host: usize, path: &SitePath) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = s.cursors.get_mut(host) {
            *c = Some(path.clone());
        }
        self.moved.notify_all();
    }

    /// A host is done with the play.
    pub fn finish(&self, host: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = s.cursors.get_mut(host) {
            *c = None;
        }
        self.moved.notify_all();
    }

    /// Blocks until it is known which host runs the task at `path`.
    pub fn turn(&self, host: usize, path: &SitePath) -> Turn {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.arrivals.entry(path.clone()).or_default().insert(host);
        self.moved.notify_all();
        loop {
            let arrived = s.arrivals.get(path).cloned().unwrap_or_default();
            let settled = (0..host).all(|h| {
                arrived.contains(&h)
                    || s.cursors
                        .get(h)
                        .is_none_or(|c| c.as_ref().is_none_or(|c| c > path))
            });
            if settled {
                let runner = arrived.iter().next().copied().unwrap_or(host);
                let cell = s.results.entry(path.clone()).or_default().clone();
                return if runner == host {
                    Turn::Run(cell)
                } else {
                    Turn::Wait(cell)
                };
            }
            s = self.moved.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}
