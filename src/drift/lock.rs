//! The lock of a drift run: at most one run per playbook and inventory, and
//! a second one leaves at once instead of waiting or overlapping.
//!
//! The lock is an `flock` on a file, so the kernel releases it when its
//! holder dies, however it dies. The file also holds the holder's pid and
//! start time: a run that finds the lock free but the file still naming a
//! holder knows that holder was killed, and says it took the lock over.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub struct RunLock {
    file: File,
    /// What the file said when the lock was taken over from a dead run.
    pub stale: Option<String>,
}

/// Why the lock could not be taken.
pub enum LockError {
    /// Another run holds it; what its file says about that run.
    Held {
        path: PathBuf,
        holder: String,
    },
    Io(String),
}

impl RunLock {
    pub fn acquire(path: &Path, started: &str) -> Result<RunLock, LockError> {
        let io = |e: std::io::Error| LockError::Io(format!("{}: {e}", path.display()));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(LockError::Held {
                    path: path.to_path_buf(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut previous = String::new();
        file.read_to_string(&mut previous).map_err(io)?;
        let stale = Some(previous.trim().to_string()).filter(|p| !p.is_empty());
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "pid {} started {started}", std::process::id()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(RunLock { file, stale })
    }
}

impl Drop for RunLock {
    /// A clean end empties the file: only a killed run leaves its name in it.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_a_dead_ones_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = RunLock::acquire(&path, "t1").ok().expect("free");
        assert!(first.stale.is_none());
        match RunLock::acquire(&path, "t2") {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder, format!("pid {} started t1", std::process::id()))
            }
            _ => panic!("the second run must be refused"),
        }
        drop(first);
        assert!(
            RunLock::acquire(&path, "t3")
                .ok()
                .expect("free")
                .stale
                .is_none()
        );
        // A killed holder leaves its line behind, but no flock.
        std::fs::write(&path, "pid 4242 started t0\n").unwrap();
        let next = RunLock::acquire(&path, "t4").ok().expect("free");
        assert_eq!(next.stale.as_deref(), Some("pid 4242 started t0"));
    }
}
