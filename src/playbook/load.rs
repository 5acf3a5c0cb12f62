//! Reads a playbook file into plays.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::Value;

use super::keywords::{self, Keywords};
use super::model::{Item, Map, Play, Playbook};
use super::role::RoleSet;
use super::role_task::TaskRoles;
use super::serial::SerialSpec;
use super::task::{ListCtx, parse_items};
use crate::error::Error;
use crate::yaml::{Node, NodeValue, load_file};

const PLAY_ONLY: &[&str] = &[
    "hosts",
    "vars_files",
    "vars_prompt",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "roles",
    "serial",
    "max_fail_percentage",
    "strategy",
    "order",
    "force_handlers",
];

/// Loads a playbook and everything it imports (roles, task files).
pub fn load_playbook(path: &Path) -> Result<Playbook, Error> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let mut plays = Vec::new();
    load_plays(path, &dir, &mut plays, 0)?;
    Ok(Playbook {
        path: path.to_path_buf(),
        dir,
        plays,
    })
}

/// Loads a task file (for `include_tasks` at run time).
pub fn load_task_file(
    path: &Path,
    role: Option<std::sync::Arc<super::RoleScope>>,
) -> Result<Vec<Item>, Error> {
    let node = load_file(path)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_items(
        &node,
        &ListCtx {
            base_dir,
            role,
            depth: 0,
            handlers: false,
            roles: None,
        },
    )
}

fn load_plays(path: &Path, dir: &Path, plays: &mut Vec<Play>, depth: usize) -> Result<(), Error> {
    let root = load_file(path)?;
    let Some(entries) = root.as_seq() else {
        return Err(Error::at(
            &root.loc,
            format!("a playbook is a list of plays, not {}", root.kind()),
        )
        .help("start the file with `- hosts: all`"));
    };
    for entry in entries {
        if let Some(target) = entry
            .get("import_playbook")
            .or_else(|| entry.get("ansible.builtin.import_playbook"))
        {
            if depth > 16 {
                return Err(Error::at(
                    &entry.loc,
                    "import_playbook nested too deeply (a cycle?)",
                ));
            }
            let file = keywords::text(target)?;
            let file_path = path.parent().unwrap_or(dir).join(&file);
            if !file_path.is_file() {
                return Err(Error::at(
                    &target.loc,
                    format!("cannot read the playbook '{}'", file_path.display()),
                ));
            }
            let import = import_keywords(entry)?;
            let mut imported = Vec::new();
            load_plays(&file_path, dir, &mut imported, depth + 1)?;
            for mut play in imported {
                play.keywords = play.keywords.inherit(&import);
                plays.push(play);
            }
            continue;
        }
        plays.push(load_play(entry, dir)?);
    }
    Ok(())
}

/// The keywords of an `import_playbook` entry (`when`, `tags`, `vars`...):
/// as in Ansible, they reach every task of the imported plays.
fn import_keywords(entry: &Node) -> Result<Keywords, Error> {
    let mut kw = Keywords::default();
    for (key, value) in entry.as_map().unwrap_or_default() {
        let k = key.key_text();
        if matches!(
            k.as_str(),
            "import_playbook" | "ansible.builtin.import_playbook" | "name"
        ) {
            continue;
        }
        if !kw.read_shared(&k, value)? {
            return Err(Error::at(
                &key.loc,
                format!("'{k}' is not a keyword of import_playbook"),
            )
            .help("import_playbook takes name, when, tags and vars"));
        }
    }
    Ok(kw)
}

