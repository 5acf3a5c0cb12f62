//! Roles used as tasks: `import_role` (static: the role's tasks take the
//! task's place, its keywords reach every task of the role) and
//! `include_role` (its `when`, `tags` and loop are for the include itself;
//! `apply` and its variables reach the role's tasks). Both are loaded
//! with the playbook; the roles' handlers join the play's.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use super::keywords::{self, Keywords};
use super::model::{Block, Item, Task, TaskAction};
use super::role::{RoleRef, RoleSet};
use super::task::ListCtx;
use crate::error::Error;
use crate::yaml::{Loc, Node};

pub const IMPORT_ROLE: &[&str] = &["import_role", "ansible.builtin.import_role"];
pub const INCLUDE_ROLE: &[&str] = &["include_role", "ansible.builtin.include_role"];

/// Where the roles of `import_role`/`include_role` tasks are found, and
/// where their handlers are collected for the play.
pub struct TaskRoles {
    pub playbook_dir: PathBuf,
    pub handlers: RefCell<Vec<Item>>,
}

impl TaskRoles {
    pub fn new(playbook_dir: PathBuf) -> TaskRoles {
        TaskRoles {
            playbook_dir,
            handlers: RefCell::new(Vec::new()),
        }
    }
}

/// An `import_role` or `include_role` task (`written` is its module key).
pub fn role_task(
    written: &str,
    value: &Node,
    kw: Keywords,
    name: Option<String>,
    loc: Loc,
    ctx: &ListCtx,
) -> Result<Item, Error> {
    let include = INCLUDE_ROLE.contains(&written);
    let (mut role, apply) = role_args(value, include)?;
    let role_name = role.name.clone();
    // The task's vars reach the role's handlers too, as role parameters do.
    role.params = kw.vars.clone();
    let Some(roles) = &ctx.roles else {
        return Err(Error::at(
            &loc,
            format!("{written} in a file included at run time is not supported yet"),
        )
        .help("import the file with import_tasks, or list the role under the play's roles:"));
    };
    let mut set = RoleSet::for_tasks(ctx.roles.clone());
    set.add_role(
        role,
        &roles.playbook_dir,
        &mut ctx.role_chain.clone(),
        &Keywords::default(),
    )?;
    roles.handlers.borrow_mut().extend(set.handlers);
    if !include {
        return Ok(Item::Block(Block {
            name,
            loc,
            keywords: kw,
            block: set.tasks,
            rescue: Vec::new(),
            always: Vec::new(),
            role: None,
        }));
    }
    Ok(Item::Task(Task {
        name,
        loc,
        action: TaskAction::IncludeRole {
            name: role_name,
            items: Arc::new(set.tasks),
            apply: Box::new(apply),
        },
        keywords: kw,
        listen: Vec::new(),
    }))
}

/// The role to load and, for `include_role`, the `apply` keywords.
fn role_args(value: &Node, include: bool) -> Result<(RoleRef, Keywords), Error> {
    let Some(entries) = value.as_map() else {
        return Err(Error::at(&value.loc, "a role task needs `name: ROLE`")
            .help("e.g. `import_role: {name: common}`"));
    };
    let mut name = None;
    let mut role = RoleRef::new(String::new(), value.loc.clone());
    let mut apply = Keywords::default();
    for (key, v) in entries {
        let k = key.key_text();
        match k.as_str() {
            "name" => name = Some(keywords::text(v)?),
            "tasks_from" => role.tasks_from = keywords::text(v)?,
            "vars_from" => role.vars_from = keywords::text(v)?,
            "defaults_from" => role.defaults_from = keywords::text(v)?,
            "handlers_from" => role.handlers_from = keywords::text(v)?,
            "public" | "allow_duplicates" | "rolespec_validate" => {}
            "apply" if include => apply = apply_keywords(v)?,
            _ => {
                return Err(Error::at(&key.loc, format!("unknown role task option '{k}'"))
                    .help("role tasks take name, tasks_from, vars_from, defaults_from, handlers_from (and apply for include_role)"));
            }
        }
    }
    let name = name.ok_or_else(|| Error::at(&value.loc, "a role task needs `name: ROLE`"))?;
    if name.contains("{{") {
        return Err(Error::at(
            &value.loc,
            "the role's name cannot use variables: tend loads roles with the playbook",
        ));
    }
    role.name = name;
    Ok((role, apply))
}

/// `apply: {tags: [..], become: .., when: ..}`: keywords for the included
/// tasks.
pub fn apply_keywords(apply: &Node) -> Result<Keywords, Error> {
    let mut kw = Keywords::default();
    let Some(entries) = apply.as_map() else {
        return Err(Error::at(
            &apply.loc,
            "apply must be a mapping of task keywords",
        ));
    };
    for (key, v) in entries {
        let k = key.key_text();
        if !kw.read_shared(&k, v)? {
            return Err(Error::at(
                &key.loc,
                format!("'{k}' cannot be applied to included tasks"),
            )
            .help("apply takes task keywords such as tags, become, when, vars, environment"));
        }
    }
    Ok(kw)
}
