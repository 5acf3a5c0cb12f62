//! Building an inventory: the few operations every source format uses, and
//! the final `reconcile` that applies Ansible's rules about `all` and
//! `ungrouped` once every source has been read.

use super::{Group, Host, Inventory, Map, Value};
use crate::error::Error;
use crate::yaml::Loc;

impl Inventory {
    /// An inventory with only the implicit groups: `all`, and `ungrouped`
    /// as its first child (so it comes first in `--list` and `--graph`).
    pub(super) fn empty() -> Inventory {
        let mut inv = Inventory {
            hosts: Default::default(),
            groups: Default::default(),
            vars_dirs: Vec::new(),
            current_source: None,
        };
        inv.add_group("all");
        inv.add_group("ungrouped");
        inv.link("all", "ungrouped");
        inv
    }

    pub(super) fn add_group(&mut self, name: &str) {
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_string(), Group::new());
        }
    }

    /// Adds a host (if new) and puts it in `group`, which is created if
    /// needed. A new host records the file it came from, as Ansible's
    /// `inventory_file` and `inventory_dir` host variables.
    pub(super) fn add_host(&mut self, name: &str, group: &str) {
        if !self.hosts.contains_key(name) {
            let mut vars = Map::new();
            let (file, dir) = match &self.current_source {
                Some(path) => {
                    let dir = path.parent().map(|d| d.display().to_string());
                    (
                        Value::from(path.display().to_string()),
                        dir.map_or(Value::Null, Value::from),
                    )
                }
                None => (Value::Null, Value::Null),
            };
            vars.insert("inventory_file".into(), file);
            vars.insert("inventory_dir".into(), dir);
            self.hosts.insert(
                name.to_string(),
                Host {
                    vars,
                    groups: Vec::new(),
                },
            );
        }
        self.add_group(group);
        let g = self.groups.get_mut(group).expect("group was just added");
        if !g.hosts.iter().any(|h| h == name) {
            g.hosts.push(name.to_string());
        }
        let h = self.hosts.get_mut(name).expect("host was just added");
        if !h.groups.iter().any(|g| g == group) {
            h.groups.push(group.to_string());
        }
    }

    /// Sets a variable on a host; a later definition of the same variable
    /// replaces the earlier one (Ansible's default `hash_behaviour`).
    pub(super) fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.vars.insert(key.to_string(), value);
        }
    }

    /// Sets a variable on a group. `ansible_group_priority` is not a
    /// variable but the group's priority, as in Ansible.
    pub(super) fn set_group_var(
        &mut self,
        group: &str,
        key: &str,
        value: Value,
        loc: &Loc,
    ) -> Result<(), Error> {
        self.add_group(group);
        let g = self.groups.get_mut(group).expect("group was just added");
        if key == "ansible_group_priority" {
            let priority = match &value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            g.priority = priority.ok_or_else(|| {
                Error::at(
                    loc,
                    format!(
                        "ansible_group_priority of group '{group}' must be an integer, not {value}"
                    ),
                )
            })?;
        } else {
            g.vars.insert(key.to_string(), value);
        }
        Ok(())
    }

    /// Makes `child` a child group of `parent`, creating both if needed.
    /// Refuses a group inside itself and any cycle, naming the cycle.
    pub(super) fn add_child(&mut self, parent: &str, child: &str, loc: &Loc) -> Result<(), Error> {
        if child == "all" {
            return Err(Error::at(
                loc,
                format!("the group 'all' cannot be a child of '{parent}'"),
            )
            .help("every group is already inside 'all'"));
        }
        if parent == child {
            return Err(Error::at(
                loc,
                format!("the group '{parent}' cannot be a child of itself"),
            ));
        }
        self.add_group(parent);
        self.add_group(child);
        if let Some(path) = self.path_down(child, parent) {
            let cycle = std::iter::once(parent)
                .chain(path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" -> ");
            return Err(Error::at(
                loc,
                format!("making '{child}' a child of '{parent}' creates a cycle: {cycle}"),
            ));
        }
        self.link(parent, child);
        Ok(())
    }

    fn link(&mut self, parent: &str, child: &str) {
        let p = self
            .groups
            .get_mut(parent)
            .expect("caller added the parent");
        if !p.children.iter().any(|c| c == child) {
            p.children.push(child.to_string());
        }
        let c = self.groups.get_mut(child).expect("caller added the child");
        if !c.parents.iter().any(|p| p == parent) {
            c.parents.push(parent.to_string());
        }
    }

    /// A path of child links from `from` down to `to`, both included.
    fn path_down(&self, from: &str, to: &str) -> Option<Vec<String>> {
        if from == to {
            return Some(vec![to.to_string()]);
        }
        for child in &self.groups.get(from)?.children {
            if let Some(mut rest) = self.path_down(child, to) {
                rest.insert(0, from.to_string());
                return Some(rest);
            }
        }
        None
    }

    /// Ansible's `reconcile_inventory`: groups without a parent become
    /// children of `all`; `ungrouped` holds exactly the hosts in no other
    /// group; depths are computed for variable precedence.
    pub(super) fn reconcile(&mut self) {
        let orphans: Vec<String> = self
            .groups
            .iter()
            .filter(|(name, g)| name.as_str() != "all" && g.parents.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        for name in orphans {
            self.link("all", &name);
        }

        let names: Vec<String> = self.hosts.keys().cloned().collect();
        for name in names {
            let grouped = self.hosts[&name]
                .groups
                .iter()
                .any(|g| g != "all" && g != "ungrouped");
            let in_ungrouped = self.hosts[&name].groups.iter().any(|g| g == "ungrouped");
            if grouped && in_ungrouped {
                self.hosts[&name].groups.retain(|g| g != "ungrouped");
                self.groups["ungrouped"].hosts.retain(|h| h != &name);
            } else if !grouped && !in_ungrouped {
                self.add_host(&name, "ungrouped");
            }
        }

        let mut depths: Vec<Option<usize>> = vec![None; self.groups.len()];
        for i in 0..self.groups.len() {
            self.depth_of(i, &mut depths);
        }
        for (g, d) in self.groups.values_mut().zip(depths) {
            g.depth = d.unwrap_or(0);
        }
    }

    /// Longest path from `all`, memoised. The graph has no cycles: every
    /// edge went through `add_child` or links a parentless group to `all`.
    fn depth_of(&self, index: usize, memo: &mut Vec<Option<usize>>) -> usize {
        if let Some(d) = memo[index] {
            return d;
        }
        let (_, group) = self.groups.get_index(index).expect("index in range");
        let d = group
            .parents
            .iter()
            .filter_map(|p| self.groups.get_index_of(p))
            .map(|p| self.depth_of(p, memo) + 1)
            .max()
            .unwrap_or(0);
        memo[index] = Some(d);
        d
    }
}