fn load_play(node: &Node, dir: &Path) -> Result<Play, Error> {
    let Some(entries) = node.as_map() else {
        return Err(Error::at(
            &node.loc,
            format!("a play must be a mapping, not {}", node.kind()),
        ));
    };
    let mut play = Play {
        name: None,
        hosts: String::new(),
        loc: node.loc.clone(),
        vars: Map::new(),
        vars_files: Vec::new(),
        gather_facts: true,
        serial: SerialSpec::default(),
        max_fail_percentage: None,
        any_errors_fatal: false,
        force_handlers: false,
        keywords: Keywords::default(),
        pre_tasks: Vec::new(),
        tasks: Vec::new(),
        post_tasks: Vec::new(),
        handlers: Vec::new(),
        strategy: None,
    };
    let task_roles = Rc::new(TaskRoles::new(dir.to_path_buf()));
    let ctx = |handlers| ListCtx {
        base_dir: dir.to_path_buf(),
        role: None,
        depth: 0,
        handlers,
        roles: Some(task_roles.clone()),
    };
    let mut roles = RoleSet::for_tasks(Some(task_roles.clone()));
    let mut tasks = Vec::new();
    let mut handlers = Vec::new();
    let mut saw_hosts = false;
    for (key, value) in entries {
        let k = key.key_text();
        match k.as_str() {
            "name" => play.name = Some(keywords::text(value)?),
            "hosts" => {
                saw_hosts = true;
                play.hosts = match &value.value {
                    NodeValue::Seq(_) => keywords::strings(value)?.join(","),
                    _ => keywords::text(value)?,
                };
            }
            "vars" => play.vars = keywords::mapping(value)?,
            "vars_files" => {
                let items: Vec<&Node> = match &value.value {
                    NodeValue::Seq(items) => items.iter().collect(),
                    _ => vec![value],
                };
                for item in items {
                    play.vars_files
                        .push((keywords::text(item)?, item.loc.clone()));
                }
            }
            "gather_facts" => play.gather_facts = keywords::boolean(value)?,
            "force_handlers" => play.force_handlers = keywords::boolean(value)?,
            "serial" => play.serial = SerialSpec::parse(value)?,
            "max_fail_percentage" => {
                play.max_fail_percentage = Some(match value.to_value() {
                    Value::Number(n) => n.as_f64().unwrap_or(0.0),
                    Value::String(s) => s.trim_end_matches('%').parse().map_err(|_| {
                        Error::at(&value.loc, "max_fail_percentage must be a number")
                    })?,
                    _ => {
                        return Err(Error::at(
                            &value.loc,
                            "max_fail_percentage must be a number",
                        ));
                    }
                })
            }
            "any_errors_fatal" => play.any_errors_fatal = keywords::boolean(value)?,
            "pre_tasks" => play.pre_tasks = parse_items(value, &ctx(false))?,
            "tasks" => tasks = parse_items(value, &ctx(false))?,
            "post_tasks" => play.post_tasks = parse_items(value, &ctx(false))?,
            "handlers" => handlers = parse_items(value, &ctx(true))?,
            "roles" => {
                let Some(list) = value.as_seq() else {
                    return Err(Error::at(&value.loc, "roles must be a list"));
                };
                for entry in list {
                    roles.add(entry, dir, &mut Vec::new(), &Keywords::default())?;
                }
            }
            "strategy" => play.strategy = Some(keywords::text(value)?),
            "when" => {
                return Err(Error::at(&key.loc, "'when' is not a play keyword")
                    .help("put the condition on the tasks, a block, or use a host pattern"));
            }
            _ if PLAY_ONLY.contains(&k.as_str()) => {}
            _ => {
                if !play.keywords.read_shared(&k, value)? {
                    let mut known: Vec<&str> =
                        PLAY_ONLY.iter().chain(keywords::SHARED).copied().collect();
                    known.sort_unstable();
                    let hint = match super::task::closest(&k, &known) {
                        Some(near) => format!("did you mean '{near}'?"),
                        None => format!("play keywords are: {}", known.join(", ")),
                    };
                    return Err(
                        Error::at(&key.loc, format!("unknown play keyword '{k}'")).help(hint)
                    );
                }
            }
        }
    }
    if !saw_hosts {
        return Err(Error::at(&node.loc, "this play has no 'hosts'")
            .help("add `hosts: all` or a group name"));
    }
    if !play.keywords.when.is_empty() {
        return Err(Error::at(&node.loc, "'when' is not a play keyword"));
    }
    play.tasks = roles.tasks;
    play.tasks.extend(tasks);
    play.handlers = roles.handlers;
    play.handlers.extend(handlers);
    play.handlers.extend(task_roles.handlers.take());
    Ok(play)
}
