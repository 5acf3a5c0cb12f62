//! Per-host counts for the recap, counted as ansible-playbook counts them.

use serde::Serialize;

use super::outcome::{Outcome, Status};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

impl HostStats {
    /// Counts one task outcome.
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome.status {
            Status::Skipped => self.skipped += 1,
            Status::Unreachable if outcome.ignored => {
                self.ok += 1;
                self.ignored += 1;
            }
            Status::Unreachable => self.unreachable += 1,
            Status::Failed if outcome.ignored => {
                self.ok += 1;
                self.ignored += 1;
                if outcome.changed() {
                    self.changed += 1;
                }
            }
            Status::Failed => self.failed += 1,
            Status::Ok | Status::Changed => {
                self.ok += 1;
                if outcome.changed() {
                    self.changed += 1;
                }
            }
        }
    }

    /// A failure a `rescue` section caught: Ansible moves it from failed to rescued.
    pub fn rescue(&mut self) {
        self.failed = self.failed.saturating_sub(1);
        self.rescued += 1;
    }

    pub fn add(&mut self, other: &HostStats) {
        self.ok += other.ok;
        self.changed += other.changed;
        self.unreachable += other.unreachable;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.rescued += other.rescued;
        self.ignored += other.ignored;
    }
}
