//! Opening one authenticated SSH connection: TCP (or a tunnel through a
//! jump host), key exchange with host key checking, then login. Each phase
//! has the connect timeout, and each failure says which phase and host.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::PublicKeyOrCertificate;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::timeout;

use super::settings::{HostKeyChecking, SshSettings};
use super::{auth, known_hosts};

/// russh's view of our side of the connection: it only has to judge the
/// server's host key.
pub(crate) struct Client {
    host: String,
    port: u16,
    checking: HostKeyChecking,
    known_hosts_files: Vec<std::path::PathBuf>,
}

/// Why a handshake failed: a refused host key keeps our message.
#[derive(Debug)]
pub(crate) enum ClientError {
    Ssh(russh::Error),
    HostKey(String),
}

impl From<russh::Error> for ClientError {
    fn from(e: russh::Error) -> Self {
        ClientError::Ssh(e)
    }
}

impl client::Handler for Client {
    type Error = ClientError;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, ClientError> {
        known_hosts::verify(
            self.checking,
            &self.host,
            self.port,
            &key.public_key(),
            &self.known_hosts_files,
        )
        .map(|()| true)
        .map_err(ClientError::HostKey)
    }
}

/// A logged-in connection, with the jump host connection it runs through
/// kept alive beside it.
pub(crate) struct Connection {
    pub handle: Handle<Client>,
    /// Resident shells waiting for their next script.
    pub workers: super::worker::Pool,
    _jump: Option<Box<Connection>>,
}

/// Why one attempt to connect failed, and whether another may succeed.
struct Failed {
    message: String,
    /// The server dropped a connection it had accepted (reset, closed
    /// before the key exchange ended): what a busy sshd does past its
    /// `MaxStartups` or listen backlog.
    transient: bool,
}

impl From<String> for Failed {
    fn from(message: String) -> Self {
        Failed {
            message,
            transient: false,
        }
    }
}

/// Attempts per connection when the server drops it during the handshake.
const ATTEMPTS: u32 = 3;

/// Handshakes at once in the whole process. A thousand hosts at once are
/// a thundering herd: for the controller's CPU, and for a server that
/// stands for many hosts (a bastion, the benchmark's scale host), whose
/// sshd drops what it cannot take.
const HANDSHAKES: usize = 128;

fn handshakes() -> &'static Semaphore {
    static LIMIT: OnceLock<Semaphore> = OnceLock::new();
    LIMIT.get_or_init(|| Semaphore::new(HANDSHAKES))
}

/// Connects and logs in, trying again when the server drops the
/// connection during the handshake. Boxed because a jump host is
/// connected the same way, recursively.
pub(crate) fn connect(
    s: &SshSettings,
) -> Pin<Box<dyn Future<Output = Result<Connection, String>> + Send + '_>> {
    Box::pin(async move {
        let mut attempt = 1;
        loop {
            match connect_once(s).await {
                Ok(connection) => return Ok(connection),
                Err(failed) if failed.transient && attempt < ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(failed) if failed.transient => {
                    return Err(format!(
                        "{} ({ATTEMPTS} attempts; the server drops connections: is its sshd's \
                         MaxStartups too low for this many hosts at once?)",
                        failed.message
                    ));
                }
                Err(failed) => return Err(failed.message),
            }
        }
    })
}

/// 100 ms, then 200 ms..., and up to 100 ms more at random, so that
/// connections dropped together do not come back together.
fn backoff(attempt: u32) -> Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    Duration::from_millis((100 << (attempt - 1)) + u64::from(byte[0]) * 100 / 255)
}

