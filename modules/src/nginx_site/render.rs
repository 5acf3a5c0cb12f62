//! Renders `nginx_site`'s structured form (`upstreams` + `server`) into
//! nginx configuration text. Deterministic: blocks and directives come out
//! in the order the task gives them (mappings keep their order), indented
//! by four spaces, so the same task always writes the same bytes and a
//! second run finds nothing to change.
//!
//! A value becomes directive arguments as written: a string or number as
//! is, a boolean as `on`/`off`, a list as the directive repeated once per
//! item, a mapping as one directive per entry (`proxy_set_header: {Host:
//! $host}` → `proxy_set_header Host $host;`). `server_name` joins a list on
//! one line. `extra` lines are copied verbatim.

use crate::{Map, Value};

const INDENT: &str = "    ";

/// The configuration text for `upstreams` (name → settings) and `servers`.
pub(crate) fn render(upstreams: Option<&Map>, servers: &[Value]) -> Result<String, String> {
    let mut blocks: Vec<String> = Vec::new();
    for (name, settings) in upstreams.into_iter().flatten() {
        blocks.push(upstream(name, settings)?);
    }
    for (i, server) in servers.iter().enumerate() {
        let map = server
            .as_object()
            .ok_or_else(|| format!("server {}: expected a mapping of settings", i + 1))?;
        let mut out = String::from("server {\n");
        block_body(map, 1, &mut out, "server")?;
        out.push_str("}\n");
        blocks.push(out);
    }
    Ok(blocks.join("\n"))
}

fn upstream(name: &str, settings: &Value) -> Result<String, String> {
    word(name).map_err(|e| format!("upstream name {e}"))?;
    let map = settings
        .as_object()
        .ok_or_else(|| format!("upstream {name}: expected a mapping with 'servers'"))?;
    let mut out = format!("upstream {name} {{\n");
    let servers = match map.get("servers") {
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        Some(Value::String(s)) => vec![Value::String(s.clone())],
        _ => {
            return Err(format!(
                "upstream {name}: 'servers' must list at least one host:port"
            ));
        }
    };
    for s in &servers {
        directive("server", s, 1, &mut out).map_err(|e| format!("upstream {name}: {e}"))?;
    }
    for (key, value) in map.iter().filter(|(k, _)| *k != "servers") {
        directive(key, value, 1, &mut out).map_err(|e| format!("upstream {name}: {e}"))?;
    }
    out.push_str("}\n");
    Ok(out)
}

/// The inside of a `server` or `location` block at `depth`.
fn block_body(map: &Map, depth: usize, out: &mut String, what: &str) -> Result<(), String> {
    let pad = INDENT.repeat(depth);
    let first = ["listen", "server_name"];
    // `path` belongs to a location's header, not its body.
    let special: &[&str] = if what.starts_with("location") {
        &["listen", "server_name", "locations", "extra", "path"]
    } else {
        &["listen", "server_name", "locations", "extra"]
    };
    let ordered = first
        .iter()
        .filter_map(|k| map.get_key_value(*k))
        .chain(map.iter().filter(|(k, _)| !special.contains(&k.as_str())));
    for (key, value) in ordered {
        let res = match (key.as_str(), value) {
            ("server_name", Value::Array(names)) => {
                let joined: Vec<String> = names.iter().map(crate::display).collect();
                directive(key, &Value::String(joined.join(" ")), depth, out)
            }
            _ => directive(key, value, depth, out),
        };
        res.map_err(|e| format!("{what}: {e}"))?;
    }
    match map.get("locations") {
        None | Some(Value::Null) => {}
        Some(Value::Array(locations)) => {
            for loc in locations {
                location(loc, depth, out).map_err(|e| format!("{what}: {e}"))?;
            }
        }
        Some(_) => return Err(format!("{what}: 'locations' must be a list")),
    }
    let extra: Vec<String> = match map.get("extra") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.lines().map(str::to_string).collect(),
        Some(Value::Array(lines)) => lines.iter().map(crate::display).collect(),
        Some(_) => return Err(format!("{what}: 'extra' must be a list of lines")),
    };
    if !extra.is_empty() {
        out.push('\n');
        for line in &extra {
            if line.trim().is_empty() {
                out.push('\n');
            }
            for part in line.lines().map(str::trim).filter(|l| !l.is_empty()) {
                out.push_str(&format!("{pad}{part}\n"));
            }
        }
    }
    Ok(())
}

fn location(loc: &Value, depth: usize, out: &mut String) -> Result<(), String> {
    let map = loc
        .as_object()
        .ok_or("each location must be a mapping with a 'path'")?;
    let path = match map.get("path") {
        Some(Value::String(p)) if !p.trim().is_empty() => p.trim(),
        _ => return Err("each location needs a 'path' (like / or = /health)".into()),
    };
    if path.contains(['\n', '{', '}', ';']) {
        return Err(format!(
            "location path {path:?} must not contain a newline, braces or ';'"
        ));
    }
    let pad = INDENT.repeat(depth);
    out.push_str(&format!("\n{pad}location {path} {{\n"));
    block_body(map, depth + 1, out, &format!("location {path}"))?;
    out.push_str(&format!("{pad}}}\n"));
    Ok(())
}

