//! Where vault data meets the rest of tend: a file's text, an inline
//! `!vault` value, a `src` file of copy/template. Each is decrypted with
//! the installed keyring, its error names where the data came from, and
//! what was decrypted is registered as a secret for redaction.

use std::path::Path;

use super::{installed, is_vault};
use crate::error::Error;
use crate::yaml::Loc;

/// A file's text, decrypted when the whole file is vault data; the flag
/// says whether it was.
pub fn file_text(path: &Path, text: String) -> Result<(String, bool), Error> {
    if !is_vault(text.as_bytes()) {
        return Ok((text, false));
    }
    let plain = installed()
        .decrypt(&text)
        .map_err(|e| Error::plain(format!("{}: {e}", path.display())))?;
    let text = String::from_utf8(plain).map_err(|_| {
        Error::plain(format!(
            "{}: the decrypted vault data is not UTF-8 text",
            path.display()
        ))
    })?;
    Ok((text, true))
}

/// The value of an inline `!vault` scalar at `loc`.
pub fn inline_value(loc: &Loc, text: &str) -> Result<String, Error> {
    let plain = installed()
        .decrypt(text)
        .map_err(|e| Error::at(loc, format!("cannot decrypt this !vault value: {e}")))?;
    let value = String::from_utf8(plain)
        .map_err(|_| Error::at(loc, "the decrypted !vault value is not UTF-8 text"))?;
    crate::redact::register(&value);
    Ok(value)
}

/// The bytes of a file a task sends (copy, template...): decrypted on the
/// controller when vaulted, as Ansible does, and each of its lines kept
/// out of the output (diffs show files line by line).
pub fn src_bytes(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    if !is_vault(&bytes) {
        return Ok(bytes);
    }
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let text = std::str::from_utf8(&bytes).map_err(|e| fail(&e))?;
    let plain = installed().decrypt(text).map_err(|e| fail(&e))?;
    crate::redact::register(&String::from_utf8_lossy(&plain));
    Ok(plain)
}
