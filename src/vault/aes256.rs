//! VaultAES256, the cipher of every vault Ansible writes: keys from
//! PBKDF2-HMAC-SHA256 (10,000 iterations, the envelope's salt, 80 bytes =
//! AES key, HMAC key, CTR counter), PKCS#7 padding to 16 bytes, AES-256 in
//! CTR mode with a 128-bit big-endian counter, and HMAC-SHA256 over the
//! ciphertext. The HMAC is checked, in constant time, before anything is
//! decrypted: a wrong password is told from a right one by the HMAC alone.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{Envelope, VaultError};

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

const ITERATIONS: u32 = 10_000;
const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;
const BLOCK: usize = 16;
/// Ansible draws 32 random bytes of salt for each encryption.
pub const SALT_LEN: usize = 32;

/// The AES key, the HMAC key and the initial counter derived from a
/// password and a salt. Deriving costs 10,000 rounds, so callers that meet
/// the same salt again keep these.
pub struct Keys {
    aes: [u8; KEY_LEN],
    hmac: [u8; KEY_LEN],
    iv: [u8; IV_LEN],
}

impl Keys {
    pub fn derive(password: &[u8], salt: &[u8]) -> Keys {
        let mut derived = [0u8; 2 * KEY_LEN + IV_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ITERATIONS, &mut derived);
        let mut keys = Keys {
            aes: [0; KEY_LEN],
            hmac: [0; KEY_LEN],
            iv: [0; IV_LEN],
        };
        keys.aes.copy_from_slice(&derived[..KEY_LEN]);
        keys.hmac.copy_from_slice(&derived[KEY_LEN..2 * KEY_LEN]);
        keys.iv.copy_from_slice(&derived[2 * KEY_LEN..]);
        keys
    }

    fn mac(&self) -> Hmac<Sha256> {
        // An HMAC takes keys of any length.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.hmac).expect("HMAC accepts a 32-byte key")
    }

    fn apply_keystream(&self, data: &mut [u8]) {
        let mut cipher = Aes256Ctr::new(&self.aes.into(), &self.iv.into());
        cipher.apply_keystream(data);
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

/// Encrypts `plaintext` with the keys of a password and `salt` (which the
/// caller draws at random); `label` is the vault id written in the header.
pub fn encrypt(plaintext: &[u8], keys: &Keys, salt: &[u8], label: Option<&str>) -> Envelope {
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = Vec::with_capacity(plaintext.len() + pad);
    data.extend_from_slice(plaintext);
    data.extend(std::iter::repeat_n(pad as u8, pad));
    keys.apply_keystream(&mut data);
    let mut mac = keys.mac();
    mac.update(&data);
    Envelope {
        label: label.map(str::to_string),
        salt: salt.to_vec(),
        hmac: mac.finalize().into_bytes().to_vec(),
        ciphertext: data,
    }
}

/// Decrypts with the keys of one password and the envelope's salt:
/// `Ok(None)` when the HMAC does not match (the wrong password), an error
/// when the data is corrupt.
pub fn decrypt(envelope: &Envelope, keys: &Keys) -> Result<Option<Vec<u8>>, VaultError> {
    let mut mac = keys.mac();
    mac.update(&envelope.ciphertext);
    if mac.verify_slice(&envelope.hmac).is_err() {
        return Ok(None);
    }
    let mut data = envelope.ciphertext.clone();
    keys.apply_keystream(&mut data);
    unpad(&mut data)?;
    Ok(Some(data))
}

/// Removes PKCS#7 padding: 1 to 16 bytes, each holding the count.
fn unpad(data: &mut Vec<u8>) -> Result<(), VaultError> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
        return Err(VaultError::Padding);
    }
    let pad = usize::from(data[data.len() - 1]);
    if pad == 0
        || pad > BLOCK
        || data[data.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return Err(VaultError::Padding);
    }
    data.truncate(data.len() - pad);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by ansible-vault 2.19 (`ansible-vault encrypt_string` with the
    /// password `tend`): the plaintext is `hunter2`.
    const FROM_ANSIBLE: &str = include_str!("testdata/hunter2.vault");

    fn decrypt(e: &Envelope, password: &[u8]) -> Result<Option<Vec<u8>>, VaultError> {
        super::decrypt(e, &Keys::derive(password, &e.salt))
    }

    #[test]
    fn decrypts_what_ansible_vault_wrote() {
        let e = Envelope::parse(FROM_ANSIBLE).unwrap();
        assert_eq!(decrypt(&e, b"tend").unwrap().unwrap(), b"hunter2");
    }

    #[test]
    fn round_trips_every_length_around_the_block_size() {
        for len in 0..40 {
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let e = encrypt(
                &plain,
                &Keys::derive(b"pw", &[1; SALT_LEN]),
                &[1; SALT_LEN],
                None,
            );
            assert_eq!(e.ciphertext.len() % BLOCK, 0);
            assert!(e.ciphertext.len() > plain.len());
            assert_eq!(decrypt(&e, b"pw").unwrap().unwrap(), plain);
        }
    }

    #[test]
    fn the_wrong_password_fails_the_hmac() {
        let e = encrypt(
            b"secret",
            &Keys::derive(b"right", &[2; SALT_LEN]),
            &[2; SALT_LEN],
            None,
        );
        assert_eq!(decrypt(&e, b"wrong").unwrap(), None);
    }

    #[test]
    fn a_tampered_ciphertext_or_hmac_is_refused_before_decrypting() {
        let e = encrypt(
            b"secret",
            &Keys::derive(b"pw", &[3; SALT_LEN]),
            &[3; SALT_LEN],
            None,
        );
        let mut bad = e.clone();
        bad.ciphertext[0] ^= 1;
        assert_eq!(decrypt(&bad, b"pw").unwrap(), None);
        let mut bad = e;
        bad.hmac[31] ^= 0x80;
        assert_eq!(decrypt(&bad, b"pw").unwrap(), None);
    }

    #[test]
    fn bad_padding_behind_a_good_hmac_is_an_error() {
        let keys = Keys::derive(b"pw", &[4; SALT_LEN]);
        // `plain` encrypted as is (no padding added), behind a good HMAC.
        let sealed = |plain: &[u8]| {
            let mut data = plain.to_vec();
            keys.apply_keystream(&mut data);
            let mut mac = keys.mac();
            mac.update(&data);
            Envelope {
                label: None,
                salt: vec![4; SALT_LEN],
                hmac: mac.finalize().into_bytes().to_vec(),
                ciphertext: data,
            }
        };
        for plain in [[0u8; 16], [17u8; 16], {
            let mut b = [3u8; 16];
            b[14] = 2;
            b
        }] {
            assert_eq!(
                decrypt(&sealed(&plain), b"pw"),
                Err(VaultError::Padding),
                "{plain:?}"
            );
        }
        // A ciphertext that is not whole blocks.
        assert_eq!(decrypt(&sealed(b"short"), b"pw"), Err(VaultError::Padding));
        assert_eq!(unpad(&mut Vec::new()), Err(VaultError::Padding));
        assert_eq!(unpad(&mut vec![1; 15]), Err(VaultError::Padding));
    }
}
