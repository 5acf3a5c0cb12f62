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
//!
//! Cost: a host's arrival is O(log hosts), and waiting hosts are woken only
//! when what they wait for can have changed (the furthest-behind position
//! moved on, or a fork slot came free), so a task step of N hosts costs
//! O(N log N), not N wake-ups of N threads each scanning N hosts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex};

use super::play::SitePath;

struct State {
    /// Where each host is; `None` once it is done with the play.
    at: Vec<Option<SitePath>>,
    /// How many hosts (not done) are at each position: the first key is
    /// the position of the hosts furthest behind.
    positions: BTreeMap<SitePath, usize>,
    running: usize,
    waiting: BTreeSet<usize>,
}

impl State {
    fn behind(&self) -> Option<&SitePath> {
        self.positions.keys().next()
    }

    /// Moves `host` to `to` (`None`: done); true if the furthest-behind
    /// position changed.
    fn move_host(&mut self, host: usize, to: Option<SitePath>) -> bool {
        let before = self.behind().cloned();
        let Some(slot) = self.at.get_mut(host) else {
            return false;
        };
        if let Some(old) = slot.take() {
            if let Some(n) = self.positions.get_mut(&old) {
                *n -= 1;
                if *n == 0 {
                    self.positions.remove(&old);
                }
            }
        }
        if let Some(new) = &to {
            *self.positions.entry(new.clone()).or_insert(0) += 1;
        }
        *slot = to;
        self.behind() != before.as_ref()
    }
}

pub struct Lockstep {
    state: Mutex<State>,
    moved: Condvar,
    forks: usize,
    /// Fewer fork slots than hosts: slots are handed out in inventory order.
    limited: bool,
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
        if self.lockstep.limited || s.running + 1 >= self.lockstep.forks {
            self.lockstep.moved.notify_all();
        }
    }
}

impl Lockstep {
    pub fn new(hosts: usize, forks: usize, linear: bool) -> Lockstep {
        let start: SitePath = Vec::new();
        let mut positions = BTreeMap::new();
        if hosts > 0 {
            positions.insert(start.clone(), hosts);
        }
        Lockstep {
            state: Mutex::new(State {
                at: vec![Some(start); hosts],
                positions,
                running: 0,
                waiting: BTreeSet::new(),
            }),
            moved: Condvar::new(),
            forks: forks.max(1),
            limited: forks.max(1) < hosts,
            linear,
        }
    }

    /// Blocks until `host` may run the task at `path`, then holds a slot.
    pub fn enter(&self, host: usize, path: &SitePath) -> Slot<'_> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.move_host(host, Some(path.clone())) && self.linear {
            self.moved.notify_all();
        }
        s.waiting.insert(host);
        // A host is ready when no host is behind it; a free slot goes to the
        // first ready host in inventory order.
        let ready = |s: &State, h: usize| {
            !self.linear
                || s.at
                    .get(h)
                    .and_then(|a| a.as_ref())
                    .is_none_or(|mine| s.behind().is_none_or(|behind| behind >= mine))
        };
        while !(ready(&s, host)
            && s.running < self.forks
            && (!self.limited
                || s.waiting
                    .iter()
                    .take_while(|&&g| g < host)
                    .all(|&g| !ready(&s, g))))
        {
            s = self.moved.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.waiting.remove(&host);
        s.running += 1;
        if self.limited {
            // The next host in inventory order may be the one to go now.
            self.moved.notify_all();
        }
        Slot { lockstep: self }
    }

    /// `host` is done with the play: nobody waits for it any more.
    pub fn finish(&self, host: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.move_host(host, None) {
            self.moved.notify_all();
        }
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

    #[test]
    fn linear_hosts_never_start_a_task_before_all_finished_the_one_before() {
        let hosts = 50;
        let lock = Arc::new(Lockstep::new(hosts, hosts, true));
        let log = Arc::new(Mutex::new(Vec::new()));
        std::thread::scope(|s| {
            for host in 0..hosts {
                let (lock, log) = (lock.clone(), log.clone());
                s.spawn(move || {
                    // Host 7 is done early: nobody waits for it.
                    let tasks = if host == 7 { 2 } else { 20u32 };
                    for task in 0..tasks {
                        let _slot = lock.enter(host, &vec![task]);
                        log.lock().unwrap().push((task, host));
                    }
                    lock.finish(host);
                });
            }
        });
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 49 * 20 + 2);
        let tasks: Vec<u32> = log.iter().map(|(t, _)| *t).collect();
        assert!(tasks.windows(2).all(|w| w[0] <= w[1]), "{tasks:?}");
    }
}
