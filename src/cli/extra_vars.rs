//! `-e`: extra variables as `k=v` words, `@file` (YAML or JSON), or JSON.

use std::path::Path;

use serde_json::Value;

use crate::error::Error;

type Map = serde_json::Map<String, Value>;

pub fn parse_all(specs: &[String]) -> Result<Map, Error> {
    let mut vars = Map::new();
    for spec in specs {
        vars.extend(parse_one(spec)?);
    }
    Ok(vars)
}

fn parse_one(spec: &str) -> Result<Map, Error> {
    if let Some(file) = spec.strip_prefix('@') {
        let node = crate::yaml::load_file(Path::new(file))?;
        return match node.to_value() {
            Value::Object(m) => Ok(m),
            Value::Null => Ok(Map::new()),
            _ => Err(Error::at(
                &node.loc,
                "extra vars from a file must be a mapping",
            )),
        };
    }
    let trimmed = spec.trim_start();
    if trimmed.starts_with('{') {
        let node = crate::yaml::load_str(Path::new("<extra vars>"), spec.to_string())?;
        if let Value::Object(m) = node.to_value() {
            return Ok(m);
        }
    }
    let mut vars = Map::new();
    let words =
        crate::playbook::split_args(spec).map_err(|e| Error::plain(format!("-e {spec}: {e}")))?;
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(Error::plain(format!(
                "-e {spec}: '{word}' is not key=value; use -e key=value, -e @vars.yml or -e '{{\"key\": \"value\"}}'"
            )));
        };
        let v = v.trim_matches(|c| c == '\'' || c == '"');
        // Ansible keeps `k=v` extra vars as strings.
        vars.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let m = parse_all(&["a=1 b='x y'".into(), "{\"c\": [1]}".into()]).unwrap();
        assert_eq!(m["a"], "1");
        assert_eq!(m["b"], "x y");
        assert_eq!(m["c"], serde_json::json!([1]));
        assert!(parse_all(&["oops".into()]).is_err());
    }
}
