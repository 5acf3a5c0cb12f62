//! Task lists: tasks, blocks, and static imports, read strictly.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value;
use tend_modules::{Args, Module};

use super::keywords::{self, Keywords, SHARED, TASK_ONLY};
use super::load::same_file;
use super::model::{Block, Item, Map, RoleScope, Task, TaskAction};
use super::role_task::{IMPORT_ROLE, INCLUDE_ROLE, TaskRoles, role_task};
use super::splitter;
use crate::error::Error;
use crate::yaml::{Loc, Node, NodeValue};

/// Where a task list is being read from.
#[derive(Clone)]
pub struct ListCtx {
    /// Relative `import_tasks`/`include_tasks` paths resolve here.
    pub base_dir: PathBuf,
    pub role: Option<Arc<RoleScope>>,
    /// The task files being read, outermost first, ending with the one
    /// this list is in: an `import_tasks` of one of them is a cycle.
    pub files: Vec<PathBuf>,
    /// The roles being loaded, outermost first, ending with the one this
    /// list belongs to: using one of them again is a cycle.
    pub role_chain: Vec<String>,
    pub handlers: bool,
    /// For `import_role`/`include_role`; `None` in files included at run
    /// time.
    pub roles: Option<Rc<TaskRoles>>,
}

const MAX_IMPORT_DEPTH: usize = 32;
const INCLUDES: &[&str] = &["include_tasks", "ansible.builtin.include_tasks", "include"];
const IMPORTS: &[&str] = &["import_tasks", "ansible.builtin.import_tasks"];
const BLOCK_KEYS: &[&str] = &["block", "rescue", "always"];

/// Reads a list of tasks (a `tasks:` value or a task file).
pub fn parse_items(node: &Node, ctx: &ListCtx) -> Result<Vec<Item>, Error> {
    match &node.value {
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Seq(items) => {
            let mut out = Vec::new();
            for item in items {
                out.push(parse_item(item, ctx)?);
            }
            Ok(out)
        }
        _ => Err(Error::at(
            &node.loc,
            format!("expected a list of tasks, not {}", node.kind()),
        )
        .help("start each task with '- ' (a YAML list item)")),
    }
}

fn parse_item(node: &Node, ctx: &ListCtx) -> Result<Item, Error> {
    let Some(entries) = node.as_map() else {
        return Err(Error::at(&node.loc, format!("a task must be a mapping, not {}", node.kind()))
            .help("write a task as `- name: ...` followed by the module, e.g. `  file: {path: /tmp/x, state: touch}`"));
    };
    if entries.iter().any(|(k, _)| k.as_str() == Some("block")) {
        return parse_block(node, entries, ctx).map(Item::Block);
    }
    parse_task(node, entries, ctx)
}

fn parse_block(node: &Node, entries: &[(Node, Node)], ctx: &ListCtx) -> Result<Block, Error> {
    let mut block = Block {
        name: None,
        loc: node.loc.clone(),
        keywords: Keywords::default(),
        block: Vec::new(),
        rescue: Vec::new(),
        always: Vec::new(),
        role: None,
    };
    for (key, value) in entries {
        let k = key.key_text();
        match k.as_str() {
            "block" => block.block = parse_items(value, ctx)?,
            "rescue" => block.rescue = parse_items(value, ctx)?,
            "always" => block.always = parse_items(value, ctx)?,
            "name" => block.name = Some(keywords::text(value).map_err(|e| e.context(&k))?),
            _ => {
                if !block.keywords.read_shared(&k, value)? {
                    let known: Vec<&str> = ["block", "rescue", "always"]
                        .into_iter()
                        .chain(SHARED.iter().copied())
                        .collect();
                    let hint = if TASK_ONLY.contains(&k.as_str()) {
                        format!("'{k}' applies to tasks, not to blocks")
                    } else if let Some(near) = closest(&k, &known) {
                        format!("did you mean '{near}'?")
                    } else {
                        format!("block keywords are: {}", known.join(", "))
                    };
                    return Err(
                        Error::at(&key.loc, format!("unknown block keyword '{k}'")).help(hint)
                    );
                }
            }
        }
    }
    Ok(block)
}

