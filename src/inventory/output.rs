//! The inventory as `ansible-inventory` shows it: `--list` JSON (with or
//! without `--export`) and the `--graph` tree, in the same shapes, so that
//! tools and habits built on them keep working; and the `groups` mapping
//! that playbooks see as a magic variable.

use super::{Inventory, Map, Value};
use crate::error::Error;

/// More `--graph` output than this is cut short: the graph repeats a group
/// under each of its parents, so a lattice of groups (each a child of the
/// two above it) has exponentially many lines.
const MAX_GRAPH_BYTES: usize = 64 << 20;

/// Host variables Ansible sets itself and `ansible-inventory` leaves out.
const INTERNAL_VARS: [&str; 2] = ["inventory_file", "inventory_dir"];

impl Inventory {
    /// `ansible-inventory --list`: each group with its direct `hosts` and
    /// `children` (empty keys and empty groups left out, `all` lists no
    /// hosts), and `_meta.hostvars` with each host's merged inventory
    /// variables. Keys are sorted, as Ansible's `json.dumps(sort_keys=True)`.
    pub fn to_list_json(&self) -> Value {
        self.list_json(false)
    }

    /// `ansible-inventory --list --export`: groups carry their own `vars`
    /// and `_meta.hostvars` only each host's own variables, unmerged.
    pub fn to_list_json_export(&self) -> Value {
        self.list_json(true)
    }

    fn list_json(&self, export: bool) -> Value {
        let mut out = Map::new();
        for (name, group) in &self.groups {
            let mut entry = Map::new();
            if name != "all" && !group.hosts.is_empty() {
                let hosts: Vec<&str> = group.hosts.iter().map(String::as_str).collect();
                entry.insert("hosts".into(), Value::from(hosts));
            }
            if !group.children.is_empty() {
                entry.insert("children".into(), Value::from(group.children.clone()));
            }
            if export {
                let vars = self.export_group_vars(name);
                if !vars.is_empty() {
                    entry.insert("vars".into(), Value::Object(vars));
                }
            }
            if !entry.is_empty() {
                out.insert(name.clone(), Value::Object(entry));
            }
        }
        let mut hostvars = Map::new();
        for host in self.hosts.keys() {
            let mut vars = if export {
                self.export_host_vars(host)
            } else {
                // Only the inventory's own directories are read here, and
                // they were read at load time, so this cannot fail.
                self.host_vars(host, &[]).unwrap_or_default()
            };
            for internal in INTERNAL_VARS {
                vars.remove(internal);
            }
            if !vars.is_empty() {
                hostvars.insert(host.clone(), Value::Object(vars));
            }
        }
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        out.insert("_meta".into(), Value::Object(meta));
        sort_keys(Value::Object(out))
    }

    /// `ansible-inventory --host HOST`: the host's merged inventory
    /// variables without the ones Ansible sets itself, keys sorted.
    pub fn host_json(&self, host: &str) -> Result<Value, Error> {
        let mut vars = self.host_vars(host, &[])?;
        for internal in INTERNAL_VARS {
            vars.remove(internal);
        }
        Ok(sort_keys(Value::Object(vars)))
    }

    /// `ansible-inventory --graph`: `@group:` lines with children and then
    /// direct hosts indented below, in definition order, ending in a newline.
    /// Past `MAX_GRAPH_BYTES` the graph is cut short with a note.
    pub fn to_graph(&self) -> String {
        enum Entry<'a> {
            Group(&'a str),
            Host(&'a str),
        }
        let mut out = String::new();
        // Iterative, so that a long chain of groups cannot exhaust the stack.
        let mut stack = vec![(Entry::Group("all"), 0)];
        while let Some((entry, depth)) = stack.pop() {
            if out.len() > MAX_GRAPH_BYTES {
                out.push_str(&format!(
                    "... (cut short: the graph is longer than {} MiB)\n",
                    MAX_GRAPH_BYTES >> 20
                ));
                break;
            }
            let name = match entry {
                Entry::Host(host) => {
                    line(&mut out, host, depth);
                    continue;
                }
                Entry::Group(name) => name,
            };
            line(&mut out, &format!("@{name}:"), depth);
            let Some(group) = self.groups.get(name) else {
                continue;
            };
            // Pushed in reverse: children come out first, in order, then hosts.
            if name != "all" {
                stack.extend(
                    group
                        .hosts
                        .iter()
                        .rev()
                        .map(|h| (Entry::Host(h), depth + 1)),
                );
            }
            stack.extend(
                group
                    .children
                    .iter()
                    .rev()
                    .map(|c| (Entry::Group(c), depth + 1)),
            );
        }
        out
    }

    /// Ansible's `groups` magic variable: every group (with `all` and
    /// `ungrouped`) and all its hosts, through child groups.
    pub fn groups_dict(&self) -> Map {
        self.groups
            .keys()
            .map(|g| (g.clone(), Value::from(self.group_hosts(g))))
            .collect()
    }
}

fn line(out: &mut String, name: &str, depth: usize) {
    if depth > 0 {
        out.push_str(&"  |".repeat(depth));
        out.push_str("--");
    }
    out.push_str(name);
    out.push('\n');
}

/// Sorts the keys of every mapping, recursively, as `sort_keys=True` does.
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}
