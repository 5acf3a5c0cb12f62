//! The vault secrets of a run, each under its vault id (label), and the
//! order Ansible tries them in: the secrets whose label matches the id in
//! the data first (`default` for 1.1 data), then all the others in the
//! order they were given.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use super::aes256::{self, Keys};
use super::envelope::DEFAULT_ID;
use super::{Envelope, VaultError};

/// One vault password and the vault id it was given for.
pub struct VaultSecret {
    pub label: String,
    password: Vec<u8>,
}

impl VaultSecret {
    pub fn new(label: impl Into<String>, password: impl Into<Vec<u8>>) -> VaultSecret {
        VaultSecret {
            label: label.into(),
            password: password.into(),
        }
    }

    /// The password, for the redaction registry.
    pub fn password(&self) -> &[u8] {
        &self.password
    }
}

impl fmt::Debug for VaultSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VaultSecret({}, ***)", self.label)
    }
}

/// Derived keys by (secret, salt).
type KeyCache = HashMap<(usize, Vec<u8>), Arc<Keys>>;

#[derive(Debug, Default)]
pub struct Keyring {
    secrets: Vec<VaultSecret>,
    /// Derived keys by (secret, salt): the same vaulted file is read once
    /// per host, and each derivation costs 10,000 rounds.
    keys: Mutex<KeyCache>,
}

impl Keyring {
    pub fn new(secrets: Vec<VaultSecret>) -> Keyring {
        Keyring {
            secrets,
            keys: Mutex::default(),
        }
    }

    pub fn push(&mut self, secret: VaultSecret) {
        self.secrets.push(secret);
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub fn secrets(&self) -> &[VaultSecret] {
        &self.secrets
    }

    /// Decrypts vault text with the first secret whose HMAC matches.
    pub fn decrypt(&self, text: &str) -> Result<Vec<u8>, VaultError> {
        let envelope = Envelope::parse(text)?;
        if self.secrets.is_empty() {
            return Err(VaultError::NoSecrets);
        }
        let target = envelope.label.as_deref().unwrap_or(DEFAULT_ID);
        let order = self
            .indices(|s| s.label == target)
            .chain(self.indices(|s| s.label != target));
        for i in order {
            if let Some(plain) = aes256::decrypt(&envelope, &self.keys_for(i, &envelope.salt))? {
                return Ok(plain);
            }
        }
        Err(VaultError::NoMatch {
            label: envelope.label.clone(),
            tried: self.secrets.iter().map(|s| s.label.clone()).collect(),
        })
    }

    /// Encrypts with the secret labelled `label`, or the first one; a label
    /// other than `default` is written in the header (format 1.2).
    pub fn encrypt(&self, plaintext: &[u8], label: Option<&str>) -> Result<String, VaultError> {
        let secret = match label {
            Some(label) => self
                .secrets
                .iter()
                .find(|s| s.label == label)
                .ok_or_else(|| {
                    VaultError::format(format!(
                        "no vault id '{label}' to encrypt with (known vault ids: {})",
                        self.labels().join(", ")
                    ))
                })?,
            None => self.secrets.first().ok_or(VaultError::NoSecrets)?,
        };
        let mut salt = [0u8; aes256::SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| {
            VaultError::format(format!("could not draw a random salt from the system: {e}"))
        })?;
        let keys = Keys::derive(&secret.password, &salt);
        Ok(aes256::encrypt(plaintext, &keys, &salt, Some(&secret.label)).format())
    }

    fn labels(&self) -> Vec<String> {
        self.secrets.iter().map(|s| s.label.clone()).collect()
    }

    fn indices<'a>(
        &'a self,
        keep: impl Fn(&VaultSecret) -> bool + 'a,
    ) -> impl Iterator<Item = usize> + 'a {
        self.secrets
            .iter()
            .enumerate()
            .filter(move |(_, s)| keep(s))
            .map(|(i, _)| i)
    }

    fn keys_for(&self, secret: usize, salt: &[u8]) -> Arc<Keys> {
        let key = (secret, salt.to_vec());
        if let Some(keys) = self.cache().get(&key) {
            return keys.clone();
        }
        let keys = Arc::new(Keys::derive(&self.secrets[secret].password, salt));
        self.cache().insert(key, keys.clone());
        keys
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        // A panic elsewhere while holding the lock leaves a usable cache.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

static INSTALLED: RwLock<Option<Arc<Keyring>>> = RwLock::new(None);

/// Makes `keyring` the one every file read of this process decrypts with.
/// The command line installs it once, before reading any playbook.
pub fn install(keyring: Keyring) {
    *INSTALLED.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(keyring));
}

/// The installed keyring; an empty one when the command gave no secret.
pub fn installed() -> Arc<Keyring> {
    INSTALLED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(secrets: &[(&str, &str)]) -> Keyring {
        Keyring::new(
            secrets
                .iter()
                .map(|(l, p)| VaultSecret::new(*l, p.as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn encrypts_with_the_first_secret_and_decrypts_with_any() {
        let text = ring(&[("default", "a")]).encrypt(b"x", None).unwrap();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"), "{text}");
        let other = ring(&[("dev", "b"), ("ops", "a")]);
        assert_eq!(other.decrypt(&text).unwrap(), b"x");
    }

    #[test]
    fn a_label_other_than_default_makes_a_1_2_header() {
        let r = ring(&[("default", "a"), ("prod", "p")]);
        let text = r.encrypt(b"x", Some("prod")).unwrap();
        assert!(
            text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"),
            "{text}"
        );
        assert_eq!(r.decrypt(&text).unwrap(), b"x");
        assert!(r.encrypt(b"x", Some("nope")).is_err());
    }

    #[test]
    fn no_secret_or_the_wrong_one_is_a_clear_error() {
        let text = ring(&[("prod", "p")]).encrypt(b"x", None).unwrap();
        assert_eq!(
            Keyring::default().decrypt(&text),
            Err(VaultError::NoSecrets)
        );
        let err = ring(&[("dev", "d"), ("default", "q")])
            .decrypt(&text)
            .unwrap_err();
        assert_eq!(
            err,
            VaultError::NoMatch {
                label: Some("prod".into()),
                tried: vec!["dev".into(), "default".into()],
            }
        );
        assert!(err.to_string().contains("vault id 'prod'"), "{err}");
    }

    #[test]
    fn damaged_vault_text_is_an_error_never_a_panic() {
        let r = ring(&[("default", "a")]);
        let good = r.encrypt(b"some secret text", None).unwrap().into_bytes();
        let mut seed: u32 = 7;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as usize
        };
        for round in 0..300 {
            let mut bytes = good.clone();
            for _ in 0..(round % 3 + 1) {
                let i = next() % bytes.len();
                bytes[i] = (next() % 256) as u8;
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(plain) = r.decrypt(&text) {
                // Only damage the HMAC cannot see (the header's label,
                // line breaks) may still decrypt, and then correctly.
                assert_eq!(plain, b"some secret text");
            }
        }
    }

    #[test]
    fn encrypting_twice_draws_a_new_salt() {
        let r = ring(&[("default", "a")]);
        assert_ne!(
            r.encrypt(b"x", None).unwrap(),
            r.encrypt(b"x", None).unwrap()
        );
    }
}