fn parse_task(node: &Node, entries: &[(Node, Node)], ctx: &ListCtx) -> Result<Item, Error> {
    let mut kw = Keywords::default();
    let mut name = None;
    let mut action: Option<(&Node, &Node)> = None;
    let mut extra_args: Option<&Node> = None;
    let mut listen = Vec::new();
    for (key, value) in entries {
        let k = key.key_text();
        match k.as_str() {
            "name" => name = Some(keywords::text(value).map_err(|e| e.context(&k))?),
            "args" => extra_args = Some(value),
            "listen" if ctx.handlers => {
                listen = keywords::strings(value).map_err(|e| e.context(&k))?
            }
            "register" => kw.register = Some(keywords::text(value).map_err(|e| e.context(&k))?),
            "notify" => kw.notify = keywords::strings(value).map_err(|e| e.context(&k))?,
            "changed_when" => {
                kw.changed_when = Some(keywords::conditions(value).map_err(|e| e.context(&k))?)
            }
            "failed_when" => {
                kw.failed_when = Some(keywords::conditions(value).map_err(|e| e.context(&k))?)
            }
            "until" => {
                kw.until = keywords::conditions(value)
                    .map_err(|e| e.context(&k))?
                    .into_iter()
                    .next()
            }
            "retries" => kw.retries = Some(value.to_value()),
            "delay" => kw.delay = Some(value.to_value()),
            "loop" | "with_list" => {
                // A template may give a list when the task runs; a literal
                // that is no list can never loop.
                if !matches!(
                    value.value,
                    NodeValue::Seq(_) | NodeValue::Str(_) | NodeValue::Null
                ) {
                    return Err(Error::at(
                        &value.loc,
                        format!("'{k}' needs a list, not {}", value.kind()),
                    )
                    .help("write the items as a YAML list, or a template that gives one: `loop: \"{{ users }}\"`"));
                }
                kw.loop_items = Some(value.to_value());
            }
            "with_items" => {
                kw.loop_items = Some(value.to_value());
                kw.loop_flatten = true;
            }
            "with_dict" => {
                kw.loop_items = Some(value.to_value());
                kw.loop_dict = true;
            }
            "loop_control" => read_loop_control(value, &mut kw)?,
            "async" | "poll" => {
                if !matches!(value.value, NodeValue::Int(0)) {
                    return Err(
                        Error::at(&key.loc, format!("'{k}' is not supported by tend yet"))
                            .help("remove it; tend runs tasks on all hosts in parallel already"),
                    );
                }
            }
            "action" | "local_action" => {
                return Err(Error::at(&key.loc, format!("'{k}:' is not supported by tend yet"))
                    .help("write the module as the task's key, e.g. `command: ls` (with `delegate_to: localhost` for local_action)"));
            }
            _ if k.starts_with("with_") => {
                return Err(
                    Error::at(&key.loc, format!("'{k}' is not supported by tend yet"))
                        .help("use `loop:` with a filter, as Ansible recommends"),
                );
            }
            _ => {
                if kw.read_shared(&k, value)? {
                    continue;
                }
                if BLOCK_KEYS.contains(&k.as_str()) {
                    return Err(Error::at(
                        &key.loc,
                        format!("'{k}' without 'block' in the same task"),
                    ));
                }
                if let Some((first, _)) = action {
                    // Of two candidates, the one that is no module is likely a misspelt keyword.
                    let (stray, other) = if tend_modules::lookup(&k).is_none() {
                        (key, first)
                    } else if tend_modules::lookup(&first.key_text()).is_none() {
                        (first, key)
                    } else {
                        return Err(Error::at(
                            &key.loc,
                            format!(
                                "a task has one module, but this one has '{}' and '{k}'",
                                first.key_text()
                            ),
                        )
                        .help("split it into two tasks"));
                    };
                    let word = stray.key_text();
                    let mut known: Vec<&str> = SHARED.iter().chain(TASK_ONLY).copied().collect();
                    known.sort_unstable();
                    let hint = match closest(&word, &known) {
                        Some(near) => format!("did you mean '{near}'?"),
                        None => format!("task keywords are: {}", known.join(", ")),
                    };
                    return Err(Error::at(
                        &stray.loc,
                        format!(
                            "unknown task keyword '{word}' (the task's module is '{}')",
                            other.key_text()
                        ),
                    )
                    .help(hint));
                }
                action = Some((key, value));
            }
        }
    }
    let Some((module_key, module_value)) = action else {
        return Err(Error::at(&node.loc, "this task has no module")
            .help("add a module, e.g. `debug: {msg: hello}`"));
    };
    let written = module_key.key_text();
    let loc = node.loc.clone();
    if IMPORTS.contains(&written.as_str()) {
        return import_tasks(module_value, kw, name, loc, ctx);
    }
    if IMPORT_ROLE.contains(&written.as_str()) || INCLUDE_ROLE.contains(&written.as_str()) {
        return role_task(&written, module_value, kw, name, loc, ctx);
    }
    let action = if INCLUDES.contains(&written.as_str()) {
        let file = include_file(module_value)?;
        TaskAction::IncludeTasks {
            file,
            base_dir: ctx.base_dir.clone(),
            role: ctx.role.clone(),
            apply: Box::new(include_apply(module_value)?),
        }
    } else {
        module_action(module_key, module_value, extra_args)?
    };
    Ok(Item::Task(Task {
        name,
        loc,
        action,
        keywords: kw,
        listen,
    }))
}

