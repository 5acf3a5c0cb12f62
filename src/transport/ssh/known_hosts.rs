//! Host key checking: is the key a server presents the one we know for it?
//! Looking up is separate from deciding so the policy (strict, accept-new,
//! off) is tested without a server. Entries are read with russh's parser,
//! which knows hashed names and `[host]:port` but not wildcards or
//! `@cert-authority` lines.

use std::path::{Path, PathBuf};

use russh::keys::known_hosts::{known_host_keys_path, learn_known_hosts_path};
use russh::keys::{Algorithm, HashAlg, PublicKey};

use super::settings::HostKeyChecking;

/// What the known_hosts files say about a key.
#[derive(Debug, PartialEq)]
pub(crate) enum Lookup {
    Known,
    /// A key of the same type is recorded for the host, and it differs.
    Changed {
        file: PathBuf,
        line: usize,
    },
    /// Nothing of this type is recorded; `other_types` lists the types that are.
    Unknown {
        other_types: Vec<String>,
    },
}

/// What to do with the connection.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    Accept,
    /// Accept and append the key to this file.
    Learn(PathBuf),
    Reject(String),
}

/// Looks `key` up for `host`:`port` in every file; a matching entry anywhere
/// wins over a mismatching one, since a host may list several keys.
pub(crate) fn lookup(
    host: &str,
    port: u16,
    key: &PublicKey,
    files: &[PathBuf],
) -> Result<Lookup, String> {
    let mut changed = None;
    let mut other_types = Vec::new();
    for file in files {
        let entries = known_host_keys_path(host, port, file)
            .map_err(|e| format!("cannot read known_hosts file {}: {e}", file.display()))?;
        for (line, recorded) in entries {
            if recorded.algorithm() != key.algorithm() {
                other_types.push(recorded.algorithm().to_string());
            } else if recorded.key_data() == key.key_data() {
                return Ok(Lookup::Known);
            } else if changed.is_none() {
                changed = Some(Lookup::Changed {
                    file: file.clone(),
                    line,
                });
            }
        }
    }
    Ok(changed.unwrap_or(Lookup::Unknown { other_types }))
}

/// Applies the policy. `host` and `port` are the address connected to,
/// `files` the known_hosts files (the first one learns new keys).
pub(crate) fn decide(
    mode: HostKeyChecking,
    lookup: &Lookup,
    host: &str,
    port: u16,
    key: &PublicKey,
    files: &[PathBuf],
) -> Verdict {
    let fingerprint = format!(
        "{} key {}",
        key.algorithm(),
        key.fingerprint(HashAlg::Sha256)
    );
    let entry = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    let first_file = files.first().map_or_else(
        || "~/.ssh/known_hosts".to_string(),
        |f| f.display().to_string(),
    );
    match (mode, lookup) {
        (HostKeyChecking::Off, _) | (_, Lookup::Known) => Verdict::Accept,
        (_, Lookup::Changed { file, line }) => Verdict::Reject(format!(
            "the host key of {entry} has CHANGED: possible man-in-the-middle attack! \
             The server presented {fingerprint}, but {} line {line} records a different one. \
             If the host was really reinstalled, remove the old key with \
             `ssh-keygen -R '{entry}' -f {}` and connect again",
            file.display(),
            file.display()
        )),
        (HostKeyChecking::AcceptNew, Lookup::Unknown { .. }) => match files.first() {
            Some(file) => Verdict::Learn(file.clone()),
            None => Verdict::Accept,
        },
        (HostKeyChecking::Strict, Lookup::Unknown { other_types }) => {
            let searched = files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let others = if other_types.is_empty() {
                String::new()
            } else {
                format!(
                    " (only a {} key is recorded for it)",
                    other_types.join(", ")
                )
            };
            Verdict::Reject(format!(
                "the host key of {entry} is not known{others}: the server presented {fingerprint}, \
                 which is not in {searched}. After checking the fingerprint, trust it with \
                 `ssh-keyscan -p {port} {host} >> {first_file}`, \
                 or run with `--host-key-checking accept-new` to learn keys of new hosts"
            ))
        }
    }
}

