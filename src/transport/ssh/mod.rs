//! The `ssh` transport: one authenticated connection per host for the whole
//! run, opened on the first script, with at most `max_channels` exec
//! channels on it at once (OpenSSH refuses the 11th session). A script
//! runs in a resident shell (`resident`, `worker`) kept on a channel for
//! the next script; a script with a time limit gets a channel of its own,
//! which the host's timeout(1) can stop.
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
mod resident;
mod session;
mod settings;
mod worker;

pub use settings::{HostKeyChecking, Secret, SshSettings};

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::runtime::Runtime;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use super::{Become, Counters, ExecOutput, Transport, TransportError};
use channel::Failure;
use command::Command;
use session::Connection;
use worker::{Ran, Worker};

/// The SSH connection to one host.
pub struct Ssh {
    settings: SshSettings,
    state: Mutex<State>,
    channels: Arc<Semaphore>,
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
        let channels = Arc::new(Semaphore::new(settings.max_channels.max(1)));
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
        let _permit = self.permit(&connection).await?;
        channel::run(&connection.handle, command, stdin, limit)
            .await
            .map_err(|failure| self.failure(failure, connection.handle.is_closed()))
    }

    /// Runs `script` in a resident shell started with `shell` (its user's
    /// idle one, or a new one), and keeps the shell for the next script
    /// when all went well.
    async fn run_resident(
        &self,
        shell: &Command,
        script: &str,
        stdin: &[u8],
    ) -> Result<ExecOutput, TransportError> {
        let connection = self.connection().await?;
        let lost = |failure| self.failure(failure, connection.handle.is_closed());
        let mut worker = match connection.workers.take(&shell.become_user) {
            Some(worker) => worker,
            None => {
                let permit = self.permit(&connection).await?;
                Worker::start(&connection.handle, shell, permit)
                    .await
                    .map_err(lost)?
            }
        };
        match worker.run(script, stdin).await.map_err(lost)? {
            Ran::Done(out) => {
                connection.workers.put(worker);
                Ok(out)
            }
            Ran::Ended(out) => Ok(out),
        }
    }

    /// A free channel slot. Idle resident shells hold slots: when none is
    /// free, they are ended one by one before waiting for a running one.
    async fn permit(
        &self,
        connection: &Connection,
    ) -> Result<OwnedSemaphorePermit, TransportError> {
        loop {
            if let Ok(permit) = self.channels.clone().try_acquire_owned() {
                return Ok(permit);
            }
            if !connection.workers.retire_one() {
                break;
            }
        }
        // The semaphore is never closed, so acquiring only waits.
        self.channels
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| self.error(e.to_string()))
    }

    /// Runs `script` in the resident shell, or on a channel of its own when
    /// it is `alone`, has a time limit (the host's timeout(1) stops it and
    /// what it started) or more stdin than is sent to a resident shell.
    fn exec_on(
        &self,
        script: &str,
        stdin: &[u8],
        become_: Option<&Become>,
        limit: Option<Duration>,
        alone: bool,
    ) -> Result<ExecOutput, TransportError> {
        let s = &self.settings;
        // The sooner of `--command-timeout` and the caller's limit.
        let limit = match (s.command_timeout, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let password = s.become_password.as_ref();
        let resident = !alone && limit.is_none() && stdin.len() <= resident::MAX_STDIN;
        let (command, sent, mut out) = if resident {
            let shell = Command::new(resident::START, become_, &s.user, password);
            let out = block_on(self.run_resident(&shell, script, stdin))?;
            (shell, script.len() + stdin.len(), out)
        } else {
            let command = Command::new(script, become_, &s.user, password).within(limit);
            let out = block_on(self.run(&command, stdin, limit))?;
            let sent = command.sent_len(stdin);
            (command, sent, out)
        };
        self.counters
            .record(sent, out.stdout.len() + out.stderr.len());
        command::explain_sudo(&mut out, &command, &s.user, &s.target());
        Ok(out)
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
        limit: Option<Duration>,
    ) -> Result<ExecOutput, TransportError> {
        let fresh = Ssh::new(self.settings.clone());
        let out = fresh.exec_within(script, stdin, become_, limit);
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
        self.exec_on(script, stdin.unwrap_or_default(), become_, limit, false)
    }

    fn exec_alone(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: Option<&Become>,
        limit: Option<Duration>,
    ) -> Result<ExecOutput, TransportError> {
        self.exec_on(script, stdin.unwrap_or_default(), become_, limit, true)
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
