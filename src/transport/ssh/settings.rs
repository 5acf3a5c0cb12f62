//! How to reach one host over SSH: the typed result of merging a host's
//! inventory variables with `~/.ssh/config` (see `config.rs`). Everything the
//! connection needs is here, so connecting never reads a config file again.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// What to do with the host key the server presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyChecking {
    /// The key must already be in a known_hosts file (the default).
    #[default]
    Strict,
    /// Learn the key of a host seen for the first time (appending it to the
    /// first known_hosts file); still refuse a key that changed.
    AcceptNew,
    /// Accept any key. The caller should warn: this allows a
    /// man-in-the-middle.
    Off,
}

impl HostKeyChecking {
    /// Reads the spellings of OpenSSH's `StrictHostKeyChecking`, Ansible's
    /// `host_key_checking` booleans and tend's `--host-key-checking` flag.
    pub fn parse(text: &str) -> Option<HostKeyChecking> {
        match text.trim().to_ascii_lowercase().as_str() {
            "strict" | "yes" | "ask" | "true" | "on" | "1" => Some(HostKeyChecking::Strict),
            "accept-new" | "accept_new" => Some(HostKeyChecking::AcceptNew),
            "off" | "no" | "false" | "0" => Some(HostKeyChecking::Off),
            _ => None,
        }
    }
}

/// A password or passphrase: kept out of `Debug` output and error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Connection settings of one host (or of a jump host on the way to it).
#[derive(Debug, Clone, PartialEq)]
pub struct SshSettings {
    /// The inventory name, used in messages.
    pub name: String,
    /// The address to connect to (after `ansible_host` and `HostName`).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Private keys to try first, in order, before ssh-agent and the
    /// default `~/.ssh/id_*` files.
    pub identity_files: Vec<PathBuf>,
    /// Passphrase for encrypted private keys.
    pub key_passphrase: Option<Secret>,
    /// Also try the keys of the ssh-agent at `$SSH_AUTH_SOCK`.
    pub use_agent: bool,
    /// Also try `~/.ssh/id_ed25519`, `id_ecdsa` and `id_rsa` (in that order).
    pub default_identity_files: Vec<PathBuf>,
    /// Where host keys are looked up; a newly accepted key is appended to the
    /// first one.
    pub known_hosts_files: Vec<PathBuf>,
    pub host_key_checking: HostKeyChecking,
    /// Limit for TCP connect, key exchange and authentication, each.
    pub connect_timeout: Duration,
    /// Limit for one script; `None` waits as long as it takes.
    pub command_timeout: Option<Duration>,
    /// Send a keepalive after this much silence from the server; three
    /// unanswered keepalives drop the connection.
    pub keepalive_interval: Option<Duration>,
    /// Reach the host through this jump host (which may itself have one).
    pub proxy_jump: Option<Box<SshSettings>>,
    /// Sent to `sudo -S` when a script runs with `become`.
    pub become_password: Option<Secret>,
    /// Concurrent exec channels on the connection. OpenSSH refuses the
    /// 11th session by default (`MaxSessions 10`).
    pub max_channels: usize,
}

/// Default number of concurrent channels: below OpenSSH's `MaxSessions 10`
/// with room for a second client of the same user.
pub const DEFAULT_MAX_CHANNELS: usize = 8;
/// Ansible's default `timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);

impl SshSettings {
    /// Settings with tend's defaults for `user@host:port`, no config read.
    /// `home` is where `~/.ssh` is looked for.
    pub fn new(
        name: &str,
        host: &str,
        port: u16,
        user: &str,
        home: Option<&std::path::Path>,
    ) -> SshSettings {
        let ssh_dir = home.map(|h| h.join(".ssh"));
        let in_ssh_dir = |file: &str| ssh_dir.iter().map(|d| d.join(file)).collect::<Vec<_>>();
        let mut known_hosts_files = in_ssh_dir("known_hosts");
        known_hosts_files.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
        SshSettings {
            name: name.to_string(),
            host: host.to_string(),
            port,
            user: user.to_string(),
            identity_files: Vec::new(),
            key_passphrase: None,
            use_agent: true,
            default_identity_files: ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .flat_map(|f| in_ssh_dir(f))
                .collect(),
            known_hosts_files,
            host_key_checking: HostKeyChecking::Strict,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            command_timeout: None,
            keepalive_interval: Some(DEFAULT_KEEPALIVE),
            proxy_jump: None,
            become_password: None,
            max_channels: DEFAULT_MAX_CHANNELS,
        }
    }

    /// `user@host:port`, for messages; names the inventory host too when the
    /// address differs.
    pub fn target(&self) -> String {
        let address = format!("{}@{}:{}", self.user, self.host, self.port);
        if self.name.is_empty() || self.name == self.host {
            address
        } else {
            format!("{} ({address})", self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let mut s = SshSettings::new("web1", "10.0.0.5", 22, "deploy", None);
        s.become_password = Some(Secret::new("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn host_key_checking_spellings() {
        assert_eq!(
            HostKeyChecking::parse("accept-new"),
            Some(HostKeyChecking::AcceptNew)
        );
        assert_eq!(HostKeyChecking::parse("False"), Some(HostKeyChecking::Off));
        assert_eq!(HostKeyChecking::parse("ask"), Some(HostKeyChecking::Strict));
        assert_eq!(HostKeyChecking::parse("maybe"), None);
    }

    #[test]
    fn target_names_the_inventory_host_when_the_address_differs() {
        assert_eq!(
            SshSettings::new("web1", "10.0.0.5", 22, "deploy", None).target(),
            "web1 (deploy@10.0.0.5:22)"
        );
        assert_eq!(
            SshSettings::new("10.0.0.5", "10.0.0.5", 2222, "u", None).target(),
            "u@10.0.0.5:2222"
        );
    }
}
