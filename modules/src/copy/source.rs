//! The directory `copy` sends, read on the controller. Symlinks are
//! followed, as Ansible's `local_follow` (true by default) follows them, so
//! a linked file arrives as a file and a linked directory as a directory.

use std::path::{Path, PathBuf};

/// Everything under a source directory, named by where it goes below
/// `dest`: `tree/sub` for `src: tree`, `sub` for `src: tree/`.
#[derive(Debug, Default)]
pub(crate) struct SourceTree {
    /// Subdirectories, each after its parent.
    pub dirs: Vec<String>,
    /// Regular files, in the same order as `dirs`.
    pub files: Vec<SourceFile>,
}

#[derive(Debug)]
pub(crate) struct SourceFile {
    pub rel: String,
    pub bytes: Vec<u8>,
    /// Permission bits on the controller, for `mode: preserve`.
    pub mode: u32,
}

/// Reads the tree under `root`, naming each entry `prefix/…` (or `…` when
/// `prefix` is empty).
pub(crate) fn read_tree(root: &Path, prefix: &str) -> Result<SourceTree, String> {
    let mut tree = SourceTree::default();
    let real = root
        .canonicalize()
        .map_err(|e| format!("could not read '{}': {e}", root.display()))?;
    walk(root, prefix, &mut vec![real], &mut tree)?;
    Ok(tree)
}

/// Adds what is in `dir` to `tree`; `ancestors` are the real paths of the
/// directories being walked, to stop at a link that leads back into them.
fn walk(
    dir: &Path,
    prefix: &str,
    ancestors: &mut Vec<PathBuf>,
    tree: &mut SourceTree,
) -> Result<(), String> {
    for (name, path) in sorted_entries(dir)? {
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = std::fs::metadata(&path)
            .map_err(|e| format!("could not read '{}': {e}", path.display()))?;
        if meta.is_dir() {
            let real = path
                .canonicalize()
                .map_err(|e| format!("could not read '{}': {e}", path.display()))?;
            if ancestors.contains(&real) {
                return Err(format!(
                    "'{}' links back to a directory being copied; copying such a link is not supported by tend yet",
                    path.display()
                ));
            }
            tree.dirs.push(rel.clone());
            ancestors.push(real);
            walk(&path, &rel, ancestors, tree)?;
            ancestors.pop();
        } else if meta.is_file() {
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("could not read '{}': {e}", path.display()))?;
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            tree.files.push(SourceFile { rel, bytes, mode });
        } else {
            return Err(format!(
                "'{}' is neither a file nor a directory",
                path.display()
            ));
        }
    }
    Ok(())
}

/// The entries of `dir` by name, so that every run sends them in the same order.
fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| format!("could not read directory '{}': {e}", dir.display()))?;
    let mut entries = Vec::new();
    for entry in read {
        let entry =
            entry.map_err(|e| format!("could not read directory '{}': {e}", dir.display()))?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| format!("'{}': the name is not UTF-8", path.display()))?;
        entries.push((name, path));
    }
    entries.sort();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::TempDir;

    #[test]
    fn walks_files_and_directories_in_order_following_links() {
        let dir = TempDir::new("copy-source");
        std::fs::create_dir_all(dir.path("src/b/c")).unwrap();
        std::fs::write(dir.path("src/z.txt"), "z").unwrap();
        std::fs::write(dir.path("src/b/c/deep"), "d").unwrap();
        std::fs::write(dir.path("outside"), "o").unwrap();
        std::os::unix::fs::symlink(dir.path("outside"), dir.path("src/a-link")).unwrap();
        let tree = read_tree(Path::new(&dir.path("src")), "src").unwrap();
        assert_eq!(tree.dirs, ["src/b", "src/b/c"]);
        let files: Vec<(&str, &[u8])> = tree
            .files
            .iter()
            .map(|f| (f.rel.as_str(), f.bytes.as_slice()))
            .collect();
        assert_eq!(
            files,
            [
                ("src/a-link", &b"o"[..]),
                ("src/b/c/deep", b"d"),
                ("src/z.txt", b"z")
            ]
        );
        let contents = read_tree(Path::new(&dir.path("src")), "").unwrap();
        assert_eq!(contents.dirs, ["b", "b/c"]);
    }

    #[test]
    fn a_link_back_into_the_tree_is_an_error_not_a_loop() {
        let dir = TempDir::new("copy-source-loop");
        std::fs::create_dir_all(dir.path("src/sub")).unwrap();
        std::os::unix::fs::symlink(dir.path("src"), dir.path("src/sub/up")).unwrap();
        let err = read_tree(Path::new(&dir.path("src")), "").unwrap_err();
        assert!(err.contains("links back"), "{err}");
        std::os::unix::fs::symlink(dir.path("gone"), dir.path("src/broken")).unwrap();
        assert!(read_tree(Path::new(&dir.path("src")), "").is_err());
    }
}
