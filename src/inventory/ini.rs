//! Ansible's INI inventory format, hand-written because generic INI crates
//! mangle it (`web[01:03]`, `host:2222`, `host k=v k2='v 2'`).
//!
//! The rules are those of Ansible's `ini` inventory plugin: lines before
//! any section are ungrouped hosts; `[g]` holds host lines, `[g:vars]`
//! `key=value` lines, `[g:children]` group names; `#` and `;` start comment
//! lines. A group named in `[g:children]` or given `[g:vars]` must be
//! declared somewhere (in this file, or in a source read before it).
//! Values are typed by `literal.rs`; host lines are split like a shell
//! line first, so quotes group words, while a `:vars` value is everything
//! after the `=`.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;

use super::literal::parse_value;
use super::range::parse_host_entry;
use super::shlex;
use super::{Inventory, Value};
use crate::error::Error;
use crate::yaml::{Loc, Source};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Hosts,
    Vars,
    Children,
}

/// A group used before it is declared, and where.
enum Pending {
    Vars(Loc),
    Children { loc: Loc, parents: Vec<String> },
}

pub(super) fn parse(inv: &mut Inventory, path: &Path, text: String) -> Result<(), Error> {
    let source = Arc::new(Source {
        path: path.to_path_buf(),
        text,
    });
    let text = source.text.as_str();
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = "ungrouped".to_string();
    let mut kind = Kind::Hosts;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        // Where `line` starts in `raw`, so columns point into the file.
        let indent = raw.len() - raw.trim_start().len();
        let at = |byte: usize| Loc {
            source: source.clone(),
            line: index + 1,
            col: raw[..indent + byte].chars().count() + 1,
        };
        if let Some((name, tag)) = section(line) {
            let loc = at(0);
            kind = match tag {
                None | Some("hosts") => Kind::Hosts,
                Some("vars") => Kind::Vars,
                Some("children") => Kind::Children,
                Some(other) => {
                    return Err(Error::at(&at(name.len() + 2), format!("section [{name}:{other}] has unknown type '{other}'"))
                        .help(format!("use [{name}] for hosts, [{name}:vars] for variables or [{name}:children] for child groups")));
                }
            };
            group = name.to_string();
            if !inv.has_group(&group) {
                if kind == Kind::Vars && !pending.contains_key(&group) {
                    pending.insert(group.clone(), Pending::Vars(loc.clone()));
                }
                inv.add_group(&group);
            }
            if kind != Kind::Vars {
                match pending.shift_remove(&group) {
                    Some(Pending::Children { parents, loc }) => {
                        for parent in parents {
                            inv.add_child(&parent, &group, &loc)?;
                        }
                    }
                    Some(Pending::Vars(_)) | None => {}
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(Error::at(&at(0), format!("invalid section header {line}"))
                .help("a section is [group], [group:vars] or [group:children], with no spaces inside the brackets"));
        }
        match kind {
            Kind::Hosts => host_line(inv, &group, line, &at)?,
            Kind::Vars => {
                let Some((key, value)) = line.split_once('=') else {
                    return Err(Error::at(
                        &at(0),
                        format!("expected key=value in [{group}:vars], got '{line}'"),
                    ));
                };
                let key = key.trim();
                if key.is_empty() {
                    return Err(Error::at(
                        &at(0),
                        "this variable has no name before the '='",
                    ));
                }
                inv.set_group_var(&group, key, parse_value(value.trim()), &at(0))?;
            }
            Kind::Children => {
                let child = child_name(line).ok_or_else(|| {
                    Error::at(
                        &at(0),
                        format!("expected a group name in [{group}:children], got '{line}'"),
                    )
                })?;
                if inv.has_group(child) {
                    inv.add_child(&group, child, &at(0))?;
                } else {
                    match pending
                        .entry(child.to_string())
                        .or_insert_with(|| Pending::Children {
                            loc: at(0),
                            parents: Vec::new(),
                        }) {
                        Pending::Children { parents, .. } => parents.push(group.clone()),
                        Pending::Vars(_) => {}
                    }
                }
            }
        }
    }
    if let Some((name, decl)) = pending.into_iter().next() {
        return Err(match decl {
            Pending::Vars(loc) => Error::at(
                &loc,
                format!("section [{name}:vars] is for a group that is never declared"),
            )
            .help(format!(
                "declare it with a [{name}] or [{name}:children] section"
            )),
            Pending::Children { loc, mut parents } => {
                let parent = parents.pop().unwrap_or_default();
                Error::at(
                    &loc,
                    format!("section [{parent}:children] includes undefined group '{name}'"),
                )
                .help(format!(
                    "declare it with a [{name}] section (it may be empty)"
                ))
            }
        });
    }
    Ok(())
}

/// `[name]` or `[name:tag]`, optionally followed by a comment, as Ansible's
/// section pattern reads it: a name has no spaces, `:` or `]`.
fn section(line: &str) -> Option<(&str, Option<&str>)> {
    let inner = line.strip_prefix('[')?;
    let close = inner.find(']')?;
    let rest = inner[close + 1..].trim_start();
    if !(rest.is_empty() || rest.starts_with('#') || rest.starts_with(';')) {
        return None;
    }
    let (name, tag) = match inner[..close].split_once(':') {
        Some((name, tag)) => (name, Some(tag)),
        None => (&inner[..close], None),
    };
    let name_ok = !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == ':');
    let tag_ok =
        tag.is_none_or(|t| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_'));
    (name_ok && tag_ok).then_some((name, tag))
}

/// A group name on a `[g:children]` line, optionally followed by a comment.
fn child_name(line: &str) -> Option<&str> {
    let mut parts = line.splitn(2, char::is_whitespace);
    let name = parts.next()?;
    let rest = parts.next().unwrap_or("").trim_start();
    let ok = !name.contains([':', ']', '#']) && (rest.is_empty() || rest.starts_with('#'));
    ok.then_some(name)
}

/// `name[:port] [key=value ...]`: adds the host (or the hosts of a range)
/// to the group and sets its variables.
fn host_line(
    inv: &mut Inventory,
    group: &str,
    line: &str,
    at: &dyn Fn(usize) -> Loc,
) -> Result<(), Error> {
    let words = shlex::split(line)
        .map_err(|e| Error::at(&at(0), format!("cannot read this host line: {e}")))?;
    let Some((entry, assignments)) = words.split_first() else {
        return Err(Error::at(&at(0), "expected a host name"));
    };
    let spec = parse_host_entry(&entry.text).map_err(|e| Error::at(&at(entry.start), e))?;
    let mut vars: Vec<(String, Value)> = Vec::new();
    for word in assignments {
        let Some((key, value)) = word.text.split_once('=') else {
            return Err(Error::at(
                &at(word.start),
                format!(
                    "expected key=value after the host name, got '{}'",
                    word.text
                ),
            )
            .help("quote values that contain spaces: key='a value'"));
        };
        if key.is_empty() {
            return Err(Error::at(
                &at(word.start),
                "this variable has no name before the '='",
            ));
        }
        vars.push((key.to_string(), parse_value(value)));
    }
    for name in &spec.names {
        inv.add_host(name, group);
        if let Some(port) = spec.port {
            inv.set_host_var(name, "ansible_port", Value::from(port));
        }
        for (key, value) in &vars {
            inv.set_host_var(name, key, value.clone());
        }
    }
    Ok(())
}