/// Writes `key value;` lines for one setting.
fn directive(key: &str, value: &Value, depth: usize, out: &mut String) -> Result<(), String> {
    word(key).map_err(|e| format!("directive name {e}"))?;
    let pad = INDENT.repeat(depth);
    match value {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                if item.is_array() {
                    return Err(format!("{key}: a list inside a list"));
                }
                directive(key, item, depth, out)?;
            }
        }
        Value::Object(entries) => {
            for (name, v) in entries {
                word(name).map_err(|e| format!("{key}: {e}"))?;
                let items = match v {
                    Value::Array(items) => items.clone(),
                    other => vec![other.clone()],
                };
                for item in &items {
                    out.push_str(&format!("{pad}{key} {name} {};\n", argument(key, item)?));
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{key} {};\n", argument(key, scalar)?)),
    }
    Ok(())
}

/// A scalar as directive arguments.
fn argument(key: &str, value: &Value) -> Result<String, String> {
    let text = match value {
        Value::Bool(true) => "on".to_string(),
        Value::Bool(false) => "off".to_string(),
        Value::String(s) => s.trim().trim_end_matches(';').trim_end().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return Err(format!("{key}: expected a value, got {value}")),
    };
    if text.is_empty() {
        return Err(format!("{key}: empty value"));
    }
    if text.contains('\n') {
        return Err(format!(
            "{key}: a value must not contain a newline (use 'extra' for raw lines)"
        ));
    }
    Ok(text)
}

/// A directive, header or upstream name: one word of nginx syntax.
fn word(text: &str) -> Result<(), String> {
    if text.is_empty()
        || text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '{' | '}' | ';' | '"' | '\''))
    {
        return Err(format!("{text:?} is not a single word"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn go(upstreams: Value, servers: Value) -> Result<String, String> {
        let servers = match servers {
            Value::Array(a) => a,
            Value::Null => vec![],
            one => vec![one],
        };
        render(upstreams.as_object(), &servers)
    }

    #[test]
    fn upstream_and_server_in_the_given_order() {
        let text = go(
            json!({"app": {"servers": ["127.0.0.1:8081", "127.0.0.1:8082 backup"], "keepalive": 16}}),
            json!({
                "server_name": ["shop.example", "www.shop.example"],
                "listen": 80,
                "client_max_body_size": "10m",
                "locations": [
                    {"path": "/", "proxy_pass": "http://app", "proxy_next_upstream": "error timeout",
                     "proxy_http_version": 1.1,
                     "proxy_set_header": {"Host": "$host", "Connection": "\"\""}},
                    {"path": "= /health", "return": "200 \"ok\"", "access_log": false}
                ],
                "extra": ["gzip on;", "", "add_header X-Frame-Options DENY;"]
            }),
        )
        .unwrap();
        assert_eq!(
            text,
            "upstream app {
    server 127.0.0.1:8081;
    server 127.0.0.1:8082 backup;
    keepalive 16;
}

server {
    listen 80;
    server_name shop.example www.shop.example;
    client_max_body_size 10m;

    location / {
        proxy_pass http://app;
        proxy_next_upstream error timeout;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Connection \"\";
    }

    location = /health {
        return 200 \"ok\";
        access_log off;
    }

    gzip on;

    add_header X-Frame-Options DENY;
}
"
        );
    }

    #[test]
    fn lists_repeat_and_several_servers() {
        let text = go(
            Value::Null,
            json!([{"listen": [80, "[::]:80"], "return": "301 https://$host$request_uri;"}, {"listen": 8080, "root": "/var/www", "extra": "a 1;\nb 2;"}]),
        )
        .unwrap();
        assert_eq!(
            text,
            "server {\n    listen 80;\n    listen [::]:80;\n    return 301 https://$host$request_uri;\n}\n\n\
             server {\n    listen 8080;\n    root /var/www;\n\n    a 1;\n    b 2;\n}\n"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let err = |u: Value, s: Value| go(u, s).unwrap_err();
        assert!(err(json!({"app": {"keepalive": 2}}), Value::Null).contains("'servers'"));
        assert!(err(json!({"a b": {"servers": ["x:1"]}}), Value::Null).contains("upstream name"));
        assert!(err(Value::Null, json!({"locations": [{"root": "/x"}]})).contains("'path'"));
        assert!(err(Value::Null, json!({"locations": {"path": "/"}})).contains("must be a list"));
        assert!(err(Value::Null, json!({"root": "a\nb"})).contains("newline"));
        assert!(err(Value::Null, json!({"bad key": 1})).contains("directive name"));
        assert!(err(Value::Null, json!({"root": ""})).contains("empty value"));
        assert!(err(Value::Null, json!("listen 80")).contains("expected a mapping"));
    }
}
