//! JSON text exactly as Python's `json.dumps` writes it, because that is what
//! Ansible's `to_json` and `to_nice_json` produce and what users diff against:
//! `", "` and `": "` separators, `ensure_ascii` escapes, optional indent and
//! key sorting, and Python's float spelling.

use serde_json::Value as Json;

/// Options of `json.dumps` that Ansible's filters use.
pub(crate) struct DumpOptions {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
    /// Item separator; Python uses "," when indenting and ", " otherwise.
    pub item_sep: String,
    pub key_sep: String,
}

impl DumpOptions {
    pub(crate) fn new(indent: Option<usize>, sort_keys: bool) -> DumpOptions {
        DumpOptions {
            indent,
            sort_keys,
            ensure_ascii: true,
            item_sep: if indent.is_some() { "," } else { ", " }.to_string(),
            key_sep: ": ".to_string(),
        }
    }
}

pub(crate) fn dumps(v: &Json, opts: &DumpOptions) -> String {
    let mut out = String::new();
    write(&mut out, v, opts, 0);
    out
}

fn newline(out: &mut String, opts: &DumpOptions, level: usize) {
    if let Some(n) = opts.indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * level));
    }
}

fn write(out: &mut String, v: &Json, opts: &DumpOptions, level: usize) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&json_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Json::String(s) => write_str(out, s, opts.ensure_ascii),
        Json::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_sep);
                }
                newline(out, opts, level + 1);
                write(out, item, opts, level + 1);
            }
            newline(out, opts, level);
            out.push(']');
        }
        Json::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            if opts.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_sep);
                }
                newline(out, opts, level + 1);
                write_str(out, k, opts.ensure_ascii);
                out.push_str(&opts.key_sep);
                write(out, item, opts, level + 1);
            }
            newline(out, opts, level);
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !c.is_ascii()) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: shortest round-trip digits, ".0" on whole numbers,
/// and exponents written `e+16` / `e-05`.
pub(crate) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's Debug switches to exponent notation at the same thresholds as
    // Python's repr (exp < -4 or >= 16); only the exponent spelling differs.
    let s = format!("{f:?}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn json_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        py_float(f)
    }
}
