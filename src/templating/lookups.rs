//! `lookup()`, `query()`/`q()`: Ansible's lookup plugins that make sense on
//! the controller — env, file, template, pipe, lines, items, list, dict,
//! indexed_items, fileglob, first_found, vars.
//!
//! `lookup` joins string results with commas (and unwraps single non-string
//! results), `query` always returns a list, as in Ansible. Relative paths are
//! searched in the `Vars` search paths (and their `files/` or `templates/`
//! subdirectories), then in the current directory.

use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Rest, Value as MjValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::context::SEARCH_PATHS_VAR;
use super::convert::as_text;

/// What lookups may reach besides the template's own values.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Files, globs and commands on the controller, as in Ansible.
    Controller,
    /// Nothing outside the template: `file`, `template`, `pipe`, `lines`,
    /// `fileglob` and `first_found` fail. For templates nobody wrote, such
    /// as a fuzzer's, where `pipe` would run random commands.
    Sandboxed,
}

/// The plugins that read the controller's files or run its commands.
const CONTROLLER_PLUGINS: &[&str] = &[
    "file",
    "template",
    "pipe",
    "lines",
    "fileglob",
    "first_found",
];

pub(crate) fn register(env: &mut Environment<'static>, reach: Reach) {
    env.add_function(
        "lookup",
        move |state: &State, name: String, terms: Rest<MjValue>, kwargs: Kwargs| {
            lookup(state, &name, terms, &kwargs, reach)
        },
    );
    let query = move |state: &State, name: String, terms: Rest<MjValue>, kwargs: Kwargs| {
        query(state, &name, terms, &kwargs, reach)
    };
    env.add_function("query", query);
    env.add_function("q", query);
}

fn lookup(
    state: &State,
    name: &str,
    terms: Rest<MjValue>,
    kwargs: &Kwargs,
    reach: Reach,
) -> Result<MjValue, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let results = run_checked(state, name, terms.0, kwargs, reach)?;
    if wantlist {
        return Ok(MjValue::from(results));
    }
    if results.iter().all(|r| r.kind() == ValueKind::String) {
        let texts: Vec<&str> = results.iter().filter_map(MjValue::as_str).collect();
        return Ok(MjValue::from(texts.join(",")));
    }
    Ok(match results.len() {
        1 => results.into_iter().next().unwrap_or_default(),
        _ => MjValue::from(results),
    })
}

fn query(
    state: &State,
    name: &str,
    terms: Rest<MjValue>,
    kwargs: &Kwargs,
    reach: Reach,
) -> Result<MjValue, Error> {
    let _ = kwargs.get::<Option<bool>>("wantlist")?;
    Ok(MjValue::from(run_checked(
        state, name, terms.0, kwargs, reach,
    )?))
}

/// Runs a plugin, honouring `errors='ignore'|'warn'|'strict'`.
fn run_checked(
    state: &State,
    name: &str,
    terms: Vec<MjValue>,
    kwargs: &Kwargs,
    reach: Reach,
) -> Result<Vec<MjValue>, Error> {
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    let plugin = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    if reach == Reach::Sandboxed && CONTROLLER_PLUGINS.contains(&plugin) {
        return Err(err(plugin, "not available in a sandboxed templar"));
    }
    match run(state, name, terms, kwargs) {
        Err(_) if errors == "ignore" || errors == "warn" => Ok(Vec::new()),
        Err(e) => Err(e),
        Ok(values) => {
            kwargs.assert_all_used()?;
            Ok(values)
        }
    }
}

fn err(plugin: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(
        minijinja::ErrorKind::InvalidOperation,
        format!("lookup('{plugin}'): {msg}"),
    )
}

/// A single list argument stands for its items, as Ansible's listify does.
fn listify(terms: Vec<MjValue>) -> Vec<MjValue> {
    if terms.len() == 1 && terms[0].kind() == ValueKind::Seq {
        terms[0]
            .try_iter()
            .map(Iterator::collect)
            .unwrap_or_default()
    } else {
        terms
    }
}

fn texts(plugin: &str, terms: Vec<MjValue>) -> Result<Vec<String>, Error> {
    listify(terms)
        .iter()
        .map(|t| as_text(plugin, t).map_err(|e| err(plugin, e)))
        .collect()
}

