//! "Made from different playbook files": the digest of every file a run
//! may read from the playbook's side, taken when planning and compared
//! before applying.
//!
//! Rather than following every path a run reads (includes, roles,
//! templates, files copied, lookups), this takes every regular file under
//! the playbook's directory, and the inventory's files (with the
//! `group_vars/` and `host_vars/` beside them). So an edit anywhere there
//! refuses a plan, even to a file the run never reads; that errs on the
//! safe side. Left out: hidden files and directories (`.git`, `.venv`),
//! plan files (they start with the plan header), and what lies outside
//! those directories (roles from a `roles_path` elsewhere, absolute
//! `src:` paths). A file bigger than [`READ_LIMIT`] is compared by size
//! and modification time instead of content; a symlink to a directory by
//! where it points, without descending.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::file::{FileSum, is_plan_file};
use crate::error::Error;

/// Files up to this size are hashed; bigger ones are compared by size and
/// modification time.
pub const READ_LIMIT: u64 = 256 << 20;
/// More files than this under the playbook's directory: it is not a
/// playbook's directory (a home directory?), and hashing it all would be slow.
pub const MAX_FILES: usize = 20_000;

/// The digests of the playbook directory's files (by path relative to it)
/// and of the inventory's (by absolute path), sorted by path.
pub fn collect(playbook_dir: &Path, inventory: &[String]) -> Result<Vec<FileSum>, Error> {
    let mut sums = Vec::new();
    walk(playbook_dir, true, playbook_dir, &mut sums)?;
    let mut seen: Vec<PathBuf> = Vec::new();
    for source in inventory {
        let path = Path::new(source);
        if !path.exists() {
            // A host list (`web1,web2,`): no file.
            continue;
        }
        let mut roots = vec![path.to_path_buf()];
        if path.is_file() {
            if let Some(dir) = path.parent() {
                roots.push(dir.join("group_vars"));
                roots.push(dir.join("host_vars"));
            }
        }
        for root in roots {
            let inside_playbook_dir = root.starts_with(playbook_dir);
            if inside_playbook_dir || seen.contains(&root) || !root.exists() {
                continue;
            }
            seen.push(root.clone());
            if root.is_dir() {
                walk(&root, false, &root, &mut sums)?;
            } else {
                sums.push(FileSum {
                    path: root.display().to_string(),
                    digest: digest(&root)?,
                });
            }
        }
    }
    sums.sort_by(|a, b| a.path.cmp(&b.path));
    sums.dedup();
    Ok(sums)
}

/// The first difference between the files recorded and the files now, for
/// the message that refuses the plan.
pub fn first_difference(recorded: &[FileSum], now: &[FileSum]) -> Option<String> {
    let mut then = recorded.iter().peekable();
    let mut now = now.iter().peekable();
    loop {
        match (then.peek(), now.peek()) {
            (None, None) => return None,
            (Some(t), None) => return Some(format!("{} is gone", t.path)),
            (None, Some(n)) => return Some(format!("{} is new", n.path)),
            (Some(t), Some(n)) => match t.path.cmp(&n.path) {
                std::cmp::Ordering::Less => return Some(format!("{} is gone", t.path)),
                std::cmp::Ordering::Greater => return Some(format!("{} is new", n.path)),
                std::cmp::Ordering::Equal if t.digest != n.digest => {
                    return Some(format!("{} has changed", t.path));
                }
                std::cmp::Ordering::Equal => {
                    then.next();
                    now.next();
                }
            },
        }
    }
}

/// Adds the files under `dir` (within `root`), by path relative to `root`
/// or absolute.
fn walk(root: &Path, relative: bool, dir: &Path, out: &mut Vec<FileSum>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, &e))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        paths.push(entry.path());
    }
    paths.sort();
    for path in paths {
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, &e))?;
        let shown = match path.strip_prefix(root) {
            Ok(rel) if relative => rel.display().to_string(),
            _ => path.display().to_string(),
        };
        let is_link = meta.file_type().is_symlink();
        if meta.is_dir() {
            walk(root, relative, &path, out)?;
        } else if is_link && path.is_dir() {
            let target = std::fs::read_link(&path).map_err(|e| Error::io(&path, &e))?;
            out.push(FileSum {
                path: shown,
                digest: format!("symlink:{}", target.display()),
            });
        } else if meta.is_file() || (is_link && path.is_file()) {
            // A plan lying beside the playbook is no input of the run:
            // writing a second plan must not invalidate the first.
            if is_plan_file(&path) {
                continue;
            }
            out.push(FileSum {
                path: shown,
                digest: digest(&path)?,
            });
        }
        if out.len() > MAX_FILES {
            return Err(Error::plain(format!(
                "{} holds more than {MAX_FILES} files: a plan records the checksum of every file beside the playbook; keep the playbook in a directory of its own",
                root.display()
            )));
        }
    }
    Ok(())
}

