//! `from_yaml`: YAML text to values, for the `from_yaml`/`from_yaml_all`
//! filters. Ansible reads these with PyYAML, so plain scalars are typed by
//! YAML 1.1 rules (`yes`/`off` are booleans, `0755` is octal, `~` is null);
//! the same rules tell `to_yaml` which strings must be quoted.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value as Json};

enum Frame {
    Seq(Vec<Json>, usize),
    Map(Map<String, Json>, Option<String>, usize),
}

/// Every document in `text`.
pub(crate) fn parse_all(text: &str) -> Result<Vec<Json>, String> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Json> = HashMap::new();
    for event in Parser::new_from_str(text) {
        let (event, _span) = event.map_err(|e| e.to_string())?;
        let (value, anchor, merge_key) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let plain = style == ScalarStyle::Plain && !is_str_tag;
                let value = if plain {
                    resolve_plain(&text)
                } else {
                    Json::String(text.into_owned())
                };
                let merge = plain && value == Json::String("<<".into());
                (value, anchor, merge)
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(v) => (v.clone(), 0, false),
                None => return Err(format!("unknown alias (anchor id {id})")),
            },
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), anchor));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(Map::new(), None, anchor));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor)) => (Json::Array(items), anchor, false),
                Some(Frame::Map(map, _, anchor)) => (Json::Object(map), anchor, false),
                None => return Err("unbalanced YAML collection".into()),
            },
            _ => continue,
        };
        if anchor > 0 {
            anchors.insert(anchor, value.clone());
        }
        match stack.last_mut() {
            None => docs.push(value),
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map(map, pending, _)) => match pending.take() {
                None if merge_key => *pending = Some("<<".into()),
                None => *pending = Some(key_text(&value)),
                Some(key) if key == "<<" => merge(map, value),
                Some(key) => {
                    map.insert(key, value);
                }
            },
        }
    }
    Ok(docs)
}

/// The first document, or null for empty text (as `yaml.safe_load`).
pub(crate) fn parse(text: &str) -> Result<Json, String> {
    Ok(parse_all(text)?.into_iter().next().unwrap_or(Json::Null))
}

fn key_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => "null".into(),
        other => other.to_string(),
    }
}

/// `<<: *anchor` merge keys: entries already present win.
fn merge(map: &mut Map<String, Json>, value: Json) {
    let sources = match value {
        Json::Array(items) => items,
        other => vec![other],
    };
    for source in sources {
        if let Json::Object(entries) = source {
            for (k, v) in entries {
                map.entry(k).or_insert(v);
            }
        }
    }
}

struct Resolvers {
    boolean: Regex,
    null: Regex,
    int: Regex,
    float: Regex,
    other: Regex,
}

fn resolvers() -> Option<&'static Resolvers> {
    static R: OnceLock<Option<Resolvers>> = OnceLock::new();
    R.get_or_init(|| {
        Some(Resolvers {
            boolean: Regex::new(
                r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            )
            .ok()?,
            null: Regex::new(r"^(?:~|null|Null|NULL|)$").ok()?,
            int: Regex::new(
                r"^[-+]?(?:0b[0-1_]+|0[0-7_]+|(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            )
            .ok()?,
            float: Regex::new(
                r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            )
            .ok()?,
            // Timestamps, merge and value keys: not typed by us, but PyYAML
            // would read them as something other than a string.
            other: Regex::new(
                r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?|<<|=)$",
            )
            .ok()?,
        })
    })
    .as_ref()
}

/// Whether PyYAML would read this plain scalar as something other than a
/// string (so `to_yaml` must quote it).
pub(crate) fn is_implicitly_typed(s: &str) -> bool {
    resolvers().is_some_and(|r| {
        r.boolean.is_match(s)
            || r.null.is_match(s)
            || r.int.is_match(s)
            || r.float.is_match(s)
            || r.other.is_match(s)
    })
}

/// Types a plain scalar by YAML 1.1 (PyYAML) rules.
pub(crate) fn resolve_plain(s: &str) -> Json {
    let Some(r) = resolvers() else {
        return Json::String(s.to_string());
    };
    if r.null.is_match(s) {
        return Json::Null;
    }
    if r.boolean.is_match(s) {
        return Json::Bool(matches!(
            s.to_ascii_lowercase().as_str(),
            "yes" | "true" | "on"
        ));
    }
    if r.int.is_match(s) && !s.contains(':') {
        if let Some(i) = parse_yaml_int(s) {
            return Json::Number(i.into());
        }
    }
    if r.float.is_match(s) && !s.contains(':') {
        let clean = s.replace('_', "").to_ascii_lowercase();
        let f = match clean.trim_start_matches('+') {
            ".inf" => Some(f64::INFINITY),
            "-.inf" => Some(f64::NEG_INFINITY),
            ".nan" => Some(f64::NAN),
            other => other.parse().ok(),
        };
        if let Some(n) = f.and_then(Number::from_f64) {
            return Json::Number(n);
        }
    }
    Json::String(s.to_string())
}

fn parse_yaml_int(s: &str) -> Option<i64> {
    let clean = s.replace('_', "");
    let (neg, digits) = match clean.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let n = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -n } else { n })
}
