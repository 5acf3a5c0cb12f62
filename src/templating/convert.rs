//! Conversions between serde_json values (what the engine holds) and minijinja
//! values (what templates compute with), plus the small value helpers that
//! filters, tests and lookups share: Ansible's boolean reading, and raising an
//! undefined error that still names the variable.

use minijinja::value::{Kwargs, Value as MjValue, ValueKind};
use minijinja::{Error, ErrorKind};
use serde_json::{Map, Number, Value as Json};

use super::{OMIT_PLACEHOLDER, omit};

/// A plain conversion, no templating.
pub(crate) fn json_to_mj(v: &Json) -> MjValue {
    match v {
        Json::Null => MjValue::from(()),
        Json::Bool(b) => MjValue::from(*b),
        Json::Number(n) => number_to_mj(n),
        Json::String(s) => MjValue::from(s.as_str()),
        Json::Array(items) => MjValue::from(items.iter().map(json_to_mj).collect::<Vec<_>>()),
        Json::Object(map) => MjValue::from_pairs(
            map.iter()
                .map(|(k, v)| (MjValue::from(k.as_str()), json_to_mj(v))),
        ),
    }
}

pub(crate) fn number_to_mj(n: &Number) -> MjValue {
    if let Some(i) = n.as_i64() {
        MjValue::from(i)
    } else if let Some(u) = n.as_u64() {
        MjValue::from(u)
    } else {
        MjValue::from(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Converts a computed value back to JSON. Undefined values anywhere inside
/// are an error: a template must not silently hand `null` to a module.
pub(crate) fn mj_to_json(v: &MjValue) -> Result<Json, Error> {
    Ok(match v.kind() {
        ValueKind::Undefined => return Err(undefined_error(v)),
        _ if omit::is_omit(v) => Json::String(OMIT_PLACEHOLDER.to_string()),
        ValueKind::None => Json::Null,
        ValueKind::Bool => Json::Bool(v.is_true()),
        ValueKind::Number => number_to_json(v),
        ValueKind::String => Json::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => {
            Json::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let mut out = Vec::new();
            for item in v.try_iter()? {
                if !omit::is_omit(&item) {
                    out.push(mj_to_json(&item)?);
                }
            }
            Json::Array(out)
        }
        ValueKind::Map => {
            let mut out = Map::new();
            for key in v.try_iter()? {
                let item = v.get_item(&key)?;
                if omit::is_omit(&item) {
                    continue;
                }
                let key = match key.as_str() {
                    Some(s) => s.to_string(),
                    None => key.to_string(),
                };
                out.insert(key, mj_to_json(&item)?);
            }
            Json::Object(out)
        }
        ValueKind::Invalid => {
            return Err(Error::new(ErrorKind::InvalidOperation, v.to_string()));
        }
        // Functions, macros and other opaque objects: their printed form.
        _ => Json::String(v.to_string()),
    })
}

fn number_to_json(v: &MjValue) -> Json {
    if v.is_integer() {
        if let Some(i) = v.as_i64() {
            return Json::Number(i.into());
        }
        if let Ok(u) = u64::try_from(v.clone()) {
            return Json::Number(u.into());
        }
    }
    match f64::try_from(v.clone()).ok().and_then(Number::from_f64) {
        Some(n) => Json::Number(n),
        // NaN and infinities have no JSON form; keep what Python would print.
        None => Json::String(v.to_string()),
    }
}

/// The error for using an undefined value. Going through `get_attr` makes
/// minijinja attach the value's origin, so the VM can name the variable.
pub(crate) fn undefined_error(v: &MjValue) -> Error {
    match v.get_attr("__tend_undefined") {
        Err(err) => err,
        Ok(_) => Error::new(ErrorKind::UndefinedError, "value is undefined"),
    }
}

/// Fails with the undefined error if `v` is undefined (filters are strict
/// about their input, as Ansible's are, while `default` and `defined` are not).
pub(crate) fn need(v: &MjValue) -> Result<(), Error> {
    if v.is_undefined() {
        Err(undefined_error(v))
    } else {
        Ok(())
    }
}

/// Finds an undefined value inside plain lists and maps (not inside lazy
/// variable objects, which would mean resolving every variable).
pub(crate) fn find_undefined(v: &MjValue) -> Option<MjValue> {
    match v.kind() {
        ValueKind::Undefined => Some(v.clone()),
        ValueKind::Seq if is_plain(v) => v.try_iter().ok()?.find_map(|i| find_undefined(&i)),
        ValueKind::Map if is_plain(v) => {
            let iter = v.try_iter().ok()?;
            iter.filter_map(|k| v.get_item(&k).ok())
                .find_map(|i| find_undefined(&i))
        }
        _ => None,
    }
}

fn is_plain(v: &MjValue) -> bool {
    !super::context::is_lazy(v)
}

/// Ansible's reading of a boolean word (`module_utils.parsing.convert_bool`),
/// used for conditionals and `truthy(convert_bool=true)`.
pub(crate) fn bool_word(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
        "n" | "no" | "off" | "0" | "false" | "f" | "" | "none" | "null" => Some(false),
        _ => None,
    }
}

/// Ansible's `bool` filter: only 'yes', 'on', '1', 'true' (any case) and the
/// number 1 are true; everything else, including other strings, is false.
pub(crate) fn ansible_bool(v: &MjValue) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::String => matches!(
            v.as_str().unwrap_or_default().to_lowercase().as_str(),
            "yes" | "on" | "1" | "true"
        ),
        ValueKind::Number => f64::try_from(v.clone()).is_ok_and(|f| f == 1.0),
        _ => false,
    }
}

