//! Inventories: hosts, groups and their variables.
//!
//! Read the way Ansible reads them, so that an existing inventory gives the
//! same hosts, groups and variables: INI files (`ini.rs`), YAML files
//! (`yaml.rs`), directories of those and comma-separated host lists
//! (`source.rs`); `group_vars/` and `host_vars/` beside them
//! (`vars_dirs.rs`), merged by Ansible's precedence (`vars.rs`); host
//! patterns as `hosts:` and `--limit` write them (`pattern.rs`); and the
//! `ansible-inventory --list` and `--graph` views (`output.rs`).
//!
//! Loading is in two steps, as in Ansible: every source adds hosts, groups
//! and edges, then `reconcile` attaches parentless groups to `all`, fills
//! `ungrouped` and works out group depths, which variable precedence needs.

mod build;
mod ini;
mod literal;
mod output;
mod pattern;
mod range;
mod shlex;
mod source;
mod vars;
mod vars_dirs;
mod yaml;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use indexmap::{IndexMap, IndexSet};

use crate::error::Error;
use vars_dirs::VarsDir;

pub type Value = serde_json::Value;
pub type Map = serde_json::Map<String, Value>;

/// Names that mean the control machine itself. When one of them is not in
/// the inventory, a pattern naming it still matches an implicit host, as
/// Ansible's implicit localhost does.
pub const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

#[derive(Debug, Clone, Default)]
struct Host {
    /// Variables set on the host itself, in the order they were set.
    vars: Map,
    /// Groups the host was put in directly (not their ancestors).
    groups: Vec<String>,
}

#[derive(Debug, Clone)]
struct Group {
    vars: Map,
    /// `ansible_group_priority`: among groups of the same depth, a higher
    /// priority is merged later and so wins.
    priority: i64,
    /// Hosts put in this group directly, in the order they were added; a
    /// set, so that adding each of many hosts stays cheap.
    hosts: IndexSet<String>,
    children: Vec<String>,
    parents: Vec<String>,
    /// Longest path from `all`; deeper (more specific) groups win.
    depth: usize,
}

impl Group {
    fn new() -> Group {
        Group {
            vars: Map::new(),
            priority: 1,
            hosts: IndexSet::new(),
            children: Vec::new(),
            parents: Vec::new(),
            depth: 0,
        }
    }
}

/// The two inventory file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ini,
    Yaml,
}

/// Hosts and groups read from one or more inventory sources.
#[derive(Debug)]
pub struct Inventory {
    /// In definition order: the order hosts were first seen.
    hosts: IndexMap<String, Host>,
    /// In definition order, starting with `all` and `ungrouped`.
    groups: IndexMap<String, Group>,
    /// `group_vars/` and `host_vars/` beside each source, in `-i` order.
    vars_dirs: Vec<VarsDir>,
    /// The file being read, recorded on each new host as `inventory_file`.
    current_source: Option<PathBuf>,
}

impl Inventory {
    /// `-i` may be given several times; each source is an INI file, a YAML
    /// file (.yml/.yaml/.json, or content starting with a YAML mapping such
    /// as `all:`), a directory (every file in it, recursively, skipping
    /// what Ansible skips: hidden files, `group_vars`/`host_vars`, and
    /// `*.retry`, `*.orig`, `*~`, `*.ini`, `*.cfg`, `*.md`...), or a
    /// comma-separated host list (`web1,web2,`: contains a comma and is not
    /// an existing path). With no source, the inventory holds only
    /// `localhost`, with `ansible_connection: local`.
    pub fn load(sources: &[String]) -> Result<Inventory, Error> {
        let mut inv = Inventory::empty();
        if sources.is_empty() {
            inv.add_host("localhost", "ungrouped");
            inv.set_host_var("localhost", "ansible_connection", Value::from("local"));
        }
        for source in sources {
            inv.load_source(source)?;
        }
        inv.reconcile();
        inv.load_vars_dirs(sources)?;
        Ok(inv)
    }

