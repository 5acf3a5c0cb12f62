//! Ansible's filters, registered on the minijinja environment: here the core
//! ones (`default`, `mandatory`, the type conversions, `ternary`...) and the
//! strictness wrapper around minijinja's builtins. The others live in
//! `filters_data.rs` (data shaping), `filters_serial.rs` (JSON/YAML),
//! `filters_text.rs` (regex, base64, hashes, quoting), `filters_path.rs`,
//! `filters_jinja.rs` (Jinja2 builtins minijinja lacks), `filters_url.rs`,
//! `filters_units.rs` (sizes), `filters_time.rs`, `filters_random.rs`,
//! `filters_comment.rs`.
//!
//! Ansible's undefined values are strict: `{{ nmae | lower }}` is an error,
//! not an empty string. minijinja's chainable undefined would let builtins
//! return "" or [], so each builtin that takes a value is re-registered behind
//! a check that its input is defined.

use minijinja::value::{Kwargs, Rest, Value as MjValue, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, State};

use super::convert::{ansible_bool, arg, find_undefined, need, op_err, undefined_error};
use super::error::Mandatory;
use super::render::STRICT_FILTER;
use super::{
    filters_comment, filters_data, filters_jinja, filters_path, filters_random, filters_serial,
    filters_text, filters_time, filters_units, filters_url, percent,
};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter(STRICT_FILTER, strict);
    register_strict_builtins(env);
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("mandatory", mandatory);
    env.add_filter("bool", |v: &MjValue| -> Result<bool, Error> {
        need(v)?;
        Ok(ansible_bool(v))
    });
    env.add_filter("int", to_int);
    env.add_filter("float", to_float);
    env.add_filter("ternary", ternary);
    env.add_filter("type_debug", type_debug);
    env.add_filter("log", |x: f64, base: Option<f64>| match base {
        Some(b) => x.ln() / b.ln(),
        None => x.ln(),
    });
    env.add_filter("pow", |x: f64, y: f64| x.powf(y));
    env.add_filter("root", |x: f64, base: Option<f64>| match base {
        Some(2.0) | None => x.sqrt(),
        Some(3.0) => x.cbrt(),
        Some(b) => x.powf(1.0 / b),
    });
    filters_data::register(env);
    filters_jinja::register(env);
    filters_serial::register(env);
    filters_text::register(env);
    filters_path::register(env);
    filters_comment::register(env);
    filters_random::register(env);
    filters_time::register(env);
    filters_units::register(env);
    filters_url::register(env);
    percent::register(env);
}

/// Registers each builtin under `__mj_<name>` and, under its own name, a
/// wrapper that rejects an undefined input before calling it.
macro_rules! strict_builtins {
    ($env:expr, $($name:literal => $f:path),* $(,)?) => {$(
        $env.add_filter(concat!("__mj_", $name), $f);
        $env.add_filter(
            $name,
            |state: &mut State, args: Rest<ValueOrKwargs>| -> Result<MjValue, Error> {
                let args = args.into_values();
                if let Some(v) = args.first() {
                    need(v)?;
                }
                state.apply_filter(concat!("__mj_", $name), &args)
            },
        );
    )*};
}

fn register_strict_builtins(env: &mut Environment<'static>) {
    use minijinja::filters as f;
    strict_builtins!(env,
        "upper" => f::upper, "lower" => f::lower, "title" => f::title,
        "capitalize" => f::capitalize, "trim" => f::trim,
        "length" => f::length, "count" => f::length, "dictsort" => f::dictsort,
        "items" => f::items, "reverse" => f::reverse, "join" => f::join,
        "split" => f::split, "lines" => f::lines, "abs" => f::abs, "round" => f::round,
        "first" => f::first, "last" => f::last, "min" => f::min, "max" => f::max,
        "sort" => f::sort, "list" => f::list, "string" => f::string, "slice" => f::slice,
        "batch" => f::batch, "indent" => f::indent,
        "select" => f::select, "selectattr" => f::selectattr, "reject" => f::reject,
        "rejectattr" => f::rejectattr, "map" => f::map, "groupby" => f::groupby,
        "unique" => f::unique, "zip" => f::zip, "sum" => f::sum,
    );
}

/// Appended to evaluated expressions (see `render::STRICT_FILTER`).
fn strict(value: MjValue) -> Result<MjValue, Error> {
    match find_undefined(&value) {
        Some(u) => Err(undefined_error(&u)),
        None => Ok(value),
    }
}

