//! Building an inventory: the few operations every source format uses, and
//! the final `reconcile` that applies Ansible's rules about `all` and
//! `ungrouped` once every source has been read.

use std::collections::HashSet;

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
        if !g.hosts.contains(name) {
            g.hosts.insert(name.to_string());
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

    /// A path of child links from `from` down to `to`, both included: the
    /// first in depth-first order. Iterative, and each group is entered
    /// once, so that a long chain of groups cannot exhaust the stack nor a
    /// lattice of them (each group a child of the two above it) take
    /// exponential time.
    fn path_down(&self, from: &str, to: &str) -> Option<Vec<String>> {
        let mut entered: HashSet<&str> = HashSet::from([from]);
        // Each group on the path so far, with the index of its next child.
        let mut stack: Vec<(&str, usize)> = vec![(from, 0)];
        while let Some(&(group, next)) = stack.last() {
            if group == to {
                return Some(stack.iter().map(|(g, _)| g.to_string()).collect());
            }
            let children = self.groups.get(group).map_or(&[][..], |g| &g.children[..]);
            match children.get(next) {
                Some(child) => {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    if entered.insert(child.as_str()) {
                        stack.push((child.as_str(), 0));
                    }
                }
                None => {
                    stack.pop();
                }
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
        // Removed from `ungrouped` in one pass at the end: one removal per
        // host would be quadratic in an inventory of many hosts.
        let mut grouped_now = HashSet::new();
        for name in names {
            let grouped = self.hosts[&name]
                .groups
                .iter()
                .any(|g| g != "all" && g != "ungrouped");
            let in_ungrouped = self.hosts[&name].groups.iter().any(|g| g == "ungrouped");
            if grouped && in_ungrouped {
                self.hosts[&name].groups.retain(|g| g != "ungrouped");
                grouped_now.insert(name);
            } else if !grouped && !in_ungrouped {
                self.add_host(&name, "ungrouped");
            }
        }
        self.groups["ungrouped"]
            .hosts
            .retain(|h| !grouped_now.contains(h));

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
    /// Iterative, so that a long chain of groups cannot exhaust the stack.
    fn depth_of(&self, index: usize, memo: &mut [Option<usize>]) {
        let parents = |i: usize| -> Vec<usize> {
            self.groups
                .get_index(i)
                .map(|(_, g)| {
                    g.parents
                        .iter()
                        .filter_map(|p| self.groups.get_index_of(p))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut stack = vec![index];
        while let Some(&i) = stack.last() {
            if memo[i].is_some() {
                stack.pop();
                continue;
            }
            let of = parents(i);
            let pending: Vec<usize> = of.iter().copied().filter(|&p| memo[p].is_none()).collect();
            if pending.is_empty() {
                memo[i] = Some(
                    of.iter()
                        .filter_map(|&p| memo[p])
                        .map(|d| d + 1)
                        .max()
                        .unwrap_or(0),
                );
                stack.pop();
            } else {
                stack.extend(pending);
            }
        }
    }
}