    /// Reads one inventory file's bytes as `format`, as if read from
    /// `path`, with no `group_vars/` or `host_vars/`. The fuzz targets feed
    /// bytes here, so that they reach each parser as `load` does once the
    /// file is read.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>, format: Format) -> Result<Inventory, Error> {
        let mut inv = Inventory::empty();
        inv.load_bytes(path, bytes, Some(format))?;
        inv.reconcile();
        Ok(inv)
    }

    /// All hosts, in definition order.
    pub fn hosts(&self) -> Vec<&str> {
        self.hosts.keys().map(String::as_str).collect()
    }

    /// All groups, in definition order, starting with `all` and `ungrouped`.
    pub fn groups(&self) -> Vec<&str> {
        self.groups.keys().map(String::as_str).collect()
    }

    pub fn has_host(&self, host: &str) -> bool {
        self.hosts.contains_key(host)
    }

    pub fn has_group(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    /// The hosts of a group and of all its descendants, deduplicated, in
    /// host definition order. Empty for an unknown group.
    pub fn group_hosts(&self, group: &str) -> Vec<&str> {
        if !self.groups.contains_key(group) {
            return Vec::new();
        }
        let mut seen = vec![false; self.hosts.len()];
        for g in self.descendants(group) {
            for h in &self.groups[g.as_str()].hosts {
                if let Some(i) = self.hosts.get_index_of(h) {
                    seen[i] = true;
                }
            }
        }
        self.hosts
            .keys()
            .zip(seen)
            .filter(|(_, s)| *s)
            .map(|(h, _)| h.as_str())
            .collect()
    }

    /// Ansible's `group_names`: every group the host is in, directly or
    /// through a child group, sorted, without `all`. `ungrouped` is there
    /// only for hosts in no other group, as in Ansible.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| g != "all")
            .collect();
        names.sort();
        names
    }

    /// True for `localhost`, `127.0.0.1` and `::1` when the inventory does
    /// not define them: Ansible's implicit localhost, which patterns naming
    /// it match but `all` does not, and which runs with the local connection.
    pub fn is_implicit_localhost(&self, host: &str) -> bool {
        LOCALHOST_NAMES.contains(&host) && !self.hosts.contains_key(host)
    }

    /// The inventory file a host was first defined in (Ansible's
    /// `inventory_file`); `None` for hosts from a host list.
    pub fn inventory_file(&self, host: &str) -> Option<&Path> {
        match self.hosts.get(host)?.vars.get("inventory_file")? {
            Value::String(s) => Some(Path::new(s)),
            _ => None,
        }
    }

    /// Every group the host is in: its direct groups and their ancestors,
    /// including `all`. Empty for unknown hosts.
    fn host_groups(&self, host: &str) -> Vec<String> {
        let Some(h) = self.hosts.get(host) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        // A set beside the list: a host below a long chain of groups would
        // otherwise cost a scan of the list per group.
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack: Vec<&str> = h.groups.iter().map(String::as_str).collect();
        while let Some(g) = stack.pop() {
            if !seen.insert(g) {
                continue;
            }
            out.push(g.to_string());
            if let Some(group) = self.groups.get(g) {
                stack.extend(group.parents.iter().map(String::as_str));
            }
        }
        out
    }

    /// A group and every group below it, breadth first, each once.
    fn descendants(&self, group: &str) -> Vec<String> {
        let mut out = vec![group.to_string()];
        // A set beside the list: a long chain of groups would otherwise
        // cost a scan of the list per group.
        let mut seen: HashSet<&str> = HashSet::from([group]);
        let mut i = 0;
        while i < out.len() {
            if let Some(g) = self.groups.get(out[i].as_str()) {
                for child in &g.children {
                    if seen.insert(child.as_str()) {
                        out.push(child.clone());
                    }
                }
            }
            i += 1;
        }
        out
    }
}