/// Looks up, decides and learns: `Err` carries the message for the user.
pub(crate) fn verify(
    mode: HostKeyChecking,
    host: &str,
    port: u16,
    key: &PublicKey,
    files: &[PathBuf],
) -> Result<(), String> {
    if mode == HostKeyChecking::Off {
        return Ok(());
    }
    let found = lookup(host, port, key, files)?;
    match decide(mode, &found, host, port, key, files) {
        Verdict::Accept => Ok(()),
        Verdict::Reject(message) => Err(message),
        Verdict::Learn(file) => learn(host, port, key, &file),
    }
}

fn learn(host: &str, port: u16, key: &PublicKey, file: &Path) -> Result<(), String> {
    // Like OpenSSH, a key that cannot be recorded still lets this run go on:
    // it was accepted by policy, it just will not be remembered.
    if let Err(e) = learn_known_hosts_path(host, port, key, file) {
        eprintln!(
            "warning: could not add the host key of {host}:{port} to {}: {e}",
            file.display()
        );
    }
    Ok(())
}

/// The key types known for a host, so the client can ask for one of those
/// first (as OpenSSH does) instead of tripping over a key type we never saw.
pub(crate) fn known_types(host: &str, port: u16, files: &[PathBuf]) -> Vec<Algorithm> {
    let mut types: Vec<Algorithm> = Vec::new();
    for file in files {
        for (_, key) in known_host_keys_path(host, port, file).unwrap_or_default() {
            if !types.contains(&key.algorithm()) {
                types.push(key.algorithm());
            }
        }
    }
    types
}

