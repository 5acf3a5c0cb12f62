//! The vault envelope: a header line `$ANSIBLE_VAULT;1.1;AES256` (or
//! `$ANSIBLE_VAULT;1.2;AES256;<vault id>`), then a hex body wrapped at 80
//! columns. The body, once unhexlified, is three lines: hexlify(salt),
//! hexlify(hmac), hexlify(ciphertext). The vault id in a 1.2 header is not
//! authenticated: it only says which secret to try first.

use super::{VaultError, hex};

/// How every vault text starts.
pub const HEADER: &str = "$ANSIBLE_VAULT";
/// The one cipher Ansible writes and reads today.
pub const CIPHER: &str = "AES256";
/// The vault id that needs no label in the header (format 1.1).
pub const DEFAULT_ID: &str = "default";
/// Ansible wraps the hex body at this width.
const WIDTH: usize = 80;

/// The parts of one piece of vault text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The vault id named by a 1.2 header.
    pub label: Option<String>,
    pub salt: Vec<u8>,
    pub hmac: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// Whether `data` is vault text, as Ansible's `is_encrypted` decides:
/// it starts with the header.
pub fn is_vault(data: &[u8]) -> bool {
    data.starts_with(HEADER.as_bytes())
}

impl Envelope {
    /// Reads vault text. Surrounding whitespace of body lines is ignored
    /// (Ansible joins the lines as they are; indented copies then fail there).
    pub fn parse(text: &str) -> Result<Envelope, VaultError> {
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("").trim();
        let fields: Vec<&str> = header.split(';').map(str::trim).collect();
        if fields.first() != Some(&HEADER) {
            return Err(VaultError::format(format!(
                "the first line must start with {HEADER}"
            )));
        }
        let (Some(version), Some(cipher)) = (fields.get(1), fields.get(2)) else {
            return Err(VaultError::format(format!(
                "the header '{}' needs a version and a cipher ({HEADER};1.1;AES256)",
                shorten(header)
            )));
        };
        if !matches!(*version, "1.1" | "1.2") {
            return Err(VaultError::format(format!(
                "unsupported vault format version '{}' (1.1 and 1.2 are supported)",
                shorten(version)
            )));
        }
        if *cipher != CIPHER {
            return Err(VaultError::UnknownCipher {
                name: shorten(cipher),
            });
        }
        let label = fields
            .get(3)
            .filter(|l| !l.is_empty())
            .map(|l| l.to_string());
        let body: String = lines.map(str::trim).collect();
        if body.is_empty() {
            return Err(VaultError::format("there is no data after the header"));
        }
        let inner = hex::decode(body.as_bytes(), "vault body")?;
        let mut parts = inner.splitn(3, |&b| b == b'\n');
        let (Some(salt), Some(hmac), Some(ciphertext)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(VaultError::format(
                "the body must hold a salt, an HMAC and the ciphertext",
            ));
        };
        let envelope = Envelope {
            label,
            salt: hex::decode(salt, "salt")?,
            hmac: hex::decode(hmac, "HMAC")?,
            ciphertext: hex::decode(ciphertext, "ciphertext")?,
        };
        if envelope.salt.is_empty() {
            return Err(VaultError::format("the salt is empty"));
        }
        if envelope.hmac.len() != 32 {
            return Err(VaultError::format(format!(
                "the HMAC is {} bytes; HMAC-SHA256 is 32",
                envelope.hmac.len()
            )));
        }
        Ok(envelope)
    }

