//! `group_vars/` and `host_vars/` directories, found the way Ansible's
//! `host_group_vars` plugin finds them: for a group or host NAME, the first
//! of `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that exists; if that is
//! a directory, every file in it (recursively, sorted by name, skipping
//! hidden files, backups and other extensions), merged in order.
//!
//! The directories beside the inventory sources are read once at load time,
//! so that their errors surface before any host is contacted; directories
//! beside a playbook are read when asked for.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Inventory, Map, Value};
use crate::error::Error;
use crate::yaml::{NodeValue, load_str};

const EXTENSIONS: [&str; 4] = ["", ".yml", ".yaml", ".json"];

/// The variables files of one directory, for the inventory's groups and hosts.
#[derive(Debug)]
pub(super) struct VarsDir {
    pub dir: PathBuf,
    pub groups: HashMap<String, Map>,
    pub hosts: HashMap<String, Map>,
}

impl Inventory {
    /// Reads `group_vars/` and `host_vars/` beside each source: inside a
    /// directory source, beside a file source; none for host lists.
    pub(super) fn load_vars_dirs(&mut self, sources: &[String]) -> Result<(), Error> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for source in sources {
            let path = Path::new(source);
            if !path.exists() {
                continue;
            }
            let dir = if path.is_dir() {
                path.to_path_buf()
            } else {
                match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                }
            };
            if !dirs.iter().any(|d| same_dir(d, &dir)) {
                dirs.push(dir);
            }
        }
        for dir in dirs {
            let mut loaded = VarsDir {
                dir,
                groups: HashMap::new(),
                hosts: HashMap::new(),
            };
            for group in self.groups.keys() {
                if let Some(vars) = entity_vars(&loaded.dir, "group_vars", group)? {
                    loaded.groups.insert(group.clone(), vars);
                }
            }
            for host in self.hosts.keys() {
                if let Some(vars) = entity_vars(&loaded.dir, "host_vars", host)? {
                    loaded.hosts.insert(host.clone(), vars);
                }
            }
            self.vars_dirs.push(loaded);
        }
        Ok(())
    }

    /// Whether `dir` is one of the directories read at load time.
    pub(super) fn is_inventory_vars_dir(&self, dir: &Path) -> bool {
        self.vars_dirs.iter().any(|d| same_dir(&d.dir, dir))
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The merged variables of one group (`kind` = "group_vars") or host
/// ("host_vars") in `dir`, or `None` when it has no file there.
pub(super) fn entity_vars(dir: &Path, kind: &str, name: &str) -> Result<Option<Map>, Error> {
    let base = dir.join(kind);
    // Names that are paths (chroot-style hosts such as /srv/jail) have no
    // variables files, as in Ansible; this also keeps lookups inside `base`.
    if !base.is_dir() || name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Ok(None);
    }
    let Some(found) = EXTENSIONS
        .iter()
        .map(|ext| base.join(format!("{name}{ext}")))
        .find(|p| p.exists())
    else {
        return Ok(None);
    };
    let files = if found.is_dir() {
        dir_files(&found)?
    } else {
        vec![found]
    };
    let mut merged = Map::new();
    for file in files {
        for (k, v) in load_vars_file(&file)? {
            merged.insert(k, v);
        }
    }
    Ok(Some(merged))
}

/// Files of a `NAME/` directory in merge order: sorted by name, recursing
/// into subdirectories without an extension, skipping hidden files, `~`
/// backups and files whose extension is not YAML or JSON.
fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))? {
        names.push(entry.map_err(|e| Error::io(dir, &e))?.file_name());
    }
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let text = name.to_string_lossy();
        if text.starts_with('.') || text.ends_with('~') {
            continue;
        }
        let path = dir.join(&name);
        let ext = path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()));
        if path.is_dir() && ext.is_none() {
            out.extend(dir_files(&path)?);
        } else if path.is_file() && ext.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            out.push(path);
        }
    }
    Ok(out)
}

/// One variables file: a mapping of names to values (empty if the file is).
fn load_vars_file(path: &Path) -> Result<Map, Error> {
    let bytes = crate::yaml::read_bounded(path)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::plain(format!(
            "{}: the variables file is not UTF-8 text",
            path.display()
        ))
    })?;
    // A file encrypted with ansible-vault is decrypted by the YAML loader.
    let node = load_str(path, text)?;
    match &node.value {
        NodeValue::Null => Ok(Map::new()),
        NodeValue::Map(_) => match node.to_value() {
            Value::Object(map) => Ok(map),
            _ => Ok(Map::new()),
        },
        _ => Err(Error::at(
            &node.loc,
            format!(
                "a variables file must be a mapping of variable names to values, not {}",
                node.kind()
            ),
        )
        .help("write it as\n      ntp_server: ntp.example.com\n      http_port: 80")),
    }
}