/// Moves the algorithms of `known` to the front of `preferred`, keeping
/// the order otherwise. RSA keys match every `rsa-sha2-*` signature type.
pub(crate) fn prefer_known(preferred: &[Algorithm], known: &[Algorithm]) -> Vec<Algorithm> {
    let rsa = |a: &Algorithm| matches!(a, Algorithm::Rsa { .. });
    let is_known = |a: &Algorithm| known.iter().any(|k| k == a || (rsa(k) && rsa(a)));
    let (mut first, rest): (Vec<_>, Vec<_>) = preferred.iter().cloned().partition(is_known);
    first.extend(rest);
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOBHMG8wqfLFqZrA/ROVOt0NJvtc2GqB+5kGnD5xcR/v";
    const KEY2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIKmGZAKUFGszPa1kSkmhvWbS0GrvuEXY6iKMhURRSTxz";
    const ECDSA: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJQ3OFxAAQNM6bA0RGC2WVqP7N0qar0P7+l54kxCzZ0V4n7SFj4mITOEFzk/sRtn8j1yndKehOl8x1xu8h1CJa4=";
    /// `[web]:2222 ssh-ed25519 KEY1`, hashed by `ssh-keygen -H`.
    const HASHED: &str = "|1|p+3zsJugsvuDfWuK/XlfEEwBEiQ=|V8fLsEeCb2lfg8gfRy57xMEuKfg= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOBHMG8wqfLFqZrA/ROVOt0NJvtc2GqB+5kGnD5xcR/v";

    fn key(base64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(base64).unwrap()
    }

    fn files(contents: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = contents
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.path().join(format!("known_hosts{i}"));
                std::fs::write(&path, text).unwrap();
                path
            })
            .collect();
        (dir, paths)
    }

    #[test]
    fn plain_hashed_and_bracketed_entries_are_found() {
        let (_dir, f) = files(&[
            &format!("# comment\nweb ssh-ed25519 {KEY1}\n[db]:2200 ssh-ed25519 {KEY2}\n"),
            HASHED,
        ]);
        assert_eq!(lookup("web", 22, &key(KEY1), &f).unwrap(), Lookup::Known);
        assert_eq!(lookup("db", 2200, &key(KEY2), &f).unwrap(), Lookup::Known);
        assert_eq!(lookup("web", 2222, &key(KEY1), &f).unwrap(), Lookup::Known);
        assert_eq!(
            lookup("db", 22, &key(KEY2), &f).unwrap(),
            Lookup::Unknown {
                other_types: vec![]
            }
        );
    }

    #[test]
    fn a_different_key_of_the_same_type_is_a_change_unless_another_line_matches() {
        let (_dir, f) = files(&[
            &format!("web ssh-ed25519 {KEY2}\n"),
            &format!("web ssh-ed25519 {KEY1}\n"),
        ]);
        assert_eq!(lookup("web", 22, &key(KEY1), &f).unwrap(), Lookup::Known);
        let found = lookup("web", 22, &key(KEY1), &f[..1]).unwrap();
        assert_eq!(
            found,
            Lookup::Changed {
                file: f[0].clone(),
                line: 1
            }
        );
    }

    #[test]
    fn a_changed_key_is_refused_loudly_in_every_checking_mode_but_off() {
        let changed = Lookup::Changed {
            file: "/k".into(),
            line: 3,
        };
        for mode in [HostKeyChecking::Strict, HostKeyChecking::AcceptNew] {
            let Verdict::Reject(msg) = decide(mode, &changed, "web", 2222, &key(KEY1), &[]) else {
                panic!("accepted a changed key")
            };
            assert!(
                msg.contains("possible man-in-the-middle attack") && msg.contains("/k line 3"),
                "{msg}"
            );
            assert!(msg.contains("ssh-keygen -R '[web]:2222'"), "{msg}");
        }
        assert_eq!(
            decide(HostKeyChecking::Off, &changed, "web", 22, &key(KEY1), &[]),
            Verdict::Accept
        );
    }

    #[test]
    fn an_unknown_host_says_how_to_trust_it_or_is_learned() {
        let unknown = Lookup::Unknown {
            other_types: vec!["ecdsa-sha2-nistp256".into()],
        };
        let f = vec![PathBuf::from("/home/u/.ssh/known_hosts")];
        let Verdict::Reject(msg) = decide(
            HostKeyChecking::Strict,
            &unknown,
            "web",
            2222,
            &key(KEY1),
            &f,
        ) else {
            panic!("accepted an unknown key")
        };
        assert!(
            msg.contains("ssh-keyscan -p 2222 web >> /home/u/.ssh/known_hosts"),
            "{msg}"
        );
        assert!(
            msg.contains("accept-new") && msg.contains("SHA256:") && msg.contains("ecdsa"),
            "{msg}"
        );
        assert_eq!(
            decide(
                HostKeyChecking::AcceptNew,
                &unknown,
                "web",
                22,
                &key(KEY1),
                &f
            ),
            Verdict::Learn(f[0].clone())
        );
    }

    #[test]
    fn accept_new_appends_and_then_knows_the_key() {
        let (_dir, f) = files(&[""]);
        verify(HostKeyChecking::AcceptNew, "web", 2222, &key(KEY1), &f).unwrap();
        assert_eq!(lookup("web", 2222, &key(KEY1), &f).unwrap(), Lookup::Known);
        assert!(verify(HostKeyChecking::AcceptNew, "web", 2222, &key(KEY2), &f).is_err());
        assert!(verify(HostKeyChecking::Strict, "other", 22, &key(KEY1), &f).is_err());
    }

    #[test]
    fn known_types_go_first_in_the_preference() {
        let (_dir, f) = files(&[&format!("web ecdsa-sha2-nistp256 {ECDSA}\n")]);
        let known = known_types("web", 22, &f);
        let preferred = [
            Algorithm::Ed25519,
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            key(ECDSA).algorithm(),
        ];
        let ordered = prefer_known(&preferred, &known);
        assert_eq!(
            ordered,
            [
                preferred[2].clone(),
                preferred[0].clone(),
                preferred[1].clone()
            ]
        );
        let rsa_first = prefer_known(&preferred, &[Algorithm::Rsa { hash: None }]);
        assert_eq!(rsa_first[0], preferred[1]);
    }
}