    /// The vault text, as Ansible writes it: 1.1 unless a vault id other
    /// than `default` is given, body lines of 80, a final newline.
    pub fn format(&self) -> String {
        let header = match self.label.as_deref() {
            Some(label) if label != DEFAULT_ID => format!("{HEADER};1.2;{CIPHER};{label}"),
            _ => format!("{HEADER};1.1;{CIPHER}"),
        };
        let inner = format!(
            "{}\n{}\n{}",
            hex::encode(&self.salt),
            hex::encode(&self.hmac),
            hex::encode(&self.ciphertext)
        );
        let body = hex::encode(inner.as_bytes());
        let mut out = header;
        out.push('\n');
        // Hex is ASCII, so byte chunks are whole characters.
        for chunk in body.as_bytes().chunks(WIDTH) {
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

/// Headers come from files that may be anything: keep messages short.
fn shorten(text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        format!("{short}...")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(label: Option<&str>) -> Envelope {
        Envelope {
            label: label.map(str::to_string),
            salt: vec![7; 32],
            hmac: vec![9; 32],
            ciphertext: (0..48).collect(),
        }
    }

    #[test]
    fn format_then_parse_round_trips() {
        for label in [None, Some("prod")] {
            let e = sample(label);
            assert_eq!(Envelope::parse(&e.format()).unwrap(), e);
        }
    }

    #[test]
    fn the_header_says_1_1_unless_a_label_other_than_default_is_given() {
        assert!(
            sample(None)
                .format()
                .starts_with("$ANSIBLE_VAULT;1.1;AES256\n")
        );
        assert!(
            sample(Some("default"))
                .format()
                .starts_with("$ANSIBLE_VAULT;1.1;AES256\n")
        );
        assert!(
            sample(Some("prod"))
                .format()
                .starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n")
        );
    }

    #[test]
    fn the_body_is_wrapped_at_80_columns_and_ends_with_a_newline() {
        let text = sample(None).format();
        assert!(text.ends_with('\n'));
        let body: Vec<&str> = text.lines().skip(1).collect();
        assert!(body.len() > 1);
        assert!(body[..body.len() - 1].iter().all(|l| l.len() == 80));
        assert!(
            body.iter()
                .all(|l| l.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn indented_bodies_and_crlf_parse() {
        let e = sample(Some("dev"));
        let indented: String = e.format().lines().map(|l| format!("    {l}\r\n")).collect();
        assert_eq!(Envelope::parse(&indented).unwrap(), e);
    }

    #[test]
    fn broken_envelopes_are_format_errors() {
        let good = sample(None).format();
        let cases = [
            String::new(),
            "$ANSIBLE_VAULT".to_string(),
            "$ANSIBLE_VAULT;1.1".to_string(),
            "$ANSIBLE_VAULT;1.1;AES256".to_string(),
            "$ANSIBLE_VAULT;1.1;AES256\nnot hex\n".to_string(),
            "$ANSIBLE_VAULT;1.1;AES256\nabc\n".to_string(),
            // Hex, but not three lines inside.
            format!("$ANSIBLE_VAULT;1.1;AES256\n{}\n", hex::encode(b"aa\nbb")),
            // An HMAC of the wrong size.
            format!(
                "$ANSIBLE_VAULT;1.1;AES256\n{}\n",
                hex::encode(b"aa\nbb\ncc")
            ),
            good.replace("1.1", "9.9"),
            "$NOT_VAULT;1.1;AES256\n00\n".to_string(),
        ];
        for case in cases {
            match Envelope::parse(&case) {
                Err(VaultError::Format { .. }) => {}
                other => panic!("{case:?}: {other:?}"),
            }
        }
        assert_eq!(
            Envelope::parse(&good.replace("AES256", "AES")),
            Err(VaultError::UnknownCipher { name: "AES".into() })
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed: u32 = 1;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        };
        let good = sample(Some("x")).format().into_bytes();
        for round in 0..2000 {
            let mut bytes = good.clone();
            for _ in 0..(round % 7 + 1) {
                let i = usize::from(next()) * bytes.len() / 256;
                bytes[i] = next();
            }
            bytes.truncate(usize::from(next()) * bytes.len() / 255 + 1);
            let text = String::from_utf8_lossy(&bytes);
            let _ = Envelope::parse(&text);
        }
    }
}
