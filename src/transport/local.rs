//! The `local` transport: scripts run on the control machine itself.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{Become, Counters, ExecOutput, Transport, TransportError, with_become};

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
    fn exec(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
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
            .spawn()
            .map_err(|e| TransportError {
                message: format!("could not start {}: {e}", argv[0]),
            })?;
        // Write stdin from another thread so a script that prints a lot
        // before reading cannot deadlock against us.
        let writer = match (stdin, child.stdin.take()) {
            (Some(data), Some(mut pipe)) => {
                let data = data.to_vec();
                Some(std::thread::spawn(move || {
                    let _ = pipe.write_all(&data);
                }))
            }
            _ => None,
        };
        let out = child.wait_with_output().map_err(|e| TransportError {
            message: format!("lost the local shell: {e}"),
        })?;
        if let Some(w) = writer {
            let _ = w.join();
        }
        self.counters.record(
            script.len() + stdin.map_or(0, <[u8]>::len),
            out.stdout.len() + out.stderr.len(),
        );
        Ok(ExecOutput {
            rc: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }
}
