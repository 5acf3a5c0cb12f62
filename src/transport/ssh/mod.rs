//! The `ssh` transport: one authenticated connection per host for the whole
//! run, opened on the first script, every script an exec channel on it (at
//! most `max_channels` at once, since OpenSSH refuses the 11th session).
//!
//! russh is async; the engine is not. All hosts share one tokio runtime
//! owned by this module, and the sync `exec` blocks its calling thread on
//! it, so any number of engine threads may call `exec` concurrently.
//!
//! Build one from a host's inventory variables:
//! `Ssh::for_host("web1", &vars, ssh_config_path)`, or tweak the resolved
//! `SshSettings` (say from `--host-key-checking`) and call `Ssh::new`.

mod auth;
mod channel;
mod command;
mod common_args;
mod config;
mod known_hosts;
mod session;
mod settings;

pub use settings::{HostKeyChecking, Secret, SshSettings};

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::runtime::Runtime;
use tokio::sync::{Mutex, Semaphore};

use super::{Become, Counters, ExecOutput, Transport, TransportError};
use channel::Failure;
use command::Command;
use session::Connection;

/// The SSH connection to one host.
pub struct Ssh {
    settings: SshSettings,
    state: Mutex<State>,
    channels: Semaphore,
    counters: Counters,
}

#[derive(Default)]
struct State {
    connection: Option<Arc<Connection>>,
    /// The last failed attempt, so that execs queued behind it share its
    /// error instead of each waiting out another connect timeout.
    failure: Option<(Instant, String)>,
}

impl Ssh {
    /// A transport for `settings`; nothing is contacted until the first exec.
    pub fn new(settings: SshSettings) -> Ssh {
        let channels = Semaphore::new(settings.max_channels.max(1));
        Ssh {
            settings,
            state: Mutex::new(State::default()),
            channels,
            counters: Counters::default(),
        }
    }

    /// Resolves the host's settings from its inventory variables and the ssh
    /// config (see `SshSettings::resolve`) and makes a transport of them.
    pub fn for_host(
        inventory_hostname: &str,
        vars: &Map<String, Value>,
        ssh_config: Option<&Path>,
    ) -> Result<Ssh, String> {
        SshSettings::resolve(inventory_hostname, vars, ssh_config).map(Ssh::new)
    }

    pub fn settings(&self) -> &SshSettings {
        &self.settings
    }

    /// Connects now rather than on the first exec (a no-op when connected).
    pub fn connect(&self) -> Result<(), TransportError> {
        block_on(self.connection()).map(|_| ())
    }

    /// The live connection, connecting when there is none or it dropped.
    async fn connection(&self) -> Result<Arc<Connection>, TransportError> {
        let asked = Instant::now();
        let mut state = self.state.lock().await;
        if let Some(connection) = state.connection.as_ref().filter(|c| !c.handle.is_closed()) {
            return Ok(connection.clone());
        }
        if let Some((at, message)) = &state.failure
            && *at >= asked
        {
            return Err(TransportError {
                message: message.clone(),
            });
        }
        match session::connect(&self.settings).await {
            Ok(connection) => {
                let connection = Arc::new(connection);
                *state = State {
                    connection: Some(connection.clone()),
                    failure: None,
                };
                Ok(connection)
            }
            Err(message) => {
                *state = State {
                    connection: None,
                    failure: Some((Instant::now(), message.clone())),
                };
                Err(TransportError { message })
            }
        }
    }

    async fn run(
        &self,
        command: &Command,
        stdin: &[u8],
        limit: Option<Duration>,
    ) -> Result<ExecOutput, TransportError> {
        let connection = self.connection().await?;
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self
            .channels
            .acquire()
            .await
            .map_err(|e| self.error(e.to_string()))?;
        channel::run(&connection.handle, command, stdin, limit)
            .await
            .map_err(|failure| self.failure(failure, connection.handle.is_closed()))
    }

    fn failure(&self, failure: Failure, disconnected: bool) -> TransportError {
        let cap = self.settings.max_channels;
        self.error(match failure {
            Failure::Start(why) if disconnected => format!("the connection was lost: {why}"),
            Failure::Start(why) => {
                format!(
                    "{why} (tend opens {cap} channels at most; is the server's MaxSessions lower?)"
                )
            }
            Failure::Lost => "the connection was lost while a script ran".into(),
        })
    }

    fn error(&self, message: String) -> TransportError {
        TransportError {
            message: format!("{}: {message}", self.settings.target()),
        }
    }
}

impl Transport for Ssh {
    fn exec_fresh(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
    ) -> Result<ExecOutput, TransportError> {
        let fresh = Ssh::new(self.settings.clone());
        let out = fresh.exec(script, stdin, become_);
        let (trips, sent, received) = fresh.counters.snapshot();
        for _ in 0..trips {
            self.counters.record(0, 0);
        }
        self.counters.record(sent as usize, received as usize);
        out
    }

    fn exec_within(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
        limit: Option<Duration>,
    ) -> Result<ExecOutput, TransportError> {
        let s = &self.settings;
        // The sooner of `--command-timeout` and the caller's limit.
        let limit = match (s.command_timeout, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let command =
            Command::new(script, become_, &s.user, s.become_password.as_ref()).within(limit);
        let stdin = stdin.unwrap_or_default();
        let mut out = block_on(self.run(&command, stdin, limit))?;
        self.counters
            .record(command.sent_len(stdin), out.stdout.len() + out.stderr.len());
        command::explain_sudo(&mut out, &command, &s.user, &s.target());
        Ok(out)
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }
}

/// The runtime shared by every SSH connection of the process.
fn runtime() -> Result<&'static Runtime, TransportError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("tend-ssh")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| TransportError {
            message: format!("cannot start the SSH runtime: {e}"),
        })
}

/// Runs `work` to completion on the shared runtime. Called from within
/// another tokio runtime (where blocking on ours would panic), it blocks a
/// helper thread instead.
fn block_on<T: Send>(
    work: impl Future<Output = Result<T, TransportError>> + Send,
) -> Result<T, TransportError> {
    let runtime = runtime()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime.block_on(work);
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| runtime.block_on(work))
            .join()
            .unwrap_or_else(|_| {
                Err(TransportError {
                    message: "the SSH transport panicked".into(),
                })
            })
    })
}