/// `sha256:<hex>` of a file's content, or `size:<n>,mtime:<secs>` past
/// [`READ_LIMIT`].
fn digest(path: &Path) -> Result<String, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if meta.len() > READ_LIMIT {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        return Ok(format!("size:{},mtime:{mtime}", meta.len()));
    }
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("sha256:{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::file::HEADER;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn paths(sums: &[FileSum]) -> Vec<&str> {
        sums.iter().map(|s| s.path.as_str()).collect()
    }

    #[test]
    fn every_file_beside_the_playbook_but_hidden_ones_and_plans() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "site.yml", "- hosts: all\n");
        write(d, "roles/web/tasks/main.yml", "- debug: msg=hi\n");
        write(d, "files/app.conf", "port=80\n");
        write(d, ".git/HEAD", "ref: main\n");
        write(d, ".hidden", "x");
        write(d, "plan.json", &format!("{HEADER}, \"version\": 1}}\n"));
        let sums = collect(d, &[]).unwrap();
        assert_eq!(
            paths(&sums),
            ["files/app.conf", "roles/web/tasks/main.yml", "site.yml"]
        );
        assert!(sums[0].digest.starts_with("sha256:"));
        assert_eq!(sums[0].digest.len(), "sha256:".len() + 64);
    }

    #[test]
    fn the_inventory_and_its_vars_count_too() {
        let play = tempfile::tempdir().unwrap();
        write(play.path(), "site.yml", "- hosts: all\n");
        let inv = tempfile::tempdir().unwrap();
        write(inv.path(), "hosts", "web1\n");
        write(inv.path(), "group_vars/all.yml", "port: 80\n");
        let hosts = inv.path().join("hosts").display().to_string();
        let sums = collect(play.path(), &[hosts.clone(), "web2,web3,".into()]).unwrap();
        let group_vars = inv.path().join("group_vars/all.yml").display().to_string();
        let mut want = vec![hosts.as_str(), group_vars.as_str(), "site.yml"];
        want.sort();
        assert_eq!(paths(&sums), want);
        // An inventory inside the playbook's directory is counted once.
        write(play.path(), "inventory", "web1\n");
        let inside = play.path().join("inventory").display().to_string();
        assert_eq!(
            paths(&collect(play.path(), &[inside]).unwrap()),
            ["inventory", "site.yml"]
        );
    }

    #[test]
    fn the_first_difference_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "site.yml", "- hosts: all\n");
        write(d, "templates/a.j2", "a\n");
        let before = collect(d, &[]).unwrap();
        assert_eq!(first_difference(&before, &collect(d, &[]).unwrap()), None);
        write(d, "templates/a.j2", "b\n");
        let after = collect(d, &[]).unwrap();
        assert_eq!(
            first_difference(&before, &after).as_deref(),
            Some("templates/a.j2 has changed")
        );
        write(d, "new.yml", "");
        assert_eq!(
            first_difference(&before, &collect(d, &[]).unwrap()).as_deref(),
            Some("new.yml is new")
        );
        std::fs::remove_file(d.join("new.yml")).unwrap();
        std::fs::remove_file(d.join("templates/a.j2")).unwrap();
        assert_eq!(
            first_difference(&before, &collect(d, &[]).unwrap()).as_deref(),
            Some("templates/a.j2 is gone")
        );
    }

    #[test]
    fn a_symlinked_directory_is_recorded_by_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "site.yml", "");
        write(d, "real/x.yml", "");
        std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
        let sums = collect(d, &[]).unwrap();
        assert_eq!(paths(&sums), ["link", "real/x.yml", "site.yml"]);
        assert!(sums[0].digest.starts_with("symlink:"));
    }
}
