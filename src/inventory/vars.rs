//! A host's inventory variables, merged by Ansible's precedence (its
//! `VariableManager.get_vars`, default `VARIABLE_PRECEDENCE`), lowest first:
//!
//! 1. inline vars of `all`, then of the host's other groups, sorted by
//!    depth, then `ansible_group_priority`, then name (deeper wins);
//! 2. `group_vars/all` beside the inventory, then beside the playbook;
//! 3. `group_vars/<group>` beside each inventory source (each over all the
//!    host's groups, in the order of 1), then beside the playbook;
//! 4. inline host vars, then `host_vars/<host>` beside the inventory, then
//!    beside the playbook.
//!
//! So `group_vars/all.yml` overrides an inline `[web:vars]`, as in Ansible.
//! Merging replaces top-level keys (Ansible's default `hash_behaviour`).

use std::path::PathBuf;

use super::vars_dirs::entity_vars;
use super::{Inventory, Map, Value};
use crate::error::Error;

/// Variables files found beside a playbook (or any extra directory).
struct ExtraDir {
    groups: Vec<(String, Map)>,
    host: Option<Map>,
}

impl Inventory {
    /// The inventory variables of a host, merged by Ansible's rules, with
    /// `group_vars/` and `host_vars/` beside each inventory source and in
    /// `extra_dirs` (the playbook's directory; these win over the
    /// inventory's). Includes `inventory_file` and `inventory_dir`, which
    /// Ansible also sets as host variables. Works for the implicit
    /// localhost, which gets `all`'s variables and `ansible_connection:
    /// local`.
    pub fn host_vars(&self, host: &str, extra_dirs: &[PathBuf]) -> Result<Map, Error> {
        if !self.has_host(host) && !self.is_implicit_localhost(host) {
            return Err(Error::plain(format!(
                "'{host}' is not a host of the inventory"
            )));
        }
        let groups = self.sorted_groups(host);
        let mut extras = Vec::new();
        for dir in extra_dirs.iter().filter(|d| !self.is_inventory_vars_dir(d)) {
            let mut extra = ExtraDir {
                groups: Vec::new(),
                host: entity_vars(dir, "host_vars", host)?,
            };
            for group in std::iter::once("all").chain(groups.iter().map(String::as_str)) {
                if let Some(vars) = entity_vars(dir, "group_vars", group)? {
                    extra.groups.push((group.to_string(), vars));
                }
            }
            extras.push(extra);
        }

        let mut out = Map::new();
        merge(&mut out, &self.groups["all"].vars);
        for group in &groups {
            merge(&mut out, &self.groups[group.as_str()].vars);
        }
        // `all` first, then the other groups; within each, every inventory
        // directory (each over all groups) before every playbook directory.
        let layers = [vec!["all"], groups.iter().map(String::as_str).collect()];
        for layer in &layers {
            for dir in &self.vars_dirs {
                for group in layer {
                    if let Some(vars) = dir.groups.get(*group) {
                        merge(&mut out, vars);
                    }
                }
            }
            for extra in &extras {
                for group in layer {
                    if let Some((_, vars)) = extra.groups.iter().find(|(g, _)| g == group) {
                        merge(&mut out, vars);
                    }
                }
            }
        }
        match self.hosts.get(host) {
            Some(h) => merge(&mut out, &h.vars),
            None => {
                out.insert("ansible_connection".into(), Value::from("local"));
            }
        }
        for dir in &self.vars_dirs {
            if let Some(vars) = dir.hosts.get(host) {
                merge(&mut out, vars);
            }
        }
        for extra in &extras {
            if let Some(vars) = &extra.host {
                merge(&mut out, vars);
            }
        }
        Ok(out)
    }

    /// The host's groups other than `all`, in merge order: by depth, then
    /// priority, then name.
    pub(super) fn sorted_groups(&self, host: &str) -> Vec<String> {
        let mut groups: Vec<String> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| g != "all")
            .collect();
        groups.sort_by(|a, b| {
            let (ga, gb) = (&self.groups[a.as_str()], &self.groups[b.as_str()]);
            (ga.depth, ga.priority, a).cmp(&(gb.depth, gb.priority, b))
        });
        groups
    }

    /// A group's own variables as `ansible-inventory --export` shows them:
    /// inline vars, then `group_vars/` beside the inventory, and the
    /// priority when it is not the default.
    pub(super) fn export_group_vars(&self, group: &str) -> Map {
        let mut out = Map::new();
        if let Some(g) = self.groups.get(group) {
            merge(&mut out, &g.vars);
            for dir in &self.vars_dirs {
                if let Some(vars) = dir.groups.get(group) {
                    merge(&mut out, vars);
                }
            }
            if g.priority != 1 {
                out.insert("ansible_group_priority".into(), Value::from(g.priority));
            }
        }
        out
    }

    /// A host's own variables as `--export` shows them: inline vars, then
    /// `host_vars/` beside the inventory.
    pub(super) fn export_host_vars(&self, host: &str) -> Map {
        let mut out = Map::new();
        if let Some(h) = self.hosts.get(host) {
            merge(&mut out, &h.vars);
        }
        for dir in &self.vars_dirs {
            if let Some(vars) = dir.hosts.get(host) {
                merge(&mut out, vars);
            }
        }
        out
    }
}

fn merge(into: &mut Map, from: &Map) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}