fn read_loop_control(value: &Node, kw: &mut Keywords) -> Result<(), Error> {
    let Some(entries) = value.as_map() else {
        return Err(Error::at(&value.loc, "loop_control must be a mapping"));
    };
    for (key, v) in entries {
        match key.key_text().as_str() {
            "loop_var" => kw.loop_var = Some(keywords::text(v)?),
            "label" => kw.loop_label = Some(v.to_value()),
            "index_var" => kw.index_var = Some(keywords::text(v)?),
            "extended" => kw.loop_extended = keywords::boolean(v)?,
            "pause" | "extended_allitems" | "break_when" => {}
            other => {
                return Err(
                    Error::at(&key.loc, format!("unknown loop_control option '{other}'"))
                        .help("loop_control takes loop_var, label, index_var, pause, extended"),
                );
            }
        }
    }
    Ok(())
}

fn include_file(value: &Node) -> Result<String, Error> {
    match &value.value {
        NodeValue::Str(s) => Ok(s.clone()),
        NodeValue::Map(_) => value
            .get("file")
            .or_else(|| value.get("_raw_params"))
            .map(keywords::text)
            .transpose()?
            .ok_or_else(|| Error::at(&value.loc, "include_tasks needs a file name")),
        _ => Err(Error::at(&value.loc, "include_tasks needs a file name")),
    }
}

/// `include_tasks: {file: .., apply: {tags: [..], become: ..}}`.
fn include_apply(value: &Node) -> Result<Keywords, Error> {
    match value.get("apply") {
        Some(apply) => super::role_task::apply_keywords(apply),
        None => Ok(Keywords::default()),
    }
}

fn import_tasks(
    value: &Node,
    kw: Keywords,
    name: Option<String>,
    loc: Loc,
    ctx: &ListCtx,
) -> Result<Item, Error> {
    let file = include_file(value)?;
    if file.contains("{{") {
        return Err(Error::at(
            &value.loc,
            "import_tasks is static: its file name cannot use variables",
        )
        .help("use include_tasks for a file name chosen at run time"));
    }
    let path = resolve_task_file(&ctx.base_dir, &file);
    if let Some(cycle) = import_cycle(&ctx.files, &path) {
        return Err(Error::at(&value.loc, format!("import cycle: {cycle}"))
            .help("import_tasks is static: a file cannot import itself, even under a `when`; use include_tasks for recursion"));
    }
    if ctx.files.len() > MAX_IMPORT_DEPTH {
        return Err(Error::at(
            &loc,
            format!("imports nested deeper than {MAX_IMPORT_DEPTH} levels"),
        ));
    }
    let node = crate::yaml::load_file(&path).map_err(|e| match e {
        Error::Io { message, .. } => {
            let shown = if path.exists() {
                path.clone()
            } else {
                ctx.base_dir.join(&file)
            };
            Error::at(
                &value.loc,
                format!("cannot read '{}': {message}", shown.display()),
            )
        }
        other => other,
    })?;
    let inner = ListCtx {
        base_dir: path
            .parent()
            .map_or_else(|| ctx.base_dir.clone(), Path::to_path_buf),
        files: [ctx.files.as_slice(), std::slice::from_ref(&path)].concat(),
        ..ctx.clone()
    };
    let items = parse_items(&node, &inner)?;
    Ok(Item::Block(Block {
        name,
        loc,
        keywords: kw,
        block: items,
        rescue: Vec::new(),
        always: Vec::new(),
        role: None,
    }))
}