fn run(
    state: &State,
    name: &str,
    terms: Vec<MjValue>,
    kwargs: &Kwargs,
) -> Result<Vec<MjValue>, Error> {
    let plugin = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    let str_values = |v: Vec<String>| v.into_iter().map(MjValue::from).collect::<Vec<_>>();
    Ok(match plugin {
        "env" => {
            let default = kwargs.get::<Option<String>>("default")?.unwrap_or_default();
            str_values(
                texts(plugin, terms)?
                    .iter()
                    .map(|n| std::env::var(n).unwrap_or_else(|_| default.clone()))
                    .collect(),
            )
        }
        "file" => {
            let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
            let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
            let mut out = Vec::new();
            for term in texts(plugin, terms)? {
                let mut text = read(state, plugin, "files", &term)?;
                if rstrip {
                    text.truncate(text.trim_end().len());
                }
                if lstrip {
                    text = text.trim_start().to_string();
                }
                out.push(MjValue::from(text));
            }
            out
        }
        "template" => {
            let mut out = Vec::new();
            for term in texts(plugin, terms)? {
                let text = read(state, plugin, "templates", &term)?;
                let ctx = state.lookup("vars").unwrap_or_default();
                super::nesting::check_template(&text, &super::render::DEFAULT_TAGS)?;
                out.push(MjValue::from(
                    state.env().render_named_str(&term, &text, ctx)?,
                ));
            }
            out
        }
        "pipe" | "lines" => {
            let mut out = Vec::new();
            for cmd in texts(plugin, terms)? {
                let output = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(&cmd)
                    .output()
                    .map_err(|e| err(plugin, format!("could not run '{cmd}': {e}")))?;
                if !output.status.success() {
                    let code = output.status.code().unwrap_or(-1);
                    return Err(err(plugin, format!("'{cmd}' returned {code}")));
                }
                let stdout = String::from_utf8_lossy(&output.stdout);
                if plugin == "pipe" {
                    out.push(MjValue::from(stdout.trim_end()));
                } else {
                    out.extend(stdout.lines().map(MjValue::from));
                }
            }
            out
        }
        "items" => {
            let mut out = Vec::new();
            for term in listify(terms) {
                match term.kind() {
                    ValueKind::Seq => out.extend(term.try_iter()?),
                    _ => out.push(term),
                }
            }
            out
        }
        "list" => listify(terms),
        "indexed_items" => listify(terms)
            .into_iter()
            .enumerate()
            .map(|(i, item)| MjValue::from(vec![MjValue::from(i), item]))
            .collect(),
        "dict" => {
            let mut out = Vec::new();
            for term in terms {
                if term.kind() != ValueKind::Map {
                    return Err(err(
                        plugin,
                        format!("with_dict expects a dict, got {}", term.kind()),
                    ));
                }
                for key in term.try_iter()? {
                    let value = term.get_item(&key)?;
                    out.push(MjValue::from_pairs([("key", key), ("value", value)]));
                }
            }
            out
        }
        "fileglob" => {
            let mut out = Vec::new();
            for pattern in texts(plugin, terms)? {
                out.extend(fileglob(state, &pattern).into_iter().map(MjValue::from));
            }
            out
        }
        "first_found" => first_found(state, terms, kwargs)?,
        "vars" => {
            let default = kwargs.get::<Option<MjValue>>("default")?;
            let mut out = Vec::new();
            for name in texts(plugin, terms)? {
                match state.lookup(&name).filter(|v| !v.is_undefined()) {
                    Some(v) => out.push(v),
                    None => match &default {
                        Some(d) => out.push(d.clone()),
                        None => {
                            return Err(err(
                                plugin,
                                format!("no variable found with this name: {name}"),
                            ));
                        }
                    },
                }
            }
            out
        }
        other => return Err(err(other, "this lookup plugin is not supported by tend")),
    })
}

