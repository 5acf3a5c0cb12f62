//! Ansible Vault: files and inline `!vault |` values encrypted by
//! `ansible-vault` (format 1.1, and 1.2 with a vault id) are decrypted on the
//! controller when they are read, and `tend vault` writes the same format.
//!
//! Everything decrypted is registered with [`crate::redact`], so that it
//! never appears in tend's output.

mod aes256;
mod envelope;
mod error;
mod hex;
mod keyring;
mod plaintext;

pub use envelope::{DEFAULT_ID, Envelope, HEADER, is_vault};
pub use error::VaultError;
pub use keyring::{Keyring, VaultSecret, install, installed};
pub use plaintext::{file_text, inline_value, src_bytes};
