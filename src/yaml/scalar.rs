//! Plain scalars resolved as PyYAML resolves them (YAML 1.1), which is
//! what Ansible playbooks are written against.

use super::NodeValue;

pub fn resolve_plain(text: &str) -> NodeValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return NodeValue::Bool(true);
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return NodeValue::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = int(text) {
        return NodeValue::Int(i);
    }
    if is_float(text) {
        if let Ok(f) = text.replace('_', "").parse::<f64>() {
            return NodeValue::Float(f);
        }
    }
    NodeValue::Str(text.to_string())
}

fn int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = |s: &str, radix: u32| -> Option<i64> {
        let clean: String = s.chars().filter(|&c| c != '_').collect();
        if clean.is_empty() || s.starts_with('_') {
            return None;
        }
        i64::from_str_radix(&clean, radix).ok()
    };
    let value = if let Some(bin) = body.strip_prefix("0b") {
        digits(bin, 2)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        digits(hex, 16)?
    } else if body.len() > 1 && body.starts_with('0') {
        if !body
            .bytes()
            .all(|b| (b'0'..=b'7').contains(&b) || b == b'_')
        {
            return None;
        }
        digits(&body[1..], 8)?
    } else {
        if !body.bytes().next()?.is_ascii_digit()
            || !body.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        {
            return None;
        }
        digits(body, 10)?
    };
    Some(if neg { -value } else { value })
}

/// PyYAML's float: `[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?`.
fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let Some((whole, rest)) = body.split_once('.') else {
        return false;
    };
    if !whole.is_empty()
        && (!whole.as_bytes()[0].is_ascii_digit()
            || !whole.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
    {
        return false;
    }
    let (frac, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        || (whole.is_empty() && frac.is_empty())
    {
        return false;
    }
    match exp {
        None => true,
        Some(e) => {
            let digits = e.strip_prefix(['-', '+']);
            digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        format!("{:?}", resolve_plain(s))
    }

    #[test]
    fn yaml_1_1_booleans_and_nulls() {
        assert_eq!(r("yes"), "Bool(true)");
        assert_eq!(r("Off"), "Bool(false)");
        assert_eq!(r("~"), "Null");
        assert_eq!(r("y"), "Str(\"y\")");
    }

    #[test]
    fn numbers() {
        assert_eq!(r("0644"), "Int(420)");
        assert_eq!(r("8080"), "Int(8080)");
        assert_eq!(r("-3"), "Int(-3)");
        assert_eq!(r("0x1F"), "Int(31)");
        assert_eq!(r("1.5"), "Float(1.5)");
        assert_eq!(r("1.0e+3"), "Float(1000.0)");
        assert_eq!(r("08"), "Str(\"08\")");
        assert_eq!(r("1.2.3"), "Str(\"1.2.3\")");
        assert_eq!(r("v1"), "Str(\"v1\")");
        assert_eq!(r("99999999999999999999"), "Str(\"99999999999999999999\")");
    }
}
