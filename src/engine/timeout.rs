//! A task's `timeout`: the time its module may take on one host, counted
//! from the first script, shared by every script the module runs (probe,
//! steps, the probe that verifies them).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::outcome::Outcome;

/// Ansible refuses limits it cannot arm (its alarm takes at most 10^8 s).
const MOST_SECONDS: i64 = 100_000_000;

#[derive(Clone, Debug)]
pub(super) struct TaskClock {
    seconds: u64,
    deadline: Instant,
    expired: Arc<AtomicBool>,
}

impl TaskClock {
    /// A clock for `timeout: seconds`; `None` for 0 (no limit). A negative
    /// or too large value is the task's error, as in Ansible.
    pub fn start(seconds: i64) -> Result<Option<TaskClock>, String> {
        if !(0..=MOST_SECONDS).contains(&seconds) {
            return Err(format!(
                "Timeout {seconds} is invalid: give a number of seconds from 0 (no limit) to {MOST_SECONDS}"
            ));
        }
        Ok((seconds > 0).then(|| TaskClock {
            seconds: seconds.unsigned_abs(),
            deadline: Instant::now() + Duration::from_secs(seconds.unsigned_abs()),
            expired: Arc::new(AtomicBool::new(false)),
        }))
    }

    /// The time left for the next script, `None` once it has run out (the
    /// clock then counts as expired).
    pub fn remaining(&self) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.expired.store(true, Ordering::Relaxed);
            return None;
        }
        Some(left)
    }

    /// A script was stopped by the transport: by this clock if its time is
    /// up (a shorter `--command-timeout` is not the task's timeout).
    pub fn note_stopped(&self) {
        if Instant::now() >= self.deadline {
            self.expired.store(true, Ordering::Relaxed);
        }
    }

    pub fn expired(&self) -> bool {
        self.expired.load(Ordering::Relaxed)
    }

    /// The task's outcome once the clock has run out, whatever its scripts
    /// said: Ansible's message and `timedout` result.
    pub fn outcome(&self) -> Outcome {
        let s = if self.seconds == 1 { "" } else { "s" };
        let mut o = Outcome::failed(format!(
            "Timed out after {} second{s}: the task's `timeout` stopped it",
            self.seconds
        ));
        o.result.insert(
            "timedout".into(),
            serde_json::json!({ "period": Value::from(self.seconds) }),
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_no_limit_and_bad_values_are_refused() {
        assert!(TaskClock::start(0).unwrap().is_none());
        assert!(
            TaskClock::start(-1)
                .unwrap_err()
                .contains("Timeout -1 is invalid")
        );
        assert!(TaskClock::start(MOST_SECONDS + 1).is_err());
        let clock = TaskClock::start(30).unwrap().unwrap();
        assert!(clock.remaining().is_some() && !clock.expired());
    }

    #[test]
    fn a_stop_counts_only_once_the_time_is_up() {
        let clock = TaskClock::start(30).unwrap().unwrap();
        clock.note_stopped();
        assert!(!clock.expired(), "a shorter --command-timeout stopped it");
        let spent = TaskClock {
            deadline: Instant::now(),
            ..clock
        };
        assert!(spent.remaining().is_none());
        assert!(spent.expired());
        let o = spent.outcome();
        assert_eq!(o.result["timedout"]["period"], 30);
        assert!(o.msg().unwrap().starts_with("Timed out after 30 seconds"));
    }
}
