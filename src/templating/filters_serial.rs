//! Conversions between values and JSON or YAML text: `to_json`,
//! `to_nice_json`, `from_json`, `to_yaml`, `to_nice_yaml`, `from_yaml`,
//! `from_yaml_all`, with the output of Python's `json` and PyYAML.

use minijinja::value::{Kwargs, Value as MjValue};
use minijinja::{Environment, Error};
use serde_json::Value as Json;

use super::convert::{as_text, json_to_mj, mj_to_json, need, op_err};
use super::pyjson::{DumpOptions, dumps};
use super::{yaml_in, yaml_out};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", |s: &MjValue| -> Result<MjValue, Error> {
        let text = as_text("from_json", s)?;
        let v: Json = serde_json::from_str(&text).map_err(|e| op_err("from_json", e))?;
        Ok(json_to_mj(&v))
    });
    env.add_filter("to_yaml", |v: &MjValue, kwargs: Kwargs| {
        to_yaml(v, kwargs, 2, true)
    });
    env.add_filter("to_nice_yaml", |v: &MjValue, kwargs: Kwargs| {
        to_yaml(v, kwargs, 4, false)
    });
    env.add_filter("from_yaml", |s: &MjValue| -> Result<MjValue, Error> {
        let text = as_text("from_yaml", s)?;
        Ok(json_to_mj(
            &yaml_in::parse(&text).map_err(|e| op_err("from_yaml", e))?,
        ))
    });
    env.add_filter("from_yaml_all", |s: &MjValue| -> Result<MjValue, Error> {
        let text = as_text("from_yaml_all", s)?;
        let docs = yaml_in::parse_all(&text).map_err(|e| op_err("from_yaml_all", e))?;
        Ok(json_to_mj(&Json::Array(docs)))
    });
}

fn dump_options(
    kwargs: &Kwargs,
    indent: Option<usize>,
    sort_keys: bool,
) -> Result<DumpOptions, Error> {
    let indent = match kwargs.get::<Option<usize>>("indent")? {
        Some(i) => Some(i),
        None => indent,
    };
    let sort_keys = kwargs
        .get::<Option<bool>>("sort_keys")?
        .unwrap_or(sort_keys);
    let mut opts = DumpOptions::new(indent, sort_keys);
    opts.ensure_ascii = kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    Ok(opts)
}

fn to_json(value: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    need(value)?;
    let opts = dump_options(&kwargs, None, false)?;
    Ok(dumps(&mj_to_json(value)?, &opts))
}

fn to_nice_json(value: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    need(value)?;
    let opts = dump_options(&kwargs, Some(4), true)?;
    Ok(dumps(&mj_to_json(value)?, &opts))
}

fn to_yaml(
    value: &MjValue,
    kwargs: Kwargs,
    indent: usize,
    flow_leaves: bool,
) -> Result<String, Error> {
    need(value)?;
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(indent);
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    let flow_leaves = match kwargs.get::<Option<MjValue>>("default_flow_style")? {
        // None keeps PyYAML's default (leaf collections inline); True is
        // approximated by the same, False writes blocks only.
        Some(v) => v.is_true(),
        None => flow_leaves,
    };
    // PyYAML options that do not change our output.
    for ignored in ["width", "allow_unicode"] {
        let _ = kwargs.get::<Option<MjValue>>(ignored)?;
    }
    kwargs.assert_all_used()?;
    let opts = yaml_out::YamlOptions {
        indent,
        flow_leaves,
        sort_keys,
    };
    Ok(yaml_out::dump(&mj_to_json(value)?, &opts))
}
