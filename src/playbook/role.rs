//! Roles: `roles/NAME/{tasks,handlers,defaults,vars,meta}/main.yml`, with
//! dependencies from `meta/main.yml` loaded first.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use super::keywords::{self, Keywords};
use super::model::{Block, Item, Map, RoleScope};
use super::role_task::TaskRoles;
use super::task::{ListCtx, parse_items};
use crate::error::Error;
use crate::yaml::{Loc, Node, NodeValue, load_file};

const MAX_ROLE_DEPTH: usize = 16;

/// One use of a role: a `roles:` entry, a dependency, or an
/// `import_role`/`include_role` task (which may pick other files than
/// `main.yml` with `tasks_from`, `vars_from`, `defaults_from`,
/// `handlers_from`).
pub struct RoleRef {
    pub name: String,
    pub keywords: Keywords,
    pub params: Map,
    pub loc: Loc,
    pub tasks_from: String,
    pub vars_from: String,
    pub defaults_from: String,
    pub handlers_from: String,
}

impl RoleRef {
    pub fn new(name: String, loc: Loc) -> RoleRef {
        RoleRef {
            name,
            keywords: Keywords::default(),
            params: Map::new(),
            loc,
            tasks_from: "main".into(),
            vars_from: "main".into(),
            defaults_from: "main".into(),
            handlers_from: "main".into(),
        }
    }
}

/// Roles loaded for one play: their task blocks and handlers, in order.
#[derive(Default)]
pub struct RoleSet {
    pub tasks: Vec<Item>,
    pub handlers: Vec<Item>,
    seen: HashSet<String>,
    /// For role tasks inside these roles' task files.
    task_roles: Option<Rc<TaskRoles>>,
}

impl RoleSet {
    pub fn for_tasks(task_roles: Option<Rc<TaskRoles>>) -> RoleSet {
        RoleSet {
            task_roles,
            ..RoleSet::default()
        }
    }

    /// Loads one `roles:` entry (a name, or a mapping with `role:`).
    /// `parent` holds the keywords of the role that depends on this one
    /// (none for a play's role): as in Ansible, a dependency takes on the
    /// tags and conditions of the role that pulls it in.
    pub fn add(
        &mut self,
        entry: &Node,
        playbook_dir: &Path,
        chain: &mut Vec<String>,
        parent: &Keywords,
    ) -> Result<(), Error> {
        self.add_role(role_ref(entry)?, playbook_dir, chain, parent)
    }

    /// Loads one use of a role, its dependencies first.
    pub fn add_role(
        &mut self,
        role: RoleRef,
        playbook_dir: &Path,
        chain: &mut Vec<String>,
        parent: &Keywords,
    ) -> Result<(), Error> {
        let (name, params) = (role.name.clone(), role.params.clone());
        let keywords = role.keywords.inherit(parent);
        let entry_loc = &role.loc;
        // A role may import its own other task files (`tasks_from`); only
        // the same role and file again is a cycle.
        let key = match role.tasks_from.as_str() {
            "main" => name.clone(),
            file => format!("{name} (tasks_from: {file})"),
        };
        if let Some(first) = chain.iter().position(|r| *r == key) {
            let cycle = [&chain[first..], std::slice::from_ref(&key)].concat();
            return Err(Error::at(
                entry_loc,
                format!("role cycle: {}", cycle.join(" -> ")),
            )
            .help("tend loads roles (their dependencies, import_role and include_role) with the playbook, so a role cannot bring itself in again"));
        }
        if chain.len() >= MAX_ROLE_DEPTH {
            return Err(Error::at(
                entry_loc,
                format!("roles nested deeper than {MAX_ROLE_DEPTH} levels"),
            ));
        }
        let path = find_role(&name, playbook_dir).ok_or_else(|| {
            Error::at(entry_loc, format!("the role '{name}' was not found")).help(format!(
                "tend looks in {}/roles/{name} and {}/{name}",
                playbook_dir.display(),
                playbook_dir.display()
            ))
        })?;
        // A role used twice with the same parameters runs once, as in Ansible.
        let identity = format!(
            "{}|{}|{}",
            path.display(),
            role.tasks_from,
            serde_json::Value::Object(params.clone())
        );
        if !self.seen.insert(identity) {
            return Ok(());
        }
        chain.push(key.clone());
        if let Some(meta) = read_optional(&path, "meta", "main")? {
            if let Some(deps) = meta.get("dependencies") {
                for dep in deps.as_seq().unwrap_or_default() {
                    self.add(dep, playbook_dir, chain, &keywords)?;
                }
            }
        }
        chain.pop();
        let scope = Arc::new(RoleScope {
            name: name.clone(),
            defaults: read_optional(&path, "defaults", &role.defaults_from)?
                .map(|n| keywords::mapping(&n))
                .transpose()?
                .unwrap_or_default(),
            vars: read_optional(&path, "vars", &role.vars_from)?
                .map(|n| keywords::mapping(&n))
                .transpose()?
                .unwrap_or_default(),
            params,
            path: path.clone(),
        });
        // Role tasks in this role's files carry on the chain, so that a
        // role importing itself (through others) is a cycle, not a
        // recursion without end.
        let role_chain = [chain.as_slice(), std::slice::from_ref(&key)].concat();
        let ctx = |dir: &str, handlers, node: &Node| ListCtx {
            base_dir: path.join(dir),
            role: Some(scope.clone()),
            files: vec![node.loc.source.path.clone()],
            role_chain: role_chain.clone(),
            handlers,
            roles: self.task_roles.clone(),
        };
        let tasks = match read_optional(&path, "tasks", &role.tasks_from)? {
            Some(node) => parse_items(&node, &ctx("tasks", false, &node))?,
            None => Vec::new(),
        };
        self.tasks.push(Item::Block(Block {
            name: None,
            loc: entry_loc.clone(),
            keywords,
            block: tasks,
            rescue: Vec::new(),
            always: Vec::new(),
            role: Some(scope.clone()),
        }));
        if let Some(node) = read_optional(&path, "handlers", &role.handlers_from)? {
            let handlers = parse_items(&node, &ctx("handlers", true, &node))?;
            self.handlers.push(Item::Block(Block {
                name: None,
                loc: entry_loc.clone(),
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
fn role_ref(entry: &Node) -> Result<RoleRef, Error> {
    match &entry.value {
        NodeValue::Str(name) => Ok(RoleRef::new(name.clone(), entry.loc.clone())),
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
            Ok(RoleRef {
                keywords: kw,
                params,
                ..RoleRef::new(name, entry.loc.clone())
            })
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

/// `DIR/NAME.yml` (or `.yaml`, or `NAME`) of a role, if the role has it.
fn read_optional(role: &Path, dir: &str, name: &str) -> Result<Option<Node>, Error> {
    for file in [
        format!("{name}.yml"),
        format!("{name}.yaml"),
        name.to_string(),
    ] {
        let path = role.join(dir).join(file);
        if path.is_file() {
            return load_file(&path).map(Some);
        }
    }
    Ok(None)
}