/// `a.yml -> b.yml -> a.yml` when `next` is already among `files` (the
/// files being read, outermost first).
fn import_cycle(files: &[PathBuf], next: &Path) -> Option<String> {
    let first = files.iter().position(|f| same_file(f, next))?;
    let chain: Vec<String> = files[first..]
        .iter()
        .map(|f| f.display().to_string())
        .chain([next.display().to_string()])
        .collect();
    Some(chain.join(" -> "))
}

/// A task file named relative to the current directory of task files.
pub fn resolve_task_file(base_dir: &Path, file: &str) -> PathBuf {
    let direct = base_dir.join(file);
    if direct.exists() || Path::new(file).is_absolute() {
        return direct;
    }
    // Role task files may name siblings under tasks/ from a nested file.
    base_dir.join("tasks").join(file)
}

fn module_action(key: &Node, value: &Node, extra_args: Option<&Node>) -> Result<TaskAction, Error> {
    let written = key.key_text();
    let Some(module) = tend_modules::lookup(&written) else {
        let mut known = tend_modules::names();
        known.sort_unstable();
        let hint = match closest(&written, &known) {
            Some(near) => format!("did you mean '{near}'?"),
            None => format!("tend's modules are: {}", known.join(", ")),
        };
        return Err(Error::at(
            &key.loc,
            format!("unknown module or task keyword '{written}'"),
        )
        .help(hint));
    };
    let mut args = Map::new();
    let mut arg_locs = Vec::new();
    match &value.value {
        NodeValue::Null => {}
        NodeValue::Map(entries) => {
            for (k, v) in entries {
                arg_locs.push((k.key_text(), k.loc.clone()));
                args.insert(k.key_text(), v.to_value());
            }
        }
        NodeValue::Str(s) => args = free_form(module, s).map_err(|m| Error::at(&value.loc, m))?,
        _ if module.free_form() => {
            args.insert("_raw_params".into(), Value::String(value.key_text()));
        }
        _ => {
            return Err(Error::at(
                &value.loc,
                format!(
                    "the arguments of '{written}' must be a mapping, not {}",
                    value.kind()
                ),
            ));
        }
    }
    if let Some(extra) = extra_args {
        let Some(entries) = extra.as_map() else {
            return Err(Error::at(&extra.loc, "'args' must be a mapping"));
        };
        for (k, v) in entries {
            arg_locs.push((k.key_text(), k.loc.clone()));
            args.insert(k.key_text(), v.to_value());
        }
    }
    if !module.params().is_empty() {
        Args::check(module.params(), &args, true).map_err(|e| {
            let at = e
                .param
                .as_ref()
                .and_then(|p| arg_locs.iter().find(|(k, _)| k == p))
                .map_or(&key.loc, |(_, l)| l);
            Error::at(at, format!("{written}: {}", e.message))
        })?;
    }
    Ok(TaskAction::Module {
        module,
        written,
        args,
        arg_locs,
    })
}

