//! Transports: how the engine reaches a host. Every probe and step is a
//! `/bin/sh` script with optional stdin, so a transport only has to run
//! scripts; file writes and `become` are scripts too.

mod local;
mod ssh;
pub use ssh::{HostKeyChecking, Secret, Ssh, SshSettings};

pub use local::Local;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a script printed and how it exited.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The script was stopped because a time limit passed (`rc` is 124).
    pub timed_out: bool,
    /// A stream printed more than [`OUTPUT_CAP`]: only its first
    /// `OUTPUT_CAP` bytes are here, the rest was read and dropped.
    pub truncated: bool,
}

/// Most output kept from one stream (stdout or stderr) of one script.
/// What a host prints is untrusted and may be endless; a probe's answer,
/// even a file's content (at most 8 MiB, in base64), fits well within it.
pub const OUTPUT_CAP: usize = 16 << 20;

/// One stream of a script, kept up to [`OUTPUT_CAP`]: the script is never
/// stopped for printing too much, its surplus is read and dropped.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    pub bytes: Vec<u8>,
    pub cut: bool,
}

impl Capture {
    pub fn take(&mut self, data: &[u8]) {
        let room = OUTPUT_CAP.saturating_sub(self.bytes.len());
        if data.len() > room {
            self.cut = true;
        }
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// Reads `pipe` to its end.
    pub fn read_all(pipe: &mut impl std::io::Read) -> Capture {
        let mut capture = Capture::default();
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => capture.take(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // The pipe broke: what was read is all there is.
                Err(_) => break,
            }
        }
        capture
    }
}

/// A fresh marker for one script's output (a resident shell's request, a
/// batch of probes): random, so that nothing the host prints can forge it
/// unless it reads the script that carries it.
pub(crate) fn marker_nonce() -> String {
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes.copy_from_slice(&t.to_le_bytes()[..12]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a script's stderr ends with when its time limit (a task's
/// `timeout`, or `--command-timeout`) stopped it.
pub(crate) fn stopped_note(limit: Duration) -> String {
    format!(
        "\ntend: the script was stopped after {limit:?}, its command timeout (the task's `timeout:` or --command-timeout)\n"
    )
}

/// The host could not be reached or the script could not be started:
/// the host is unreachable, not the task failed.
#[derive(Debug, Clone)]
pub struct TransportError {
    pub message: String,
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Privilege escalation for one script.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Become {
    pub user: String,
}

pub trait Transport: Send + Sync {
    /// Runs `script` with `/bin/sh`, feeding it `stdin`, and stops it once
    /// `limit` has passed (a task's `timeout`): the output then says
    /// `timed_out`, with rc 124 as timeout(1) gives.
    fn exec_within(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
        limit: Option<Duration>,
    ) -> Result<ExecOutput, TransportError>;
    /// As [`Transport::exec_within`], but where a transport keeps a shell
    /// to run script after script, this script gets a session of its own
    /// (a user's `command`): what it leaves running cannot touch a later
    /// script, and the call returns once its output is closed.
    fn exec_alone(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
        limit: Option<Duration>,
    ) -> Result<ExecOutput, TransportError> {
        self.exec_within(script, stdin, become_, limit)
    }
    /// Runs `script` with `/bin/sh`, feeding it `stdin`.
    fn exec(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
    ) -> Result<ExecOutput, TransportError> {
        self.exec_within(script, stdin, become_, None)
    }
    /// Runs `script` over a new connection to the host, within `limit` as
    /// [`Transport::exec_within`], as proof that a new connection can still
    /// be made (after a firewall change). Transports without connections
    /// just run it.
    fn exec_fresh(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
        limit: Option<Duration>,
    ) -> Result<ExecOutput, TransportError> {
        self.exec_within(script, stdin, become_, limit)
    }
    /// Round trips and bytes so far, for `-v` and the JSON report.
    fn counters(&self) -> &Counters;
}

/// Traffic accounting of one host's connection.
#[derive(Debug, Default)]
pub struct Counters {
    pub round_trips: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub bytes_received: AtomicU64,
}

impl Counters {
    pub fn record(&self, sent: usize, received: usize) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(sent as u64, Ordering::Relaxed);
        self.bytes_received
            .fetch_add(received as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.round_trips.load(Ordering::Relaxed),
            self.bytes_sent.load(Ordering::Relaxed),
            self.bytes_received.load(Ordering::Relaxed),
        )
    }
}

/// Wraps a script so that it runs as another user through sudo.
/// The controller's user name: `$USER`, `$LOGNAME`, else `id -un`, asked
/// once per process however many hosts need it.
pub fn local_user() -> &'static str {
    static USER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    USER.get_or_init(|| {
        ["USER", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .or_else(|| {
                let out = std::process::Command::new("id").arg("-un").output().ok()?;
                Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
            })
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "root".to_string())
    })
}

pub fn with_become(script: &str, become_: Option<&Become>, current_user: &str) -> Vec<String> {
    match become_ {
        Some(b) if b.user != current_user => vec![
            "sudo".into(),
            "-H".into(),
            "-n".into(),
            "-u".into(),
            b.user.clone(),
            "--".into(),
            "/bin/sh".into(),
            "-c".into(),
            script.to_string(),
        ],
        _ => vec!["/bin/sh".into(), "-c".into(), script.to_string()],
    }
}

/// A connection type tend cannot use yet: every attempt reports the host
/// unreachable with a message that says so.
pub struct Unsupported {
    message: String,
    counters: Counters,
}

impl Unsupported {
    pub fn with_message(message: String) -> Unsupported {
        Unsupported {
            message,
            counters: Counters::default(),
        }
    }

    pub fn new(host: &str, connection: &str) -> Unsupported {
        Unsupported {
            message: format!(
                "cannot reach {host}: the '{connection}' connection is not available in this version of tend; use `ansible_connection=local` for the control machine"
            ),
            counters: Counters::default(),
        }
    }
}

impl Transport for Unsupported {
    fn exec_within(
        &self,
        _: &str,
        _: Option<&[u8]>,
        _: Option<&Become>,
        _: Option<Duration>,
    ) -> Result<ExecOutput, TransportError> {
        Err(TransportError {
            message: self.message.clone(),
        })
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_random_hex_and_never_repeat() {
        let seen: std::collections::HashSet<String> = (0..1000).map(|_| marker_nonce()).collect();
        assert_eq!(seen.len(), 1000);
        assert!(
            seen.iter()
                .all(|n| n.len() == 24 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn a_capture_keeps_the_first_bytes_up_to_the_cap_and_says_it_cut() {
        let mut c = Capture::default();
        c.take(&vec![b'a'; OUTPUT_CAP - 1]);
        assert!(!c.cut);
        c.take(b"bcd");
        assert!(c.cut);
        assert_eq!(c.bytes.len(), OUTPUT_CAP);
        assert_eq!(&c.bytes[OUTPUT_CAP - 2..], b"ab");
        c.take(b"more");
        assert_eq!(c.bytes.len(), OUTPUT_CAP);
    }
}
