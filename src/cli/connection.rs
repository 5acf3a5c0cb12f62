//! Connection flags → the engine's connection options: the host key
//! policy (flag, then `tend.cfg`/`ansible.cfg`), passphrases and the
//! become password (from files or a prompt; never echoed or logged).

use std::path::Path;

use crate::engine::ConnectionOptions;
use crate::error::Error;
use crate::transport::{HostKeyChecking, Secret};

use super::args::ConnectionArgs;

pub fn options(args: &ConnectionArgs) -> Result<ConnectionOptions, Error> {
    let policy = match &args.host_key_checking {
        Some(text) => Some(parse_policy(text)?),
        None => config_policy()?,
    };
    if policy == Some(HostKeyChecking::Off) {
        eprintln!(
            "[WARNING]: host key checking is off: tend cannot tell a host from an impostor. Use --host-key-checking accept-new to learn keys safely."
        );
    }
    let become_password = match (&args.become_password_file, args.ask_become_pass) {
        (Some(file), _) => Some(read_secret(file)?),
        (None, true) => Some(prompt("BECOME password: ")?),
        (None, false) => None,
    };
    if let Some(password) = &become_password {
        // Kept out of every output, as vault values are.
        crate::redact::register(password.expose());
    }
    Ok(ConnectionOptions {
        ssh_config: args.ssh_config.clone(),
        host_key_checking: policy,
        key_passphrase: args
            .private_key_passphrase_file
            .as_deref()
            .map(read_secret)
            .transpose()?,
        become_password,
        command_timeout: args.command_timeout,
    })
}

fn parse_policy(text: &str) -> Result<HostKeyChecking, Error> {
    HostKeyChecking::parse(text).ok_or_else(|| {
        Error::plain(format!(
            "--host-key-checking {text}: use strict, accept-new or off"
        ))
    })
}

/// `host_key_checking` from `[defaults]` of `./tend.cfg` or `./ansible.cfg`.
fn config_policy() -> Result<Option<HostKeyChecking>, Error> {
    for file in ["tend.cfg", "ansible.cfg"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let mut in_defaults = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_defaults = line == "[defaults]";
            } else if let Some((k, v)) = line.split_once('=') {
                if in_defaults && k.trim() == "host_key_checking" {
                    return HostKeyChecking::parse(v.trim()).map(Some).ok_or_else(|| {
                        Error::plain(format!(
                            "{file}: host_key_checking = {}: use strict, accept-new or off",
                            v.trim()
                        ))
                    });
                }
            }
        }
    }
    Ok(None)
}

fn read_secret(path: &Path) -> Result<Secret, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

/// Reads a line from the terminal with echo off.
fn prompt(label: &str) -> Result<Secret, Error> {
    super::vault::ask_hidden(label)
        .map(|line| Secret::new(&line))
        .map_err(|e| {
            Error::plain(format!(
                "cannot ask for the password: {e}; use --become-password-file"
            ))
        })
}
