//! Reading and writing the files `tend vault` works on: `-` is stdin or
//! stdout, and a file is rewritten atomically (a temporary file beside it,
//! renamed into place) keeping its mode, so an interrupted run leaves
//! either the old content or the new, never half of a secret.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::Error;

/// New files holding secrets are readable by their owner only.
const NEW_FILE_MODE: u32 = 0o600;

pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    if is_stdio(path) {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::plain(format!("could not read stdin: {e}")))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| Error::io(path, &e))
}

pub fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if is_stdio(path) {
        let mut out = std::io::stdout();
        return out
            .write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| Error::plain(format!("could not write stdout: {e}")));
    }
    write_atomically(path, bytes).map_err(|e| Error::io(path, &e))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mode = match std::fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(_) => NEW_FILE_MODE,
    };
    crate::atomic_file::write(path, bytes, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewrite_keeps_the_mode_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("tend-vault-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("vars.yml");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&file, b"new").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let fresh = dir.join("fresh.yml");
        write(&fresh, b"x").unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
