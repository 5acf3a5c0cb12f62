//! The vault flags → a keyring, the way Ansible builds its vault secrets:
//! `$ANSIBLE_VAULT_IDENTITY_LIST`, then each `--vault-id`, then each
//! `--vault-password-file` (and `$ANSIBLE_VAULT_PASSWORD_FILE`) as the
//! `default` id, then `--ask-vault-pass`. A password file that cannot be
//! read is a warning while another source works, as in Ansible.
//!
//! Vault passwords are not registered for redaction: they never become
//! variables, and masking a common word everywhere would garble messages.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::Error;
use crate::vault::{DEFAULT_ID, Keyring, VaultSecret, is_vault};

use super::args::VaultArgs;
use super::tty::ask_hidden;

/// What the keyring is for: reading needs no password until data needs
/// one; `tend vault` asks when none was given, twice when encrypting.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Read,
    VaultDecrypt,
    VaultEncrypt,
}

/// Where Ansible's `--ask-vault-pass` is recorded among the vault ids.
const ASK_VAULT_PASS: &str = "prompt_ask_vault_pass";

pub fn keyring(args: &VaultArgs, purpose: Purpose) -> Result<Keyring, Error> {
    let mut slugs: Vec<String> = std::env::var("ANSIBLE_VAULT_IDENTITY_LIST")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    slugs.extend(args.vault_ids.iter().cloned());
    let mut files: Vec<String> = args
        .vault_password_files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    if let Ok(file) = std::env::var("ANSIBLE_VAULT_PASSWORD_FILE") {
        if !file.is_empty() {
            files.push(file);
        }
    }
    slugs.extend(files.iter().map(|f| format!("{DEFAULT_ID}@{f}")));
    if args.ask_vault_pass || (slugs.is_empty() && purpose != Purpose::Read) {
        slugs.push(format!("{DEFAULT_ID}@{ASK_VAULT_PASS}"));
    }

    let mut keyring = Keyring::default();
    let mut errors = Vec::new();
    for slug in &slugs {
        let (label, source) = match slug.split_once('@') {
            Some((label, source)) => (label, source),
            None => (DEFAULT_ID, slug.as_str()),
        };
        let label = if label.is_empty() { DEFAULT_ID } else { label };
        let password = match source {
            "prompt" | ASK_VAULT_PASS => prompt(label, source == ASK_VAULT_PASS, purpose)?,
            file => match from_file(Path::new(file), label, &keyring) {
                Ok(password) => password,
                Err(e) => {
                    errors.push((label.to_string(), e));
                    continue;
                }
            },
        };
        keyring.push(VaultSecret::new(label, password));
    }
    match errors.pop() {
        Some((_, e)) if keyring.is_empty() => Err(e),
        last => {
            for (label, e) in errors.iter().chain(last.as_ref()) {
                eprintln!("[WARNING]: vault id '{label}': {e}");
            }
            Ok(keyring)
        }
    }
}

fn prompt(label: &str, ask_vault_pass: bool, purpose: Purpose) -> Result<Vec<u8>, Error> {
    let (first, confirm) = match (ask_vault_pass, purpose == Purpose::VaultEncrypt) {
        (true, false) => ("Vault password: ".to_string(), None),
        (true, true) => (
            "New Vault password: ".to_string(),
            Some("Confirm New Vault password: ".to_string()),
        ),
        (false, false) => (format!("Vault password ({label}): "), None),
        (false, true) => (
            format!("New vault password ({label}): "),
            Some(format!("Confirm new vault password ({label}): ")),
        ),
    };
    let ask = |text: &str| {
        ask_hidden(text).map_err(|e| {
            Error::plain(format!(
                "cannot ask for the vault password: {e}; give it with \
                 --vault-password-file FILE or --vault-id LABEL@FILE"
            ))
        })
    };
    let password = ask(&first)?.trim().to_string();
    if password.is_empty() {
        return Err(Error::plain("an empty vault password was given"));
    }
    if let Some(confirm) = confirm {
        if ask(&confirm)?.trim() != password {
            return Err(Error::plain("the vault passwords do not match"));
        }
    }
    Ok(password.into_bytes())
}

