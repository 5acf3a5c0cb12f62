//! What can go wrong with vault data: malformed envelopes, the wrong
//! password, no password at all. Callers add where the data came from
//! (`file:line:col`) when they turn it into tend's front-end error.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultError {
    /// The text is not an Ansible Vault envelope, or it is damaged.
    Format { message: String },
    /// The envelope names a cipher other than AES256.
    UnknownCipher { name: String },
    /// Vault data was met, but no vault secret was given.
    NoSecrets,
    /// No secret decrypted it: the password is wrong, or it belongs to
    /// another vault id. `label` is the vault id in the envelope (1.2).
    NoMatch {
        label: Option<String>,
        tried: Vec<String>,
    },
    /// The HMAC matched but the padding did not: the data was made wrongly.
    Padding,
}

impl VaultError {
    pub fn format(message: impl Into<String>) -> VaultError {
        VaultError::Format {
            message: message.into(),
        }
    }
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultError::Format { message } => write!(f, "malformed vault data: {message}"),
            VaultError::UnknownCipher { name } => write!(
                f,
                "the vault data is encrypted with cipher '{name}'; only AES256 is supported"
            ),
            VaultError::NoSecrets => f.write_str(
                "this is encrypted with Ansible Vault, but no vault password was given \
                 (use --vault-password-file FILE, --ask-vault-pass or --vault-id LABEL@SOURCE)",
            ),
            VaultError::NoMatch { label, tried } => {
                let tried = tried.join(", ");
                match label {
                    Some(label) => write!(
                        f,
                        "decryption failed: no vault secret matched (the data names vault id \
                         '{label}'; tried vault ids: {tried}); the password is wrong or belongs \
                         to another vault id"
                    ),
                    None => write!(
                        f,
                        "decryption failed: no vault secret matched (tried vault ids: {tried}); \
                         the password is wrong or belongs to another vault id"
                    ),
                }
            }
            VaultError::Padding => f.write_str(
                "decryption failed: the padding of the decrypted data is invalid (the vault data is corrupt)",
            ),
        }
    }
}

impl std::error::Error for VaultError {}