async fn connect_once(s: &SshSettings) -> Result<Connection, Failed> {
    let within = format!("within {:?}", s.connect_timeout);
    // Held to the end of the login (only for direct connections: a jump
    // host's own connect takes one, and holding two could deadlock).
    let mut _permit = None;
    let (mut handle, jump) = match &s.proxy_jump {
        None => {
            // The semaphore is never closed, so acquiring only waits.
            _permit = handshakes().acquire().await.ok();
            let tcp = timeout(
                s.connect_timeout,
                TcpStream::connect((s.host.as_str(), s.port)),
            )
            .await
            .map_err(|_| {
                format!(
                    "cannot reach {}: no answer {within} (host down or port filtered?)",
                    s.target()
                )
            })?
            .map_err(|e| Failed {
                message: unreachable(s, &e),
                transient: e.kind() == std::io::ErrorKind::ConnectionReset,
            })?;
            // Scripts are small request/response exchanges: do not let
            // Nagle's algorithm hold them back.
            let _ = tcp.set_nodelay(true);
            (handshake(s, tcp).await?, None)
        }
        Some(hop) => {
            let jump = connect(hop).await.map_err(|e| {
                format!(
                    "cannot reach {} through jump host {}: {e}",
                    s.target(),
                    hop.name
                )
            })?;
            let tunnel = timeout(
                s.connect_timeout,
                jump.handle.channel_open_direct_tcpip(
                    s.host.clone(),
                    u32::from(s.port),
                    "127.0.0.1",
                    0,
                ),
            )
            .await
            .map_err(|_| {
                format!(
                    "cannot reach {}: jump host {} did not open a tunnel {within}",
                    s.target(),
                    hop.name
                )
            })?
            .map_err(|e| {
                format!(
                    "cannot reach {}: jump host {} could not connect to it: {e}",
                    s.target(),
                    hop.name
                )
            })?;
            (
                handshake(s, tunnel.into_stream()).await?,
                Some(Box::new(jump)),
            )
        }
    };
    timeout(s.connect_timeout, auth::authenticate(&mut handle, s))
        .await
        .map_err(|_| {
            format!(
                "cannot log in to {} as {}: no answer {within}",
                s.target(),
                s.user
            )
        })??;
    Ok(Connection {
        handle,
        workers: Default::default(),
        _jump: jump,
    })
}

async fn handshake<S>(s: &SshSettings, stream: S) -> Result<Handle<Client>, Failed>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let client = Client {
        host: s.host.clone(),
        port: s.port,
        checking: s.host_key_checking,
        known_hosts_files: s.known_hosts_files.clone(),
    };
    match timeout(
        s.connect_timeout,
        client::connect_stream(client_config(s), stream, client),
    )
    .await
    {
        Err(_) => Err(Failed::from(format!(
            "cannot connect to {}: no SSH handshake within {:?}",
            s.target(),
            s.connect_timeout
        ))),
        Ok(Err(ClientError::HostKey(message))) => Err(Failed::from(format!(
            "cannot connect to {}: {message}",
            s.target()
        ))),
        Ok(Err(ClientError::Ssh(e))) => Err(Failed {
            transient: dropped(&e),
            message: format!(
                "cannot connect to {}: SSH handshake failed: {e}",
                s.target()
            ),
        }),
        Ok(Ok(handle)) => Ok(handle),
    }
}

/// Whether the server dropped the connection mid-handshake.
fn dropped(e: &russh::Error) -> bool {
    use std::io::ErrorKind::*;
    match e {
        russh::Error::HUP | russh::Error::Disconnect => true,
        russh::Error::IO(io) => matches!(
            io.kind(),
            ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe
        ),
        _ => false,
    }
}

fn client_config(s: &SshSettings) -> Arc<client::Config> {
    let mut config = client::Config {
        keepalive_interval: s.keepalive_interval,
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    };
    if s.host_key_checking != HostKeyChecking::Off {
        let known = known_hosts::known_types(&s.host, s.port, &s.known_hosts_files);
        if !known.is_empty() {
            config.preferred.key =
                Cow::Owned(known_hosts::prefer_known(&config.preferred.key, &known));
        }
    }
    Arc::new(config)
}

fn unreachable(s: &SshSettings, e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    let why = match e.kind() {
        ConnectionRefused => format!("connection refused (is sshd listening on port {}?)", s.port),
        HostUnreachable => "no route to host".to_string(),
        NetworkUnreachable => "network unreachable".to_string(),
        TimedOut => "connection timed out".to_string(),
        _ if e.to_string().contains("lookup") => {
            format!("cannot resolve host name '{}': {e}", s.host)
        }
        _ => e.to_string(),
    };
    format!("cannot reach {}: {why}", s.target())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_connection_the_server_dropped_is_tried_again() {
        let io = |kind| russh::Error::IO(std::io::Error::from(kind));
        assert!(dropped(&io(std::io::ErrorKind::ConnectionReset)));
        assert!(dropped(&io(std::io::ErrorKind::UnexpectedEof)));
        assert!(dropped(&russh::Error::HUP));
        assert!(!dropped(&io(std::io::ErrorKind::PermissionDenied)));
        assert!(!dropped(&russh::Error::Version));
    }

    #[test]
    fn attempts_back_off_with_some_randomness() {
        for attempt in 1..ATTEMPTS {
            let base = Duration::from_millis(100 << (attempt - 1));
            let wait = backoff(attempt);
            assert!(wait >= base && wait <= base + Duration::from_millis(100));
        }
    }
}
