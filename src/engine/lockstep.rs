//! Ansible's linear strategy and `--forks`, for hosts that walk a play on
//! their own threads.
//!
//! Linear: a host starts the task at position P only once every other host
//! of the batch has got to P or past it (or is done), so every host finishes
//! a task before any host starts the next, and `hostvars` read in a task see
//! what other hosts did in the tasks before it. The host furthest behind
//! never waits, so this cannot deadlock. `strategy: free` skips the wait.
//!
//! Forks: at most N hosts run a task at once; a free slot goes to the
//! waiting host that comes first in the inventory, so `--forks 1` runs each
//! task host by host, in order, as ansible-playbook does.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex};

use super::play::SitePath;

struct State {
    /// Where each host is; `None` once it is done with the play.
    at: Vec<Option<SitePath>>,
    running: usize,
    waiting: BTreeSet<usize>,
}

pub struct Lockstep {
    state: Mutex<State>,
    moved: Condvar,
    forks: usize,
    linear: bool,
}

/// A fork slot, given back when dropped.
pub struct Slot<'l> {
    lockstep: &'l Lockstep,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut s = self
            .lockstep
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        s.running = s.running.saturating_sub(1);
        self.lockstep.moved.notify_all();
    }
}

impl Lockstep {
    pub fn new(hosts: usize, forks: usize, linear: bool) -> Lockstep {
        Lockstep {
            state: Mutex::new(State {
                at: vec![Some(Vec::new()); hosts],
                running: 0,
                waiting: BTreeSet::new(),
            }),
            moved: Condvar::new(),
            forks: forks.max(1),
            linear,
        }
    }

    /// Blocks until `host` may run the task at `path`, then holds a slot.
    pub fn enter(&self, host: usize, path: &SitePath) -> Slot<'_> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = s.at.get_mut(host) {
            *at = Some(path.clone());
        }
        s.waiting.insert(host);
        self.moved.notify_all();
        // A host is ready when no host is behind it; a free slot goes to the
        // first ready host in inventory order.
        let ready = |s: &State, h: usize| {
            !self.linear
                || s.at[h]
                    .as_ref()
                    .is_none_or(|mine| s.at.iter().all(|o| o.as_ref().is_none_or(|p| p >= mine)))
        };
        while !(ready(&s, host)
            && s.running < self.forks
            && s.waiting
                .iter()
                .take_while(|&&g| g < host)
                .all(|&g| !ready(&s, g)))
        {
            s = self.moved.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.waiting.remove(&host);
        s.running += 1;
        self.moved.notify_all();
        Slot { lockstep: self }
    }

    /// `host` is done with the play: nobody waits for it any more.
    pub fn finish(&self, host: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = s.at.get_mut(host) {
            *at = None;
        }
        self.moved.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn forks_one_goes_task_by_task_in_host_order() {
        let lock = Arc::new(Lockstep::new(2, 1, true));
        let log = Arc::new(Mutex::new(Vec::new()));
        std::thread::scope(|s| {
            for host in [1usize, 0] {
                let (lock, log) = (lock.clone(), log.clone());
                s.spawn(move || {
                    for task in 0..2u32 {
                        let _slot = lock.enter(host, &vec![task]);
                        log.lock().unwrap().push((task, host));
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    lock.finish(host);
                });
            }
        });
        assert_eq!(*log.lock().unwrap(), vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
    }
}
