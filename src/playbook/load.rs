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
use crate::yaml::{Node, NodeValue, load_bytes, load_file};

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
    let root = load_file(path)?;
    playbook_from(path, root)
}

/// Loads a playbook from the bytes of its file, as if read from `path`:
/// what it imports (roles, task files, other playbooks) is still read from
/// beside `path`. The fuzz targets feed bytes here, so that they reach
/// exactly what `load_playbook` does once the file is read.
pub fn load_playbook_bytes(path: &Path, bytes: Vec<u8>) -> Result<Playbook, Error> {
    let root = load_bytes(path, bytes)?;
    playbook_from(path, root)
}

fn playbook_from(path: &Path, root: Node) -> Result<Playbook, Error> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let mut plays = Vec::new();
    plays_of(root, path, &dir, &mut plays, &[])?;
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
            files: vec![path.to_path_buf()],
            // Role tasks are refused in files included at run time.
            role_chain: Vec::new(),
            handlers: false,
            roles: None,
        },
    )
}

/// Most `import_playbook` nesting, cycles aside.
const MAX_PLAYBOOK_DEPTH: usize = 16;

/// Loads the plays of `path`; `importers` are the playbooks importing it,
/// outermost first.
fn load_plays(
    path: &Path,
    dir: &Path,
    plays: &mut Vec<Play>,
    importers: &[PathBuf],
) -> Result<(), Error> {
    plays_of(load_file(path)?, path, dir, plays, importers)
}

/// The plays of a playbook file's tree `root`, read from `path`.
fn plays_of(
    root: Node,
    path: &Path,
    dir: &Path,
    plays: &mut Vec<Play>,
    importers: &[PathBuf],
) -> Result<(), Error> {
    if root.is_null() {
        return Err(Error::at(
            &root.loc,
            "this playbook is empty (only comments or blank lines): a playbook is a list of plays",
        )
        .help("start the file with `- hosts: all`"));
    }
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
            let file = keywords::text(target)?;
            let file_path = path.parent().unwrap_or(dir).join(&file);
            if !file_path.is_file() {
                let why = if file_path.exists() {
                    "it is not a file"
                } else {
                    "no such file"
                };
                return Err(Error::at(
                    &target.loc,
                    format!("cannot read the playbook '{}': {why}", file_path.display()),
                ));
            }
            let chain = [importers, &[path.to_path_buf()]].concat();
            if let Some(first) = chain.iter().position(|p| same_file(p, &file_path)) {
                let names: Vec<String> = chain[first..]
                    .iter()
                    .chain([&file_path])
                    .map(|p| p.display().to_string())
                    .collect();
                return Err(Error::at(
                    &target.loc,
                    format!("import_playbook cycle: {}", names.join(" -> ")),
                ));
            }
            if chain.len() > MAX_PLAYBOOK_DEPTH {
                return Err(Error::at(
                    &entry.loc,
                    format!("import_playbook nested deeper than {MAX_PLAYBOOK_DEPTH} levels"),
                ));
            }
            let import = import_keywords(entry)?;
            let mut imported = Vec::new();
            load_plays(&file_path, dir, &mut imported, &chain)?;
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

/// Whether two paths name one file (`site.yml` and `./site.yml`).
pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A play's `hosts`: a pattern or a list of them, as Ansible takes it (a
/// number or an empty value is refused there too, and would otherwise
/// match nothing, or everything, in silence).
fn host_patterns(value: &Node) -> Result<String, Error> {
    let help = "write a host pattern, e.g. `hosts: all`, `hosts: web` or `hosts: [web, db]` (quote a name that looks like a number)";
    let patterns = match &value.value {
        NodeValue::Str(s) => vec![s.clone()],
        NodeValue::Seq(items) => items
            .iter()
            .map(|item| match &item.value {
                NodeValue::Str(s) => Ok(s.clone()),
                _ => Err(Error::at(
                    &item.loc,
                    format!("a host pattern must be a string, not {}", item.kind()),
                )
                .help(help)),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Error::at(
                &value.loc,
                format!(
                    "'hosts' must be a host pattern or a list of them, not {}",
                    value.kind()
                ),
            )
            .help(help));
        }
    };
    if patterns.iter().all(|p| p.trim().is_empty()) {
        return Err(Error::at(&value.loc, "'hosts' is empty").help(help));
    }
    Ok(patterns.join(","))
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
        files: vec![node.loc.source.path.clone()],
        role_chain: Vec::new(),
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
            "name" => play.name = Some(keywords::text(value).map_err(|e| e.context(&k))?),
            "hosts" => {
                saw_hosts = true;
                play.hosts = host_patterns(value)?;
            }
            "vars" => play.vars = keywords::mapping(value).map_err(|e| e.context(&k))?,
            "vars_files" => {
                let items: Vec<&Node> = match &value.value {
                    NodeValue::Seq(items) => items.iter().collect(),
                    _ => vec![value],
                };
                for item in items {
                    play.vars_files.push((
                        keywords::text(item).map_err(|e| e.context(&k))?,
                        item.loc.clone(),
                    ));
                }
            }
            "gather_facts" => {
                play.gather_facts = keywords::boolean(value).map_err(|e| e.context(&k))?
            }
            "force_handlers" => {
                play.force_handlers = keywords::boolean(value).map_err(|e| e.context(&k))?
            }
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
            "any_errors_fatal" => {
                play.any_errors_fatal = keywords::boolean(value).map_err(|e| e.context(&k))?
            }
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
            "strategy" => play.strategy = Some(keywords::text(value).map_err(|e| e.context(&k))?),
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