/// Parameters that a free-form module takes as `k=v` inside its string.
const FREE_FORM_KEYS: &[&str] = &[
    "chdir",
    "creates",
    "removes",
    "executable",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// `k=v k2='v 2'` arguments, or a free-form command with `k=v` options.
fn free_form(module: &dyn Module, text: &str) -> Result<Map, String> {
    let mut args = Map::new();
    let mut raw = Vec::new();
    // A free-form string is a command or script: its words keep their
    // newlines and spaces so that the raw part is the text as written.
    let words = if module.free_form() {
        splitter::split_keeping_layout(text)?
    } else {
        split_args(text)?
    };
    for word in words {
        let kv = word.split_once('=').filter(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match kv {
            Some((k, v)) if !module.free_form() || FREE_FORM_KEYS.contains(&k) => {
                args.insert(
                    k.to_string(),
                    Value::String(decode_escapes(&unquote(v.trim()))),
                );
            }
            _ if module.free_form() => raw.push(word),
            _ => {
                return Err(format!(
                    "'{word}' is not a key=value argument; '{}' takes arguments like `path=/tmp/x state=touch` or a mapping",
                    module.name()
                ));
            }
        }
    }
    if !raw.is_empty() {
        args.insert(
            "_raw_params".into(),
            Value::String(splitter::join_args(&raw)),
        );
    }
    Ok(args)
}

/// Splits on whitespace outside quotes and `{{ }}`/`{% %}`, keeping quotes.
pub fn split_args(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote.is_some() => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '\'' | '"' if depth == 0 => match quote {
                Some(q) if q == c => quote = None,
                None => quote = Some(c),
                _ => {}
            },
            '{' if matches!(chars.peek(), Some('{') | Some('%')) => depth += 1,
            '}' | '%' if depth > 0 && chars.peek() == Some(&'}') => depth -= 1,
            c if c.is_whitespace() && quote.is_none() && depth == 0 => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if quote.is_some() {
        return Err(format!("unbalanced quotes in: {text}"));
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}

/// Ansible decodes backslash escapes in `k=v` values (`content="a\\n"`).
fn decode_escapes(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

/// The known names closest to `word` ("a" or "a' or 'b"), if it is a likely typo.
pub fn closest(word: &str, known: &[&str]) -> Option<String> {
    let scored: Vec<(usize, &str)> = known
        .iter()
        .map(|k| (strsim(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .collect();
    let best = scored.iter().map(|(d, _)| *d).min()?;
    let names: Vec<&str> = scored
        .iter()
        .filter(|(d, _)| *d == best)
        .map(|(_, k)| *k)
        .collect();
    Some(names.join("' or '"))
}

fn strsim(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_ansible() {
        assert_eq!(
            split_args("a=1 b='x y' c=\"{{ v | default('a b') }}\"").unwrap(),
            vec!["a=1", "b='x y'", "c=\"{{ v | default('a b') }}\""]
        );
        assert_eq!(
            split_args("echo {{ a }} {{ b }}").unwrap(),
            vec!["echo", "{{ a }}", "{{ b }}"]
        );
        assert!(split_args("a='x").is_err());
    }

    #[test]
    fn free_form_command_keeps_options_apart() {
        let m = tend_modules::lookup("command").unwrap();
        let args = free_form(m, "ls -l /tmp chdir=/ creates=/x").unwrap();
        assert_eq!(args["_raw_params"], "ls -l /tmp");
        assert_eq!(args["chdir"], "/");
        assert_eq!(args["creates"], "/x");
    }

    #[test]
    fn a_free_form_script_keeps_its_lines() {
        let m = tend_modules::lookup("shell").unwrap();
        let args = free_form(m, "n=1\necho \"$n\"  >f\ncreates=/x\n").unwrap();
        assert_eq!(args["_raw_params"], "n=1\necho \"$n\"  >f\n");
        assert_eq!(args["creates"], "/x");
    }

    #[test]
    fn key_value_modules_refuse_stray_words() {
        let m = tend_modules::lookup("file").unwrap();
        assert_eq!(
            free_form(m, "path=/tmp/x state=touch").unwrap()["state"],
            "touch"
        );
        assert!(free_form(m, "path=/tmp/x touch").is_err());
        let copy = tend_modules::lookup("copy").unwrap();
        assert_eq!(
            free_form(copy, r#"dest=/x content="a\nb""#).unwrap()["content"],
            "a\nb"
        );
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(
            closest("lineinfle", &["lineinfile", "file"]).as_deref(),
            Some("lineinfile")
        );
        assert_eq!(
            closest("taks", &["tags", "tasks"]).as_deref(),
            Some("tags' or 'tasks")
        );
        assert_eq!(closest("zzz", &["file"]), None);
    }
}