/// An `InvalidOperation` error naming the filter or test that raised it.
pub(crate) fn op_err(what: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{what}: {msg}"))
}

/// An optional argument given either by position or by keyword (Ansible's
/// filters are Python functions, so `b64encode(encoding='utf-16-le')` is as
/// valid as `b64encode('utf-16-le')`).
pub(crate) fn arg<'a, T>(
    positional: Option<T>,
    kwargs: &'a Kwargs,
    name: &'a str,
) -> Result<Option<T>, Error>
where
    T: minijinja::value::ArgType<'a, Output = T>,
{
    match positional {
        Some(v) => Ok(Some(v)),
        None => kwargs.get::<Option<T>>(name),
    }
}

/// A string argument, or an error naming the filter.
pub(crate) fn as_text(what: &str, v: &MjValue) -> Result<String, Error> {
    need(v)?;
    match v.kind() {
        ValueKind::String => Ok(v.as_str().unwrap_or_default().to_string()),
        ValueKind::None | ValueKind::Number | ValueKind::Bool => Ok(v.to_string()),
        _ => Err(op_err(what, format!("expected a string, got {}", v.kind()))),
    }
}

/// Whether `v` is the undefined value of an inline `if` without `else`
/// (minijinja's "silent" undefined), which prints as nothing where any other
/// undefined value is an error. minijinja does not expose the difference, but
/// only the silent kind survives a truth test in strict mode.
pub(crate) fn is_silent_undefined(v: &MjValue) -> bool {
    use std::cell::RefCell;
    use std::sync::LazyLock;

    use minijinja::{Environment, UndefinedBehavior};

    thread_local! {
        static PROBED: RefCell<MjValue> = const { RefCell::new(MjValue::UNDEFINED) };
    }
    static STRICT: LazyLock<Environment<'static>> = LazyLock::new(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_function("probed", || PROBED.with(|p| p.borrow().clone()));
        env
    });
    if !v.is_undefined() {
        return false;
    }
    PROBED.with(|p| *p.borrow_mut() = v.clone());
    let silent = STRICT
        .compile_expression("not probed()")
        .and_then(|expr| expr.eval(()))
        .is_ok();
    PROBED.with(|p| *p.borrow_mut() = MjValue::UNDEFINED);
    silent
}
