//! Ansible's YAML inventory format: a mapping of group names to groups,
//! each with optional `hosts` (host name -> variables), `vars` and
//! `children` (group name -> group, recursively). `all` is the usual top,
//! but any group may be at the top level. Host names take ranges and ports
//! as in INI files.
//!
//! Ansible warns and skips what does not fit; tend refuses it with the
//! position and the expected shape, since a skipped group is a host that
//! silently never gets configured.

use std::path::Path;

use super::Inventory;
use super::range::parse_host_entry;
use crate::error::Error;
use crate::yaml::{Node, NodeValue, load_str};

const SHAPE: &str = "a YAML inventory looks like:\n      all:\n        hosts:\n          web1:\n            ansible_host: 10.0.0.1\n        vars:\n          ntp_server: ntp.example.com\n        children:\n          db:\n            hosts:\n              db1:";

pub(super) fn parse(inv: &mut Inventory, path: &Path, text: String) -> Result<(), Error> {
    let root = load_str(path, text)?;
    match &root.value {
        // An empty file (or only comments) adds nothing.
        NodeValue::Null => Ok(()),
        NodeValue::Map(entries) => {
            for (key, value) in entries {
                group(inv, &key.key_text(), key, value)?;
            }
            Ok(())
        }
        _ => Err(Error::at(
            &root.loc,
            format!(
                "a YAML inventory is a mapping of group names to groups, not {}",
                root.kind()
            ),
        )
        .help(SHAPE)),
    }
}

/// Reads one group: its `hosts`, `vars` and `children`, in file order.
fn group(inv: &mut Inventory, name: &str, key: &Node, body: &Node) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::at(&key.loc, "a group needs a name"));
    }
    inv.add_group(name);
    let entries = match &body.value {
        NodeValue::Null => return Ok(()),
        NodeValue::Map(entries) => entries,
        _ => {
            return Err(Error::at(
                &body.loc,
                format!(
                    "group '{name}' must be a mapping with hosts, vars or children, not {}",
                    body.kind()
                ),
            )
            .help(SHAPE));
        }
    };
    for (section_key, section) in entries {
        let section_name = section_key.key_text();
        match section_name.as_str() {
            "hosts" => {
                for (host_key, host_vars) in named_entries(section, name, "hosts")? {
                    hosts(inv, name, &host_key, &host_vars)?;
                }
            }
            "children" => {
                for (child_key, child) in named_entries(section, name, "children")? {
                    let child_name = child_key.key_text();
                    group(inv, &child_name, &child_key, &child)?;
                    inv.add_child(name, &child_name, &child_key.loc)?;
                }
            }
            "vars" => {
                let Some(vars) = section.as_map() else {
                    if section.is_null() {
                        continue;
                    }
                    return Err(Error::at(
                        &section.loc,
                        format!("the vars of group '{name}' must be a mapping of names to values, not {}", section.kind()),
                    )
                    .help("write them as\n      vars:\n        http_port: 80"));
                };
                for (var, value) in vars {
                    inv.set_group_var(name, &var.key_text(), value.to_value(), &var.loc)?;
                }
            }
            other => {
                return Err(Error::at(&section_key.loc, format!("unknown key '{other}' in group '{name}'"))
                    .help("a group has only `hosts`, `vars` and `children`; a child group goes under `children`"));
            }
        }
    }
    Ok(())
}

/// The entries of `hosts` or `children`: a mapping, or (as Ansible allows)
/// a single name as a string.
fn named_entries(section: &Node, group: &str, what: &str) -> Result<Vec<(Node, Node)>, Error> {
    match &section.value {
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Map(entries) => Ok(entries.clone()),
        NodeValue::Str(_) => {
            let null = Node {
                value: NodeValue::Null,
                loc: section.loc.clone(),
            };
            Ok(vec![(section.clone(), null)])
        }
        _ => {
            let example = if what == "hosts" {
                "write them as a mapping, each name followed by a colon:\n      hosts:\n        web1:\n        web2:\n          ansible_port: 2222"
            } else {
                "write them as a mapping, each name followed by a colon:\n      children:\n        web:\n        db:"
            };
            Err(Error::at(
                &section.loc,
                format!(
                    "the {what} of group '{group}' must be a mapping of names, not {}",
                    section.kind()
                ),
            )
            .help(example))
        }
    }
}

/// One entry under `hosts`: a name (maybe a range, maybe with a port) and
/// its variables.
fn hosts(inv: &mut Inventory, group: &str, key: &Node, vars: &Node) -> Result<(), Error> {
    let entry = key.key_text();
    let spec = parse_host_entry(&entry).map_err(|e| Error::at(&key.loc, e))?;
    let vars = match &vars.value {
        NodeValue::Null => &[][..],
        NodeValue::Map(entries) => entries.as_slice(),
        _ => {
            return Err(Error::at(
                &vars.loc,
                format!(
                    "the variables of host '{entry}' must be a mapping, not {}",
                    vars.kind()
                ),
            )
            .help(format!(
                "write them as\n      {entry}:\n        ansible_host: 10.0.0.1"
            )));
        }
    };
    for name in &spec.names {
        inv.add_host(name, group);
        if let Some(port) = spec.port {
            inv.set_host_var(name, "ansible_port", port.into());
        }
        for (var, value) in vars {
            inv.set_host_var(name, &var.key_text(), value.to_value());
        }
    }
    Ok(())
}