/// `default(value='', boolean=false)`: the fallback for undefined values, and
/// with `boolean` also for falsy ones.
fn default(value: &MjValue, pos: Rest<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let fallback = match pos.first() {
        Some(v) => v.clone(),
        None => kwargs
            .get::<Option<MjValue>>("default_value")?
            .unwrap_or_else(|| MjValue::from("")),
    };
    let boolean = match pos.get(1) {
        Some(v) => v.is_true(),
        None => kwargs.get::<Option<bool>>("boolean")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    if value.is_undefined() || (boolean && !value.is_true()) {
        Ok(fallback)
    } else {
        Ok(value.clone())
    }
}

/// `mandatory(msg=None)`: fails naming the undefined variable.
fn mandatory(value: &MjValue, msg: Option<String>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let msg = arg(msg, &kwargs, "msg")?;
    kwargs.assert_all_used()?;
    if value.is_undefined() {
        Err(undefined_error(value).with_source(Mandatory(msg)))
    } else {
        Ok(value.clone())
    }
}

/// Jinja2's `int`, as Ansible uses it: strings are parsed in `base` ("08" is
/// 8), float strings truncate, and anything unparsable gives `default` (0).
fn to_int(
    value: &MjValue,
    default: Option<MjValue>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<MjValue, Error> {
    need(value)?;
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<MjValue>>("default")?
            .unwrap_or(MjValue::from(0)),
    };
    let base = match base {
        Some(b) => b,
        None => kwargs.get::<Option<u32>>("base")?.unwrap_or(10),
    };
    kwargs.assert_all_used()?;
    if !(2..=36).contains(&base) {
        return Err(op_err(
            "int",
            format!("base must be between 2 and 36, got {base}"),
        ));
    }
    Ok(match value.kind() {
        ValueKind::Bool => MjValue::from(i64::from(value.is_true())),
        ValueKind::Number if value.is_integer() => value.clone(),
        ValueKind::Number => match f64::try_from(value.clone()) {
            Ok(f) if f.is_finite() => MjValue::from(f.trunc() as i64),
            _ => default,
        },
        ValueKind::String => {
            parse_int(value.as_str().unwrap_or_default(), base).map_or(default, MjValue::from)
        }
        _ => default,
    })
}

fn parse_int(s: &str, base: u32) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let prefix = match base {
        2 => Some("0b"),
        8 => Some("0o"),
        16 => Some("0x"),
        _ => None,
    };
    let digits = match prefix {
        Some(p) if digits.len() > 2 && digits[..2].eq_ignore_ascii_case(p) => &digits[2..],
        _ => digits,
    };
    let digits = digits.replace('_', "");
    if let Ok(n) = i64::from_str_radix(&digits, base) {
        if !digits.starts_with(['+', '-']) {
            return Some(if neg { -n } else { n });
        }
    }
    // Jinja2 falls back to int(float(value)) for base 10.
    if base == 10 {
        let f: f64 = s.parse().ok()?;
        if f.is_finite() {
            return Some(f.trunc() as i64);
        }
    }
    None
}

/// Jinja2's `float`: unparsable values give `default` (0.0).
fn to_float(value: &MjValue, default: Option<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    need(value)?;
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<MjValue>>("default")?
            .unwrap_or(MjValue::from(0.0)),
    };
    kwargs.assert_all_used()?;
    Ok(match value.kind() {
        ValueKind::Bool => MjValue::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).map_or(default, MjValue::from),
        ValueKind::String => value
            .as_str()
            .unwrap_or_default()
            .trim()
            .parse::<f64>()
            .map_or(default, MjValue::from),
        _ => default,
    })
}

/// `ternary(true_val, false_val, none_val=None)`, on Python truthiness.
fn ternary(
    value: &MjValue,
    if_true: MjValue,
    if_false: MjValue,
    none_val: Option<MjValue>,
    kwargs: Kwargs,
) -> Result<MjValue, Error> {
    need(value)?;
    let none_val = arg(none_val, &kwargs, "none_val")?;
    kwargs.assert_all_used()?;
    if value.is_none() {
        if let Some(v) = none_val {
            return Ok(v);
        }
    }
    Ok(if value.is_true() { if_true } else { if_false })
}

/// The Python type name Ansible would show.
fn type_debug(value: &MjValue) -> &'static str {
    if super::omit::is_omit(value) {
        return "_OmitType";
    }
    match value.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}
