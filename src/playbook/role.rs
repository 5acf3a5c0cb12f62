//! Roles: `roles/NAME/{tasks,handlers,defaults,vars,meta}/main.yml`, with
//! dependencies from `meta/main.yml` loaded first.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::keywords::{self, Keywords};
use super::model::{Block, Item, Map, RoleScope};
use super::task::{ListCtx, parse_items};
use crate::error::Error;
use crate::yaml::{Node, NodeValue, load_file};

const MAX_ROLE_DEPTH: usize = 16;

/// Roles loaded for one play: their task blocks and handlers, in order.
#[derive(Default)]
pub struct RoleSet {
    pub tasks: Vec<Item>,
    pub handlers: Vec<Item>,
    seen: HashSet<String>,
}

impl RoleSet {
    /// Loads one `roles:` entry (a name, or a mapping with `role:`).
    pub fn add(
        &mut self,
        entry: &Node,
        playbook_dir: &Path,
        chain: &mut Vec<String>,
    ) -> Result<(), Error> {
        let (name, keywords, params) = role_ref(entry)?;
        if chain.len() >= MAX_ROLE_DEPTH {
            return Err(Error::at(&entry.loc, "role dependencies nested too deeply"));
        }
        if chain.contains(&name) {
            chain.push(name.clone());
            return Err(Error::at(
                &entry.loc,
                format!("role dependency cycle: {}", chain.join(" -> ")),
            ));
        }
        let path = find_role(&name, playbook_dir).ok_or_else(|| {
            Error::at(&entry.loc, format!("the role '{name}' was not found")).help(format!(
                "tend looks in {}/roles/{name} and {}/{name}",
                playbook_dir.display(),
                playbook_dir.display()
            ))
        })?;
        // A role used twice with the same parameters runs once, as in Ansible.
        let identity = format!(
            "{}|{}",
            path.display(),
            serde_json::Value::Object(params.clone())
        );
        if !self.seen.insert(identity) {
            return Ok(());
        }
        chain.push(name.clone());
        if let Some(meta) = read_optional(&path, "meta")? {
            if let Some(deps) = meta.get("dependencies") {
                for dep in deps.as_seq().unwrap_or_default() {
                    self.add(dep, playbook_dir, chain)?;
                }
            }
        }
        chain.pop();
        let scope = Arc::new(RoleScope {
            name: name.clone(),
            defaults: read_optional(&path, "defaults")?
                .map(|n| keywords::mapping(&n))
                .transpose()?
                .unwrap_or_default(),
            vars: read_optional(&path, "vars")?
                .map(|n| keywords::mapping(&n))
                .transpose()?
                .unwrap_or_default(),
            params,
            path: path.clone(),
        });
        let ctx = |dir: &str, handlers| ListCtx {
            base_dir: path.join(dir),
            role: Some(scope.clone()),
            depth: 0,
            handlers,
        };
        let tasks = match read_optional(&path, "tasks")? {
            Some(node) => parse_items(&node, &ctx("tasks", false))?,
            None => Vec::new(),
        };
        self.tasks.push(Item::Block(Block {
            name: None,
            loc: entry.loc.clone(),
            keywords,
            block: tasks,
            rescue: Vec::new(),
            always: Vec::new(),
            role: Some(scope.clone()),
        }));
        if let Some(node) = read_optional(&path, "handlers")? {
            let handlers = parse_items(&node, &ctx("handlers", true))?;
            self.handlers.push(Item::Block(Block {
                name: None,
                loc: entry.loc.clone(),
                keywords: Keywords::default(),
                block: handlers,
                rescue: Vec::new(),
                always: Vec::new(),
                role: Some(scope),
            }));
        }
        Ok(())
    }
}

/// `- name`, `- role: name`, `- {role: name, vars: {..}, tags: [..], when: ..}`.
fn role_ref(entry: &Node) -> Result<(String, Keywords, Map), Error> {
    match &entry.value {
        NodeValue::Str(name) => Ok((name.clone(), Keywords::default(), Map::new())),
        NodeValue::Map(entries) => {
            let mut name = None;
            let mut kw = Keywords::default();
            let mut params = Map::new();
            for (key, value) in entries {
                let k = key.key_text();
                match k.as_str() {
                    "role" | "name" => name = Some(keywords::text(value)?),
                    "vars" => params.extend(keywords::mapping(value)?),
                    _ if kw.read_shared(&k, value)? => {}
                    _ => {
                        params.insert(k, value.to_value());
                    }
                }
            }
            let name =
                name.ok_or_else(|| Error::at(&entry.loc, "a role entry needs 'role: NAME'"))?;
            Ok((name, kw, params))
        }
        _ => Err(Error::at(
            &entry.loc,
            "a role is a name or a mapping with 'role:'",
        )),
    }
}

fn find_role(name: &str, playbook_dir: &Path) -> Option<PathBuf> {
    [
        playbook_dir.join("roles").join(name),
        playbook_dir.join(name),
        PathBuf::from(name),
    ]
    .into_iter()
    .find(|p| p.join("tasks").is_dir() || p.join("meta").is_dir() || p.join("handlers").is_dir())
}

/// `DIR/main.yml` (or `.yaml`, or `main`) of a role, if the role has it.
fn read_optional(role: &Path, dir: &str) -> Result<Option<Node>, Error> {
    for file in ["main.yml", "main.yaml", "main"] {
        let path = role.join(dir).join(file);
        if path.is_file() {
            return load_file(&path).map(Some);
        }
    }
    Ok(None)
}
