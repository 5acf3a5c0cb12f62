//! Where a drift run keeps its lock and reports: one directory per
//! playbook and inventory, under the state directory.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The state directory: `--state-dir`, else `/var/lib/tend` for root and
/// `$XDG_STATE_HOME/tend` (or `~/.local/state/tend`) for anyone else.
pub fn state_dir(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(dir) = given {
        return Ok(dir.to_path_buf());
    }
    if effective_uid() == Some(0) {
        return Ok(PathBuf::from("/var/lib/tend"));
    }
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(xdg) = var("XDG_STATE_HOME") {
        return Ok(PathBuf::from(xdg).join("tend"));
    }
    match var("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/tend")),
        None => Err("no state directory: HOME is not set; give one with --state-dir".into()),
    }
}

/// The directory of one playbook run against one inventory: its name is
/// the playbook's stem and a hash of the absolute paths, so two checkouts
/// of the same playbook never share a lock.
pub fn run_dir(state: &Path, playbook: &Path, inventories: &[String]) -> PathBuf {
    let mut hash = Sha256::new();
    hash.update(absolute(Path::new(playbook)).as_os_str().as_encoded_bytes());
    for inv in inventories {
        hash.update(b"\0");
        let p = Path::new(inv);
        match p.exists() {
            true => hash.update(absolute(p).as_os_str().as_encoded_bytes()),
            // A host list (`-i a,b,`) is not a path.
            false => hash.update(inv.as_bytes()),
        }
    }
    let digest = hash.finalize();
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let stem = playbook
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem: String = stem
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                true => c,
                false => '_',
            },
        )
        .collect();
    state.join(format!("{stem}-{short}"))
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The effective uid, from /proc (no libc binding needed for one number).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_dir_names_the_playbook_and_differs_per_inventory() {
        let state = Path::new("/s");
        let a = run_dir(state, Path::new("/no/such/site.yml"), &["a,b,".into()]);
        let b = run_dir(state, Path::new("/no/such/site.yml"), &["c,".into()]);
        assert!(a.starts_with("/s"));
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("site-") && name.len() == "site-".len() + 8,
            "{name}"
        );
        assert_ne!(a, b);
        let odd = run_dir(state, Path::new("my site!.yml"), &[]);
        assert!(
            odd.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("my_site_-")
        );
    }

    #[test]
    fn an_explicit_state_dir_wins() {
        assert_eq!(
            state_dir(Some(Path::new("/x"))).unwrap(),
            PathBuf::from("/x")
        );
    }
}
