//! Inventory sources: what `-i` names and how each is read. A path that
//! does not exist but has a comma is a host list; a directory is read file
//! by file (skipping what Ansible skips); a file is YAML or INI by its
//! extension, or else by its first line.

use std::path::Path;

use super::range::split_port;
use super::{Format, Inventory, ini, yaml};
use crate::error::Error;

/// Endings Ansible's `INVENTORY_IGNORE_EXTS` skips in inventory
/// directories. `.ini` is among them: a `hosts.ini` inside an inventory
/// directory is not read by Ansible, so tend does not read it either
/// (reading it could target hosts Ansible never would).
const IGNORED_ENDINGS: &[&str] = &[
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg",
    ".retry",
];

/// Directory entries that hold variables or plugins, not inventory.
const IGNORED_NAMES: &[&str] = &["group_vars", "host_vars", "vars_plugins"];

impl Inventory {
    pub(super) fn load_source(&mut self, source: &str) -> Result<(), Error> {
        let path = Path::new(source);
        if !path.exists() {
            if source.contains(',') {
                self.load_host_list(source);
                return Ok(());
            }
            return Err(Error::plain(format!(
                "inventory source '{source}' not found: it is not a file, a directory or a comma-separated host list (such as 'web1,web2,')"
            )));
        }
        if path.is_dir() {
            self.load_dir(path)
        } else {
            self.load_file(path)
        }
    }

    /// `web1,web2:2222,[::1]` — ungrouped hosts, no ranges (as Ansible's
    /// `host_list` plugin reads them).
    fn load_host_list(&mut self, list: &str) {
        self.current_source = None;
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, port) = split_port(entry).unwrap_or((entry, None));
            self.add_host(name, "ungrouped");
            if let Some(port) = port {
                self.set_host_var(name, "ansible_port", port.into());
            }
        }
    }

    fn load_dir(&mut self, dir: &Path) -> Result<(), Error> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
        let mut names = Vec::new();
        for entry in entries {
            names.push(entry.map_err(|e| Error::io(dir, &e))?.file_name());
        }
        names.sort();
        for name in names {
            let text = name.to_string_lossy();
            let ignored = text.starts_with('.')
                || IGNORED_NAMES.contains(&text.as_ref())
                || IGNORED_ENDINGS.iter().any(|end| text.ends_with(end));
            if ignored {
                continue;
            }
            let path = dir.join(&name);
            if path.is_dir() {
                self.load_dir(&path)?;
            } else {
                self.load_file(&path)?;
            }
        }
        Ok(())
    }

    fn load_file(&mut self, path: &Path) -> Result<(), Error> {
        let bytes = crate::yaml::read_bounded(path)?;
        self.load_bytes(path, bytes, None)
    }

    /// Reads an inventory file's bytes, as YAML or INI by `format` or else
    /// by the file's extension and first line.
    pub(super) fn load_bytes(
        &mut self,
        path: &Path,
        bytes: Vec<u8>,
        format: Option<Format>,
    ) -> Result<(), Error> {
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::plain(format!(
                "{}: the inventory is not UTF-8 text (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ))
        })?;
        // Editors on Windows may start a file with a byte-order mark.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        // An inventory encrypted with ansible-vault is read decrypted.
        let (text, _) = crate::vault::file_text(path, text)?;
        if text.starts_with("#!") {
            return Err(Error::plain(format!(
                "{}: this looks like a dynamic inventory script, which tend does not run; give it a static INI or YAML inventory",
                path.display()
            )));
        }
        self.current_source =
            Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let format = format.unwrap_or_else(|| {
            if matches!(ext, "yml" | "yaml" | "json") || looks_like_yaml(&text) {
                Format::Yaml
            } else {
                Format::Ini
            }
        });
        let result = match format {
            Format::Yaml => yaml::parse(self, path, text),
            Format::Ini => ini::parse(self, path, text),
        };
        self.current_source = None;
        result
    }
}

/// Whether an inventory file without a YAML extension is YAML: its first
/// meaningful line is `---`, a `{`, or a mapping key at the margin (`all:`,
/// `web: {...}`). INI lines never look like that: a host line with a port
/// has no space after its colon (`web1:2222`), and variables use `=`.
pub(super) fn looks_like_yaml(text: &str) -> bool {
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed == "---" || trimmed.starts_with("--- ") || trimmed.starts_with('{') {
            return true;
        }
        let key_end = trimmed
            .char_indices()
            .find(|&(i, c)| {
                c == ':'
                    && trimmed[i + 1..]
                        .chars()
                        .next()
                        .is_none_or(char::is_whitespace)
            })
            .map(|(i, _)| i);
        return match key_end {
            Some(i) => {
                let key = &trimmed[..i];
                !line.starts_with(char::is_whitespace)
                    && !key.contains('=')
                    && !key.starts_with('[')
            }
            None => false,
        };
    }
    false
}