fn search_paths(state: &State) -> Vec<PathBuf> {
    let paths = state.lookup(SEARCH_PATHS_VAR).unwrap_or_default();
    let mut out: Vec<PathBuf> = match paths.try_iter() {
        Ok(iter) => iter.filter_map(|p| p.as_str().map(PathBuf::from)).collect(),
        Err(_) => Vec::new(),
    };
    out.push(PathBuf::from("."));
    out
}

/// Where a relative path is found: `<dir>/<subdir>/<name>`, then `<dir>/<name>`.
fn candidates(state: &State, subdir: &str, name: &str) -> Vec<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return vec![path.to_path_buf()];
    }
    search_paths(state)
        .into_iter()
        .flat_map(|dir| [dir.join(subdir).join(name), dir.join(name)])
        .collect()
}

fn find(state: &State, subdir: &str, name: &str) -> Option<PathBuf> {
    candidates(state, subdir, name)
        .into_iter()
        .find(|p| p.exists())
}

fn read(state: &State, plugin: &str, subdir: &str, name: &str) -> Result<String, Error> {
    let path = find(state, subdir, name)
        .ok_or_else(|| err(plugin, format!("could not locate file in lookup: {name}")))?;
    let bytes = std::fs::read(&path)
        .map_err(|e| err(plugin, format!("could not read {}: {e}", path.display())))?;
    // Ansible's file lookups read vaulted files decrypted.
    let bytes = crate::vault::src_bytes(&path, bytes).map_err(|e| err(plugin, e))?;
    String::from_utf8(bytes).map_err(|_| {
        err(
            plugin,
            format!("could not read {}: it is not UTF-8 text", path.display()),
        )
    })
}

fn fileglob(state: &State, pattern: &str) -> Vec<String> {
    let (dir, file) = match pattern.rsplit_once('/') {
        Some((d, f)) => (d, f),
        None => ("", pattern),
    };
    // The directory part is found like a file; the first directory that
    // exists is globbed.
    let dirs = if dir.is_empty() {
        candidates(state, "files", ".")
    } else {
        candidates(state, "files", dir)
    };
    for base in dirs.into_iter().filter(|d| d.is_dir()) {
        let full = base.join(file);
        let Ok(paths) = glob::glob(&full.to_string_lossy()) else {
            return Vec::new();
        };
        let found: Vec<String> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// `first_found`: terms are file names, lists of them, or
/// `{files: [...], paths: [...], skip: bool}`.
fn first_found(state: &State, terms: Vec<MjValue>, kwargs: &Kwargs) -> Result<Vec<MjValue>, Error> {
    let mut skip = kwargs.get::<Option<bool>>("skip")?.unwrap_or(false);
    let mut files: Vec<String> = kwargs
        .get::<Option<Vec<String>>>("files")?
        .unwrap_or_default();
    let mut paths: Vec<String> = kwargs
        .get::<Option<Vec<String>>>("paths")?
        .unwrap_or_default();
    for term in listify(terms) {
        if term.kind() == ValueKind::Map {
            let list = |key: &str| -> Vec<String> {
                match term.get_attr(key) {
                    Ok(v) if v.kind() == ValueKind::Seq => v
                        .try_iter()
                        .map(|i| i.filter_map(|x| x.as_str().map(String::from)).collect())
                        .unwrap_or_default(),
                    Ok(v) => v
                        .as_str()
                        .map(|s| s.split([',', ';']).map(String::from).collect())
                        .unwrap_or_default(),
                    Err(_) => Vec::new(),
                }
            };
            files.extend(list("files"));
            paths.extend(list("paths"));
            skip |= term.get_attr("skip").is_ok_and(|s| s.is_true());
        } else {
            files.push(as_text("first_found", &term)?);
        }
    }
    for file in &files {
        let found = if paths.is_empty() || Path::new(file).is_absolute() {
            find(state, "files", file)
        } else {
            paths
                .iter()
                .map(|p| Path::new(p).join(file))
                .flat_map(|p| find(state, "files", &p.to_string_lossy()))
                .next()
        };
        if let Some(path) = found {
            return Ok(vec![MjValue::from(path.to_string_lossy().into_owned())]);
        }
    }
    if skip {
        Ok(Vec::new())
    } else {
        Err(err(
            "first_found",
            format!("no file was found among: {}", files.join(", ")),
        ))
    }
}
