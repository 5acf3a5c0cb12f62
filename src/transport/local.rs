//! The `local` transport: scripts run on the control machine itself.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Become, Capture, Counters, ExecOutput, Transport, TransportError, with_become};

pub struct Local {
    user: String,
    counters: Counters,
}

impl Local {
    pub fn new() -> Local {
        Local {
            user: super::local_user().to_string(),
            counters: Counters::default(),
        }
    }
}

impl Default for Local {
    fn default() -> Self {
        Local::new()
    }
}

impl Transport for Local {
    fn exec_within(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
        limit: Option<Duration>,
    ) -> Result<ExecOutput, TransportError> {
        let argv = with_become(script, become_, &self.user);
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that a timeout stops what the
            // script started too.
            .process_group(0)
            .spawn()
            .map_err(|e| TransportError {
                message: format!("could not start {}: {e}", argv[0]),
            })?;
        // Write stdin and read the output on other threads, so a script
        // that prints a lot before reading cannot deadlock against us.
        let writer = match (stdin, child.stdin.take()) {
            (Some(data), Some(mut pipe)) => {
                let data = data.to_vec();
                Some(std::thread::spawn(move || {
                    let _ = pipe.write_all(&data);
                }))
            }
            _ => None,
        };
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let lost = |e: std::io::Error| TransportError {
            message: format!("lost the local shell: {e}"),
        };
        let started = Instant::now();
        let mut timed_out = false;
        // Without a limit, a plain wait: polling would add its interval to
        // every script.
        let status = match limit {
            None => child.wait().map_err(lost)?,
            Some(limit) => loop {
                if let Some(status) = child.try_wait().map_err(lost)? {
                    break status;
                }
                if started.elapsed() >= limit {
                    timed_out = true;
                    stop_group(child.id());
                    break child.wait().map_err(lost)?;
                }
                std::thread::sleep(Duration::from_millis(5));
            },
        };
        if let Some(w) = writer {
            let _ = w.join();
        }
        let stdout = stdout.join().unwrap_or_default();
        let mut stderr = stderr.join().unwrap_or_default();
        self.counters.record(
            script.len() + stdin.map_or(0, <[u8]>::len),
            stdout.bytes.len() + stderr.bytes.len(),
        );
        if timed_out {
            let note = super::stopped_note(limit.unwrap_or_default());
            stderr.bytes.extend_from_slice(note.as_bytes());
        }
        Ok(ExecOutput {
            rc: if timed_out {
                124
            } else {
                status.code().unwrap_or(-1)
            },
            timed_out,
            truncated: stdout.cut || stderr.cut,
            stdout: stdout.bytes,
            stderr: stderr.bytes,
        })
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }
}

/// Reads a pipe to its end on a thread of its own, kept up to the cap:
/// both streams are read at once, so that neither can fill its pipe and
/// stall the script.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Capture> {
    std::thread::spawn(move || match pipe {
        Some(mut pipe) => Capture::read_all(&mut pipe),
        None => Capture::default(),
    })
}

/// Kills the process group `pgid` (the script and whatever it started):
/// std has no killpg, and kill(1) does it without unsafe code.
fn stop_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::OUTPUT_CAP;

    /// A script that prints more than the cap runs to its end (its exit
    /// code is its own, not a broken pipe's): the first `OUTPUT_CAP` bytes
    /// of each stream are kept and the output says it was cut.
    #[test]
    fn output_past_the_cap_is_dropped_and_the_script_still_finishes() {
        let out = Local::new()
            .exec(
                "head -c 20000000 /dev/zero; head -c 17000000 /dev/zero >&2; exit 3",
                None,
                None,
            )
            .unwrap();
        assert_eq!(out.rc, 3);
        assert!(out.truncated);
        assert_eq!(
            (out.stdout.len(), out.stderr.len()),
            (OUTPUT_CAP, OUTPUT_CAP)
        );
        let small = Local::new()
            .exec("echo hi; echo err >&2", None, None)
            .unwrap();
        assert!(!small.truncated);
        assert_eq!(
            (small.stdout, small.stderr),
            (b"hi\n".to_vec(), b"err\n".to_vec())
        );
    }
}
