//! Public key authentication, in OpenSSH's spirit: the keys named for the
//! host first, then the ssh-agent's, then the default `~/.ssh/id_*` files.
//! Every attempt is remembered so that a refusal says what was tried; a key
//! already offered is not offered twice (servers count attempts).

use std::path::Path;
use std::sync::Arc;

use russh::client::{AuthResult, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};

use super::session::Client;
use super::settings::SshSettings;

/// The attempts so far, for the error message.
struct Attempts<'a> {
    handle: &'a mut Handle<Client>,
    settings: &'a SshSettings,
    tried: Vec<String>,
    offered: Vec<PublicKey>,
    /// Asked once, only when an RSA key comes up: the question can cost a
    /// second of waiting for the server's extension list.
    rsa_hash: Option<Option<HashAlg>>,
}

/// Logs in as `settings.user`; `Err` names the user, host and every method
/// tried with its outcome.
pub(crate) async fn authenticate(
    handle: &mut Handle<Client>,
    settings: &SshSettings,
) -> Result<(), String> {
    let mut a = Attempts {
        handle,
        settings,
        tried: Vec::new(),
        offered: Vec::new(),
        rsa_hash: None,
    };
    for path in &settings.identity_files {
        if a.key_file(path, true).await? {
            return Ok(());
        }
    }
    if settings.use_agent && a.agent().await? {
        return Ok(());
    }
    for path in &settings.default_identity_files {
        if !settings.identity_files.contains(path) && a.key_file(path, false).await? {
            return Ok(());
        }
    }
    let tried = if a.tried.is_empty() {
        "no key to offer: no identity file is set for the host, \
         no ssh-agent is running ($SSH_AUTH_SOCK) \
         and there is no ~/.ssh/id_ed25519, id_ecdsa or id_rsa"
            .to_string()
    } else {
        format!("tried {}", a.tried.join("; "))
    };
    Err(format!(
        "cannot log in to {} as {}: permission denied; {tried}",
        settings.target(),
        settings.user
    ))
}

