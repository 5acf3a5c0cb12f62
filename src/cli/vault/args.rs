//! The vault flags every command that reads playbooks takes, and the
//! grammar of `tend vault`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Where vault passwords come from (Ansible's flags, same meaning).
#[derive(Args, Debug, Clone, Default)]
pub struct VaultArgs {
    /// A vault identity, LABEL@SOURCE: SOURCE is a password file, an
    /// executable that prints the password, or `prompt` (repeatable).
    #[arg(long = "vault-id", value_name = "LABEL@SOURCE")]
    pub vault_ids: Vec<String>,
    /// The vault password is this file's content, or what this executable
    /// prints (repeatable; also $ANSIBLE_VAULT_PASSWORD_FILE).
    #[arg(
        long = "vault-password-file",
        visible_alias = "vault-pass-file",
        value_name = "FILE"
    )]
    pub vault_password_files: Vec<PathBuf>,
    /// Ask for the vault password on the terminal.
    #[arg(
        short = 'J',
        long = "ask-vault-pass",
        visible_alias = "ask-vault-password"
    )]
    pub ask_vault_pass: bool,
}

/// `tend vault`: Ansible Vault for those who do not have Ansible.
#[derive(Args, Debug, Clone)]
pub struct VaultCommand {
    #[command(subcommand)]
    pub action: VaultAction,
}

#[derive(Subcommand, Debug, Clone)]
pub enum VaultAction {
    /// Encrypt files in place (no FILE, or `-`: stdin to stdout).
    Encrypt(EncryptArgs),
    /// Decrypt files in place (no FILE, or `-`: stdin to stdout).
    Decrypt(DecryptArgs),
    /// Print the decrypted content of vaulted files.
    View(ViewArgs),
    /// Encrypt a string for a `!vault |` value (no STRING, or `-`: stdin).
    #[command(name = "encrypt_string", visible_alias = "encrypt-string")]
    EncryptString(EncryptStringArgs),
}

#[derive(Args, Debug, Clone)]
pub struct EncryptArgs {
    pub files: Vec<PathBuf>,
    /// Write here instead of in place (`-` for stdout; one input only).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The vault id to encrypt with (default: the first one given).
    #[arg(long, value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
    #[command(flatten)]
    pub secrets: VaultArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DecryptArgs {
    pub files: Vec<PathBuf>,
    /// Write here instead of in place (`-` for stdout; one input only).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub secrets: VaultArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ViewArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub secrets: VaultArgs,
}

#[derive(Args, Debug, Clone)]
pub struct EncryptStringArgs {
    /// The strings to encrypt.
    pub strings: Vec<String>,
    /// The variable name of each string, in order (repeatable).
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    /// The variable name of the string read from stdin.
    #[arg(long, value_name = "NAME")]
    pub stdin_name: Option<String>,
    /// The vault id to encrypt with (default: the first one given).
    #[arg(long, value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
    #[command(flatten)]
    pub secrets: VaultArgs,
}
