//! `to_yaml` / `to_nice_yaml`: YAML text laid out the way PyYAML's emitter
//! lays it out, since that is what Ansible users see and diff against.
//!
//! Reproduced: sorted keys, block sequences not indented under their key,
//! `-   key: v` for mappings in sequences at indent 4, leaf collections in
//! flow style for `to_yaml`, quoting of strings that YAML would read as
//! something else. Like Ansible's dumper (not PyYAML's), no `...` end
//! marker follows a plain root scalar.
//! Not reproduced: PyYAML folds lines longer than 80 columns; we never fold,
//! and multi-line strings are written double-quoted with `\n` escapes.

use serde_json::Value as Json;

use super::pyjson::py_float;
use super::yaml_in::is_implicitly_typed;

pub(crate) struct YamlOptions {
    pub indent: usize,
    /// `default_flow_style=None`: collections of scalars are written inline.
    pub flow_leaves: bool,
    pub sort_keys: bool,
}

pub(crate) fn dump(v: &Json, opts: &YamlOptions) -> String {
    let mut out = String::new();
    let opts = YamlOptions {
        indent: opts.indent.clamp(2, 9),
        ..*opts
    };
    if let Some(inline) = inline(v, &opts) {
        out.push_str(&inline);
        out.push('\n');
        return out;
    }
    match v {
        Json::Object(_) => mapping(&mut out, v, 0, &opts, false),
        _ => sequence(&mut out, v, 0, &opts, false),
    }
    out
}

fn entries<'a>(v: &'a Json, opts: &YamlOptions) -> Vec<(&'a String, &'a Json)> {
    let mut items: Vec<_> = match v {
        Json::Object(map) => map.iter().collect(),
        _ => Vec::new(),
    };
    if opts.sort_keys {
        items.sort_by(|a, b| a.0.cmp(b.0));
    }
    items
}

/// A mapping whose entries start at column `indent`. With `first_inline`
/// the first entry continues the current line (after a `-`).
fn mapping(out: &mut String, v: &Json, indent: usize, opts: &YamlOptions, first_inline: bool) {
    for (i, (key, value)) in entries(v, opts).into_iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&string(key, false));
        out.push(':');
        node(out, value, indent, opts, true);
    }
}

/// A sequence whose `-` indicators are at column `indent`.
fn sequence(out: &mut String, v: &Json, indent: usize, opts: &YamlOptions, first_inline: bool) {
    let Json::Array(items) = v else { return };
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push('-');
        node(out, item, indent, opts, false);
    }
}

/// Writes a value after `key:` (`in_map`) or after a `-` at column `indent`.
fn node(out: &mut String, v: &Json, indent: usize, opts: &YamlOptions, in_map: bool) {
    if let Some(inline) = inline(v, opts) {
        out.push(' ');
        out.push_str(&inline);
        out.push('\n');
        return;
    }
    let child = indent + opts.indent;
    match (v, in_map) {
        (Json::Object(_), true) => {
            out.push('\n');
            mapping(out, v, child, opts, false);
        }
        // PyYAML does not indent a block sequence under its mapping key.
        (Json::Array(_), true) => {
            out.push('\n');
            sequence(out, v, indent, opts, false);
        }
        (Json::Object(_), false) => {
            out.push_str(&" ".repeat(opts.indent - 1));
            mapping(out, v, child, opts, true);
        }
        _ => {
            out.push_str(&" ".repeat(opts.indent - 1));
            sequence(out, v, child, opts, true);
        }
    }
}

/// The one-line form of scalars, empty collections and (with `flow_leaves`)
/// collections of scalars; `None` for what must be written as a block.
fn inline(v: &Json, opts: &YamlOptions) -> Option<String> {
    Some(match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => yaml_float(f),
            _ => n.to_string(),
        },
        Json::String(s) => string(s, false),
        Json::Array(items) if items.is_empty() => "[]".into(),
        Json::Object(map) if map.is_empty() => "{}".into(),
        Json::Array(items) if opts.flow_leaves && items.iter().all(is_scalar) => {
            let parts: Vec<String> = items.iter().map(flow_scalar).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::Object(map) if opts.flow_leaves && map.values().all(is_scalar) => {
            let parts: Vec<String> = entries(v, opts)
                .into_iter()
                .map(|(k, v)| format!("{}: {}", string(k, true), flow_scalar(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        _ => return None,
    })
}

fn is_scalar(v: &Json) -> bool {
    !matches!(v, Json::Array(_) | Json::Object(_))
}

fn flow_scalar(v: &Json) -> String {
    match v {
        Json::String(s) => string(s, true),
        other => inline(
            other,
            &YamlOptions {
                indent: 2,
                flow_leaves: false,
                sort_keys: false,
            },
        )
        .unwrap_or_default(),
    }
}

/// PyYAML's float spelling: `repr()` lower-cased, `.0` before a bare
/// exponent, `.inf`/`.nan` for the specials.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let s = py_float(f);
    if !s.contains('.') && s.contains('e') {
        s.replacen('e', ".0e", 1)
    } else {
        s
    }
}

/// A string scalar: plain when YAML would read it back as the same string,
/// else single-quoted, or double-quoted when it has line breaks or
/// non-printable characters.
fn string(s: &str, flow: bool) -> String {
    if plain_allowed(s, flow) {
        return s.to_string();
    }
    if s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return double_quoted(s);
    }
    format!("'{}'", s.replace('\'', "''"))
}

/// PyYAML's `analyze_scalar`, reduced to the cases that matter for text.
fn plain_allowed(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if is_implicitly_typed(s) || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if first == ' ' || s.ends_with(' ') || s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return false;
    }
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    let second = s[first.len_utf8()..].chars().next();
    let followed_by_space = matches!(second, None | Some(' '));
    if (first == '-' && followed_by_space) || ("?:".contains(first) && (flow || followed_by_space))
    {
        return false;
    }
    if s.contains(": ") || s.ends_with(':') || s.contains(" #") {
        return false;
    }
    if flow && s[first.len_utf8()..].contains([',', '?', '[', ']', '{', '}', ':']) {
        return false;
    }
    true
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x100 && c.is_control() => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c if c.is_control() || c == '\u{feff}' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
