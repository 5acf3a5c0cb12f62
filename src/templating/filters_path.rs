//! Ansible's path filters, with Python `posixpath` semantics: `basename`,
//! `dirname`, `expanduser`, `realpath` (on the controller), `path_join`,
//! `splitext`, `normpath`.

use std::path::{Component, Path, PathBuf};

use minijinja::value::Value as MjValue;
use minijinja::{Environment, Error};

use super::convert::{as_text, op_err};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("basename", |p: &MjValue| -> Result<String, Error> {
        Ok(basename(&as_text("basename", p)?).to_string())
    });
    env.add_filter("dirname", |p: &MjValue| -> Result<String, Error> {
        Ok(dirname(&as_text("dirname", p)?))
    });
    env.add_filter("expanduser", |p: &MjValue| -> Result<String, Error> {
        Ok(expanduser(&as_text("expanduser", p)?))
    });
    env.add_filter("realpath", |p: &MjValue| -> Result<String, Error> {
        Ok(realpath(&as_text("realpath", p)?))
    });
    env.add_filter("path_join", path_join);
    env.add_filter("normpath", |p: &MjValue| -> Result<String, Error> {
        Ok(normpath(&as_text("normpath", p)?))
    });
    env.add_filter("splitext", |p: &MjValue| -> Result<MjValue, Error> {
        let (root, ext) = splitext(&as_text("splitext", p)?);
        Ok(MjValue::from(vec![MjValue::from(root), MjValue::from(ext)]))
    });
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn dirname(p: &str) -> String {
    let head = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

fn expanduser(p: &str) -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    if home.is_empty() {
        return p.to_string();
    }
    if p == "~" {
        home
    } else if let Some(rest) = p.strip_prefix("~/") {
        format!("{}/{rest}", home.trim_end_matches('/'))
    } else {
        p.to_string()
    }
}

/// `os.path.realpath` on the controller: symlinks resolved when the path
/// exists, otherwise made absolute and normalised lexically.
fn realpath(p: &str) -> String {
    if let Ok(real) = std::fs::canonicalize(p) {
        return real.to_string_lossy().into_owned();
    }
    let path = Path::new(p);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::from("/");
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(c) => out.push(c),
            _ => {}
        }
    }
    out.to_string_lossy().into_owned()
}

/// `path_join`: `os.path.join` of a list (a later absolute part restarts).
fn path_join(parts: &MjValue) -> Result<String, Error> {
    let parts: Vec<String> = match parts.as_str() {
        Some(s) => vec![s.to_string()],
        None => parts
            .try_iter()
            .map_err(|e| op_err("path_join", e))?
            .map(|p| as_text("path_join", &p))
            .collect::<Result<_, _>>()?,
    };
    let mut out = String::new();
    for part in parts {
        if part.starts_with('/') || out.is_empty() {
            out = part;
        } else {
            if !out.ends_with('/') {
                out.push('/');
            }
            out.push_str(&part);
        }
    }
    Ok(out)
}

fn splitext(p: &str) -> (String, String) {
    let base_start = p.rfind('/').map_or(0, |i| i + 1);
    let base = &p[base_start..];
    let stem_start = base.len() - base.trim_start_matches('.').len();
    match base[stem_start..].rfind('.') {
        Some(i) => {
            let dot = base_start + stem_start + i;
            (p[..dot].to_string(), p[dot..].to_string())
        }
        None => (p.to_string(), String::new()),
    }
}

/// Python's `posixpath.normpath`: `.` and `a/..` removed lexically, one
/// leading slash kept (two are kept as two, as POSIX allows).
pub(crate) fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let leading = p.len() - p.trim_start_matches('/').len();
    let root = match leading {
        0 => "",
        2 => "//",
        _ => "/",
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            // `..` above the root is the root.
            ".." if !root.is_empty() => {}
            _ => parts.push(part),
        }
    }
    let joined = format!("{root}{}", parts.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}
