//! `tend vault encrypt | decrypt | view | encrypt_string`, for those who
//! do not have ansible-vault; and `unlock`, which gives every playbook
//! command the vault secrets of its flags before any file is read.

mod args;
mod files;
mod secrets;
mod tty;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub use args::{VaultArgs, VaultCommand};
pub use tty::ask_hidden;

use crate::error::Error;
use crate::vault::{Keyring, is_vault};
use args::{DecryptArgs, EncryptArgs, EncryptStringArgs, VaultAction, ViewArgs};
use secrets::Purpose;

/// Reads the vault secrets the flags name (files, scripts, prompts) and
/// installs them for every file this process reads.
pub fn unlock(args: &VaultArgs) -> Result<(), Error> {
    crate::vault::install(secrets::keyring(args, Purpose::Read)?);
    Ok(())
}

pub fn vault(command: &VaultCommand) -> Result<u8, Error> {
    match &command.action {
        VaultAction::Encrypt(a) => encrypt(a),
        VaultAction::Decrypt(a) => decrypt(a),
        VaultAction::View(a) => view(a),
        VaultAction::EncryptString(a) => encrypt_string(a),
    }
}

fn encrypt(a: &EncryptArgs) -> Result<u8, Error> {
    let keyring = secrets::keyring(&a.secrets, Purpose::VaultEncrypt)?;
    for (input, output) in inputs(&a.files, a.output.as_deref())? {
        let plain = files::read(&input)?;
        if is_vault(&plain) {
            return Err(Error::plain(format!(
                "{}: the input is already encrypted",
                input.display()
            )));
        }
        let text = keyring
            .encrypt(&plain, a.encrypt_vault_id.as_deref())
            .map_err(|e| Error::plain(format!("{}: {e}", input.display())))?;
        files::write(&output, text.as_bytes())?;
    }
    eprintln!("Encryption successful");
    Ok(0)
}

fn decrypt(a: &DecryptArgs) -> Result<u8, Error> {
    let keyring = secrets::keyring(&a.secrets, Purpose::VaultDecrypt)?;
    for (input, output) in inputs(&a.files, a.output.as_deref())? {
        let plain = open(&keyring, &input)?;
        files::write(&output, &plain)?;
    }
    eprintln!("Decryption successful");
    Ok(0)
}

fn view(a: &ViewArgs) -> Result<u8, Error> {
    let keyring = secrets::keyring(&a.secrets, Purpose::VaultDecrypt)?;
    for input in &a.files {
        let plain = open(&keyring, input)?;
        files::write(Path::new("-"), &plain)?;
    }
    Ok(0)
}

fn encrypt_string(a: &EncryptStringArgs) -> Result<u8, Error> {
    let keyring = secrets::keyring(&a.secrets, Purpose::VaultEncrypt)?;
    let mut plaintexts: Vec<(Option<String>, Vec<u8>)> = Vec::new();
    let mut names = a.names.iter().cloned();
    let from_stdin = a.strings.is_empty() || a.strings.iter().any(|s| s == "-");
    for s in a.strings.iter().filter(|s| *s != "-") {
        plaintexts.push((names.next(), s.clone().into_bytes()));
    }
    if from_stdin {
        if std::io::stdin().is_terminal() {
            eprintln!(
                "Reading plaintext input from stdin. (ctrl-d to end input, twice if your content does not already have a newline)"
            );
        }
        let text = files::read(Path::new("-"))?;
        if text.is_empty() {
            return Err(Error::plain("stdin was empty, not encrypting"));
        }
        plaintexts.push((a.stdin_name.clone().or_else(|| names.next()), text));
    }
    let mut blocks = Vec::new();
    for (name, plain) in &plaintexts {
        let text = keyring
            .encrypt(plain, a.encrypt_vault_id.as_deref())
            .map_err(|e| Error::plain(e.to_string()))?;
        blocks.push(yaml_block(&text, name.as_deref()));
    }
    let mut out = blocks.join("\n");
    out.push('\n');
    files::write(Path::new("-"), out.as_bytes())?;
    eprintln!("Encryption successful");
    Ok(0)
}

/// The plaintext of a vaulted file (or stdin).
fn open(keyring: &Keyring, input: &Path) -> Result<Vec<u8>, Error> {
    let bytes = files::read(input)?;
    if !is_vault(&bytes) {
        return Err(Error::plain(format!(
            "{}: the input is not vault-encrypted data",
            input.display()
        )));
    }
    let text = String::from_utf8_lossy(&bytes);
    keyring
        .decrypt(&text)
        .map_err(|e| Error::plain(format!("{}: {e}", input.display())))
}

/// Each input with where its result goes: in place, or `--output`; no
/// input is stdin to stdout.
fn inputs(files: &[PathBuf], output: Option<&Path>) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    let stdin = [PathBuf::from("-")];
    let files = if files.is_empty() { &stdin[..] } else { files };
    match output {
        Some(_) if files.len() > 1 => Err(Error::plain(
            "--output takes one input file; give one file or none",
        )),
        Some(out) => Ok(vec![(files[0].clone(), out.to_path_buf())]),
        None => Ok(files.iter().map(|f| (f.clone(), f.clone())).collect()),
    }
}

/// A `!vault |` block as ansible-vault prints it: the body indented by 10.
fn yaml_block(vault_text: &str, name: Option<&str>) -> String {
    let mut out = match name {
        Some(name) => format!("{name}: !vault |"),
        None => "!vault |".to_string(),
    };
    for line in vault_text.lines() {
        out.push_str("\n          ");
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_yaml_block_reads_back_as_the_vault_text() {
        let block = yaml_block("$ANSIBLE_VAULT;1.1;AES256\n6162\n", Some("db_password"));
        assert_eq!(
            block,
            "db_password: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          6162"
        );
    }

    #[test]
    fn output_takes_one_input() {
        let two = [PathBuf::from("a"), PathBuf::from("b")];
        assert!(inputs(&two, Some(Path::new("-"))).is_err());
        assert_eq!(
            inputs(&[], None).unwrap(),
            vec![(PathBuf::from("-"), PathBuf::from("-"))]
        );
    }
}
