//! Python's `binascii.hexlify`/`unhexlify`, which the vault format applies
//! twice ("byte shield/armor").

use super::VaultError;

/// Lower-case hex, as `hexlify` writes it.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Hex of either case to bytes; `what` names the part for the message.
pub fn decode(text: &[u8], what: &str) -> Result<Vec<u8>, VaultError> {
    if !text.len().is_multiple_of(2) {
        return Err(VaultError::format(format!(
            "the {what} has an odd number of hex digits"
        )));
    }
    text.chunks_exact(2)
        .map(|pair| match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(VaultError::format(format!(
                "the {what} holds a character that is not a hex digit"
            ))),
        })
        .collect()
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(encode(&bytes).as_bytes(), "x").unwrap(), bytes);
        assert_eq!(decode(b"ABcd", "x").unwrap(), vec![0xab, 0xcd]);
    }

    #[test]
    fn bad_hex_is_an_error() {
        assert!(decode(b"abc", "salt").is_err());
        assert!(decode(b"zz", "salt").is_err());
        assert!(decode("é1".as_bytes(), "salt").is_err());
    }
}
