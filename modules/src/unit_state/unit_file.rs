//! A unit file written from structured YAML: one mapping per section
//! (`unit`, `service`, `socket`, `timer`, `install`), keys in the order
//! given. A list value becomes the key repeated (`Environment=` once per
//! item), a boolean `yes`/`no`, a null an empty assignment (`Key=`, which
//! resets a list setting in systemd). Values are written as given: systemd's
//! own quoting and specifiers (`%i`) apply. A newline in a value would
//! smuggle in another line, so it is refused, as are malformed key names.

use crate::{Map, Value};

/// The section names of a unit file, in the order tend writes them, with
/// the parameter that holds each.
pub(crate) const SECTIONS: &[(&str, &str)] = &[
    ("unit", "Unit"),
    ("service", "Service"),
    ("socket", "Socket"),
    ("timer", "Timer"),
    ("install", "Install"),
];

/// The text of a unit file with the given sections (parameter name and
/// its mapping), in [`SECTIONS`] order; empty sections are left out.
pub(crate) fn render(sections: &[(&str, &Map)]) -> Result<String, String> {
    let mut out = String::new();
    for (param, title) in SECTIONS {
        let Some((_, map)) = sections.iter().find(|(p, _)| p == param) else {
            continue;
        };
        if map.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[{title}]\n"));
        for (key, value) in map.iter() {
            if key.is_empty()
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!("{param}: '{key}' is not a unit file key"));
            }
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for item in items {
                let text = scalar(item).ok_or_else(|| {
                    format!(
                        "{param}.{key}: a value must be a string, number, boolean or a list of them"
                    )
                })?;
                if text.contains(['\n', '\r']) {
                    return Err(format!(
                        "{param}.{key}: a value must be one line; use a list for repeated keys"
                    ));
                }
                out.push_str(&format!("{key}={text}\n"));
            }
        }
    }
    Ok(out)
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// The settings of a unit file's `[Install]` section, trimmed, without
/// comments and blank lines: what `systemctl enable` acts on.
pub(crate) fn install_section(text: &str) -> Vec<String> {
    let mut inside = false;
    let mut lines = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[Install]";
        } else if inside && !line.is_empty() && !line.starts_with(['#', ';']) {
            lines.push(line.to_string());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn sections_in_order_with_lists_and_booleans() {
        let unit = map(json!({"Description": "Shop", "After": "network.target"}));
        let service = map(json!({
            "ExecStart": "/opt/shop/current/shop", "User": "shop", "Restart": "always",
            "Environment": ["PORT=8080", "GOMAXPROCS=2"], "NoNewPrivileges": true,
            "RestartSec": 2, "ExecStartPre": null,
        }));
        let install = map(json!({"WantedBy": "multi-user.target"}));
        let text = render(&[
            ("install", &install),
            ("service", &service),
            ("unit", &unit),
        ])
        .unwrap();
        assert_eq!(
            text,
            "[Unit]\nDescription=Shop\nAfter=network.target\n\n[Service]\nExecStart=/opt/shop/current/shop\nUser=shop\nRestart=always\nEnvironment=PORT=8080\nEnvironment=GOMAXPROCS=2\nNoNewPrivileges=yes\nRestartSec=2\nExecStartPre=\n\n[Install]\nWantedBy=multi-user.target\n"
        );
        let empty = Map::new();
        assert_eq!(
            render(&[
                ("unit", &empty),
                ("timer", &map(json!({"OnCalendar": "daily"})))
            ])
            .unwrap(),
            "[Timer]\nOnCalendar=daily\n"
        );
    }

    #[test]
    fn refuses_what_would_break_the_file() {
        let bad = |v: Value| render(&[("service", &map(v))]).unwrap_err();
        assert_eq!(
            bad(json!({"ExecStart": "a\n[Unit]"})),
            "service.ExecStart: a value must be one line; use a list for repeated keys"
        );
        assert!(bad(json!({"Exec Start": "x"})).contains("not a unit file key"));
        assert!(bad(json!({"": "x"})).contains("not a unit file key"));
        assert!(bad(json!({"Environment": {"A": "1"}})).contains("must be a string"));
        assert!(bad(json!({"Environment": [["A"]]})).contains("must be a string"));
    }

    #[test]
    fn install_section_settings() {
        let text = "[Unit]\nDescription=x\n[Install]\n# c\nWantedBy=multi-user.target\n\n Alias=y.service \n[X-Other]\nA=1\n";
        assert_eq!(
            install_section(text),
            ["WantedBy=multi-user.target", "Alias=y.service"]
        );
        assert!(install_section("[Service]\nExecStart=/x\n").is_empty());
    }
}
