//! Request bodies encoded as Ansible's `uri` encodes them: Python's
//! `json.dumps` (its separators, `ensure_ascii`) and `urlencode`.

use crate::Value;

/// Python's `json.dumps` with its default separators and `ensure_ascii`.
pub fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_string(k, out);
                out.push_str(": ");
                write_json(v, out);
            }
            out.push('}');
        }
        Value::String(s) => json_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `urlencode` of a mapping or a list of pairs (`quote_plus`).
pub fn form_urlencoded(value: &Value) -> Result<String, String> {
    let pairs: Vec<(String, String)> = match value {
        Value::Object(map) => map.iter().flat_map(|(k, v)| expand(k, v)).collect(),
        Value::Array(items) => {
            let mut pairs = Vec::new();
            for item in items {
                match item.as_array().map(Vec::as_slice) {
                    Some([k, v]) => pairs.extend(expand(&crate::display(k), v)),
                    _ => return Err(format!("{item} is not a key/value pair")),
                }
            }
            pairs
        }
        other => return Err(format!("{other} is not a mapping or a list of pairs")),
    };
    Ok(pairs
        .iter()
        .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
        .collect::<Vec<_>>()
        .join("&"))
}

/// A list value becomes one pair per item, as `urlencode(doseq=True)`.
fn expand(key: &str, value: &Value) -> Vec<(String, String)> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|i| (key.to_string(), crate::display(i)))
            .collect(),
        other => vec![(key.to_string(), crate::display(other))],
    }
}

fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_as_python_encodes_them() {
        assert_eq!(
            python_json(&json!({"a": [1, "é"], "b": null})),
            r#"{"a": [1, "\u00e9"], "b": null}"#
        );
        assert_eq!(
            form_urlencoded(&json!({"name": "a b&c", "n": [1, 2]})).unwrap(),
            "name=a+b%26c&n=1&n=2"
        );
        assert_eq!(form_urlencoded(&json!([["k", "v/"]])).unwrap(), "k=v%2F");
        assert!(form_urlencoded(&json!("text")).is_err());
        assert!(form_urlencoded(&json!([1])).is_err());
    }
}