/// A password file's content, or what an executable one prints. The
/// content may itself be vaulted with a secret given earlier.
fn from_file(path: &Path, label: &str, known: &Keyring) -> Result<Vec<u8>, Error> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::plain(format!("the vault password file {shown} was not found"))
        }
        _ => Error::io(path, &e),
    })?;
    if meta.is_dir() {
        return Err(Error::plain(format!(
            "the vault password file {shown} is a directory"
        )));
    }
    if meta.permissions().mode() & 0o111 != 0 {
        return from_script(path, label);
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let mut password = bytes.trim_ascii().to_vec();
    if is_vault(&password) {
        let text = String::from_utf8_lossy(&password).into_owned();
        password = known
            .decrypt(&text)
            .map_err(|e| Error::plain(format!("the vault password file {shown}: {e}")))?;
    }
    let password = strip_newlines(&password);
    if password.is_empty() {
        return Err(Error::plain(format!(
            "the vault password file {shown} is empty"
        )));
    }
    Ok(password.to_vec())
}

/// Runs a password script. One named `*-client` (or `*-client.EXT`) is
/// told which vault id is wanted, as Ansible's client scripts are.
fn from_script(path: &Path, label: &str) -> Result<Vec<u8>, Error> {
    let shown = path.display();
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let client = stem.ends_with("-client");
    let mut command = Command::new(path);
    command.stdout(Stdio::piped());
    if client {
        command.args(["--vault-id", label]).stderr(Stdio::piped());
    }
    let mut child = command.spawn().map_err(|e| {
        Error::plain(format!(
            "could not run the vault password script {shown} ({e}); \
             if it is not a script, remove its executable bit"
        ))
    })?;
    let mut stdout = Vec::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let status = child
        .wait()
        .map_err(|e| Error::plain(format!("the vault password script {shown}: {e}")))?;
    if !status.success() {
        let code = status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| c.to_string());
        let detail = stderr.trim();
        return Err(Error::plain(if client && status.code() == Some(2) {
            format!(
                "the vault password client {shown} has no secret for vault id '{label}': {detail}"
            )
        } else {
            format!("the vault password script {shown} exited with {code}: {detail}")
        }));
    }
    let password = strip_newlines(&stdout);
    if password.is_empty() {
        return Err(Error::plain(format!(
            "the vault password script {shown} printed nothing"
        )));
    }
    Ok(password.to_vec())
}

/// Python's `bytes.strip(b'\r\n')`.
fn strip_newlines(bytes: &[u8]) -> &[u8] {
    let nl = |b: &u8| *b == b'\n' || *b == b'\r';
    let start = bytes.iter().position(|b| !nl(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !nl(b)).map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tend-vault-secrets-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn args(ids: &[&str], files: &[&Path]) -> VaultArgs {
        VaultArgs {
            vault_ids: ids.iter().map(|s| s.to_string()).collect(),
            vault_password_files: files.iter().map(|p| p.to_path_buf()).collect(),
            ask_vault_pass: false,
        }
    }

    #[test]
    fn files_scripts_and_labels() {
        let dir = scratch("sources");
        let file = dir.join("pw.txt");
        std::fs::write(&file, "  file-pass \n").unwrap();
        let script = dir.join("pw-client.sh");
        std::fs::write(&script, "#!/bin/sh\necho \"script-pass-$2\"\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let ring = keyring(
            &args(&[&format!("prod@{}", script.display())], &[&file]),
            Purpose::Read,
        )
        .unwrap();
        let got: Vec<(String, Vec<u8>)> = ring
            .secrets()
            .iter()
            .map(|s| (s.label.clone(), s.password().to_vec()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("prod".to_string(), b"script-pass-prod".to_vec()),
                ("default".to_string(), b"file-pass".to_vec()),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_file_is_an_error_only_when_nothing_else_works() {
        let dir = scratch("missing");
        let good = dir.join("good");
        std::fs::write(&good, "pw\n").unwrap();
        let missing = dir.join("missing");
        let err = keyring(&args(&[], &[&missing]), Purpose::Read).unwrap_err();
        assert!(err.to_string().contains("was not found"), "{err}");
        let ring = keyring(&args(&[], &[&missing, &good]), Purpose::Read).unwrap();
        assert_eq!(ring.secrets().len(), 1);
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = keyring(&args(&[], &[&empty]), Purpose::Read).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failing_script_says_so() {
        let dir = scratch("failing");
        let script = dir.join("pw.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 3\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = keyring(&args(&[], &[&script]), Purpose::Read).unwrap_err();
        assert!(err.to_string().contains("exited with 3"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn newlines_are_stripped_from_both_ends_only() {
        assert_eq!(strip_newlines(b"\r\na b\n\r\n"), b"a b");
        assert_eq!(strip_newlines(b"\n\n"), b"");
    }
}