impl Attempts<'_> {
    /// `Ok(true)` when logged in. A default key file that does not exist is
    /// skipped silently; a named one that does not exist is reported.
    async fn key_file(&mut self, path: &Path, named: bool) -> Result<bool, String> {
        if !named && !path.exists() {
            return Ok(false);
        }
        let passphrase = self.settings.key_passphrase.as_ref().map(|s| s.expose());
        let loaded = match russh::keys::load_secret_key(path, passphrase) {
            // Asked once per key for the whole run, when a terminal is there.
            Err(russh::keys::Error::KeyIsEncrypted) if passphrase.is_none() => {
                match prompted_passphrase(path) {
                    Some(p) => russh::keys::load_secret_key(path, Some(&p)),
                    None => Err(russh::keys::Error::KeyIsEncrypted),
                }
            }
            other => other,
        };
        let key = match loaded {
            Ok(key) => key,
            Err(e) => {
                let why = match e {
                    russh::keys::Error::KeyIsEncrypted => {
                        "is encrypted and no passphrase was given (use --private-key-passphrase-file, or add it to ssh-agent)".into()
                    }
                    russh::keys::Error::IO(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        "does not exist".into()
                    }
                    e => format!("could not be read: {e}"),
                };
                self.tried.push(format!("key {} {why}", path.display()));
                return Ok(false);
            }
        };
        let public = key.public_key().clone();
        if self.offered.contains(&public) {
            return Ok(false);
        }
        let hash = if key.algorithm().is_rsa() {
            self.rsa_hash().await
        } else {
            None
        };
        let result = self
            .handle
            .authenticate_publickey(
                self.settings.user.clone(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await;
        self.outcome(
            format!("key {}", path.display()),
            public,
            result.map_err(|e| e.to_string()),
        )
    }

    /// Offers each key the agent holds. `Ok(true)` when logged in.
    async fn agent(&mut self) -> Result<bool, String> {
        let socket = match std::env::var("SSH_AUTH_SOCK") {
            Ok(s) if !s.is_empty() => s,
            _ => return Ok(false),
        };
        let mut agent = match AgentClient::connect_uds(&socket).await {
            Ok(agent) => agent,
            Err(e) => {
                self.tried
                    .push(format!("ssh-agent at {socket} (cannot connect: {e})"));
                return Ok(false);
            }
        };
        if let Some(binding) = self.handle.agent_session_binding() {
            // Needed for destination-constrained keys; older agents refuse
            // the extension, which changes nothing for plain keys.
            let _ = agent.bind_session(binding, false).await;
        }
        let identities = match agent.request_identities().await {
            Ok(ids) => ids,
            Err(e) => {
                self.tried
                    .push(format!("ssh-agent at {socket} (cannot list keys: {e})"));
                return Ok(false);
            }
        };
        if identities.is_empty() {
            self.tried.push("ssh-agent (holds no keys)".into());
        }
        for identity in identities {
            // Certificates would need the certificate flow; plain keys are
            // what agents hold for configuration management.
            let AgentIdentity::PublicKey { key, comment } = identity else {
                continue;
            };
            if self.offered.contains(&key) {
                continue;
            }
            let hash = if key.algorithm().is_rsa() {
                self.rsa_hash().await
            } else {
                None
            };
            let label = format!(
                "ssh-agent key {}",
                if comment.is_empty() {
                    key.algorithm().to_string()
                } else {
                    comment
                }
            );
            let result = self
                .handle
                .authenticate_publickey_with(
                    self.settings.user.clone(),
                    key.clone(),
                    hash,
                    &mut agent,
                )
                .await
                .map_err(|e| format!("the agent could not sign: {e}"));
            if self.outcome(label, key, result)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Records one attempt. A server that hung up (too many attempts, or
    /// gone) ends the whole login with what was tried so far.
    fn outcome(
        &mut self,
        label: String,
        key: PublicKey,
        result: Result<AuthResult, String>,
    ) -> Result<bool, String> {
        self.offered.push(key);
        match result {
            Ok(AuthResult::Success) => Ok(true),
            Ok(AuthResult::Failure {
                partial_success: true,
                ..
            }) => {
                self.tried.push(format!(
                    "{label} (accepted, but the server wants a second factor)"
                ));
                Ok(false)
            }
            Ok(AuthResult::Failure { .. }) if !self.handle.is_closed() => {
                self.tried.push(format!("{label} (refused)"));
                Ok(false)
            }
            Ok(AuthResult::Failure { .. }) => {
                self.tried.push(format!(
                    "{label} (the server closed the connection: too many attempts?)"
                ));
                Err(self.closed())
            }
            Err(e) => {
                self.tried.push(format!("{label} ({e})"));
                if self.handle.is_closed() {
                    Err(self.closed())
                } else {
                    Ok(false)
                }
            }
        }
    }

    fn closed(&self) -> String {
        format!(
            "cannot log in to {} as {}: the server closed the connection; tried {}",
            self.settings.target(),
            self.settings.user,
            self.tried.join("; ")
        )
    }

    async fn rsa_hash(&mut self) -> Option<HashAlg> {
        if self.rsa_hash.is_none() {
            // A server that does not say (no server-sig-algs) gets SHA-256,
            // which every OpenSSH since 7.2 accepts.
            let best = match self.handle.best_supported_rsa_hash().await {
                Ok(Some(best)) => best,
                Ok(None) | Err(_) => Some(HashAlg::Sha256),
            };
            self.rsa_hash = Some(best);
        }
        self.rsa_hash.flatten()
    }
}

/// The passphrase of an encrypted key, asked on the terminal once per key
/// for the whole run (hosts connect in parallel: one asks, the others wait
/// for the answer). `None` without a terminal.
fn prompted_passphrase(path: &Path) -> Option<String> {
    use std::collections::HashMap;
    use std::io::{BufRead, IsTerminal, Write};
    use std::sync::Mutex;
    static ASKED: Mutex<Option<HashMap<std::path::PathBuf, Option<String>>>> = Mutex::new(None);
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let mut asked = ASKED.lock().unwrap_or_else(|e| e.into_inner());
    let cache = asked.get_or_insert_with(HashMap::new);
    if let Some(answer) = cache.get(path) {
        return answer.clone();
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let stty = |arg: &str| {
        let _ = std::process::Command::new("stty")
            .arg(arg)
            .stdin(tty.try_clone().ok()?)
            .status();
        Some(())
    };
    let mut out = &tty;
    let _ = write!(out, "Enter passphrase for key '{}': ", path.display());
    let _ = out.flush();
    stty("-echo");
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    stty("echo");
    let _ = writeln!(out);
    let answer = read
        .ok()
        .map(|_| line.trim_end_matches(['\n', '\r']).to_string());
    cache.insert(path.to_path_buf(), answer.clone());
    answer
}
