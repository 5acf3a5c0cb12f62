//! Jinja2 builtins that minijinja lacks or does differently, written to
//! Jinja2's (Python) behaviour: `center`, `truncate`, `wordcount`,
//! `filesizeformat`, `replace` with a count, and the `dict()` function,
//! which also takes pairs. (`urlencode` is in filters_url.rs.)

use minijinja::value::{Kwargs, Value as MjValue, ValueKind};
use minijinja::{Environment, Error};

use super::convert::{arg, need, op_err};

/// Jinja2's `truncate.leeway` policy: a text at most this much too long is
/// left whole.
const TRUNCATE_LEEWAY: usize = 5;

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("center", |v: &MjValue, width: Option<usize>| {
        Ok::<_, Error>(center(&py_str(v)?, width.unwrap_or(80)))
    });
    env.add_filter("truncate", truncate);
    env.add_filter("wordcount", |v: &MjValue| {
        Ok::<_, Error>(wordcount(&py_str(v)?))
    });
    env.add_filter("filesizeformat", |v: f64, binary: Option<bool>| {
        filesizeformat(v, binary.unwrap_or(false))
    });
    env.add_filter("replace", replace);
    env.add_function("dict", dict);
}

/// A value as Python's `str()` writes it, for filters that take any value.
pub(crate) fn py_str(v: &MjValue) -> Result<String, Error> {
    need(v)?;
    Ok(match v.kind() {
        ValueKind::Bool if v.is_true() => "True".into(),
        ValueKind::Bool => "False".into(),
        ValueKind::None => "None".into(),
        _ => v.to_string(),
    })
}

/// Python's `str.center`: the odd space goes left when the width is odd.
pub(crate) fn center(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if width <= len {
        return text.to_string();
    }
    let margin = width - len;
    let left = margin / 2 + (margin & width & 1);
    format!("{}{text}{}", " ".repeat(left), " ".repeat(margin - left))
}

/// `truncate(length=255, killwords=False, end='...', leeway=None)`.
fn truncate(
    value: &MjValue,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let text = py_str(value)?;
    let length = arg(length, &kwargs, "length")?.unwrap_or(255);
    let killwords = arg(killwords, &kwargs, "killwords")?.unwrap_or(false);
    let end = arg(end, &kwargs, "end")?.unwrap_or_else(|| "...".into());
    let leeway = kwargs
        .get::<Option<usize>>("leeway")?
        .unwrap_or(TRUNCATE_LEEWAY);
    kwargs.assert_all_used()?;
    truncated(&text, length, killwords, &end, leeway)
}

pub(crate) fn truncated(
    text: &str,
    length: usize,
    killwords: bool,
    end: &str,
    leeway: usize,
) -> Result<String, Error> {
    let end_len = end.chars().count();
    if length < end_len {
        return Err(op_err(
            "truncate",
            format!("expected length >= {end_len}, got {length}"),
        ));
    }
    if text.chars().count() <= length + leeway {
        return Ok(text.to_string());
    }
    let head: String = text.chars().take(length - end_len).collect();
    if killwords {
        return Ok(head + end);
    }
    let head = head.rsplit_once(' ').map_or(head.as_str(), |(h, _)| h);
    Ok(format!("{head}{end}"))
}

/// The number of words (`\w+` runs) in a text.
pub(crate) fn wordcount(text: &str) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for c in text.chars() {
        let word_char = c.is_alphanumeric() || c == '_';
        if word_char && !in_word {
            count += 1;
        }
        in_word = word_char;
    }
    count
}

/// `filesizeformat(binary=False)`: "1.0 MB", "13 Bytes", "1 Byte".
pub(crate) fn filesizeformat(bytes: f64, binary: bool) -> String {
    let (base, prefixes) = if binary {
        (
            1024.0,
            ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"],
        )
    } else {
        (1000.0, ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"])
    };
    if bytes == 1.0 {
        return "1 Byte".into();
    }
    if bytes < base {
        return format!("{} Bytes", bytes.trunc() as i64);
    }
    let mut unit = base;
    for prefix in prefixes {
        unit *= base;
        if bytes < unit {
            return format!("{:.1} {prefix}", base * bytes / unit);
        }
    }
    format!(
        "{:.1} {}",
        base * bytes / unit,
        prefixes[prefixes.len() - 1]
    )
}

/// `replace(old, new, count=None)`: the first `count` occurrences only,
/// when given.
fn replace(
    value: &MjValue,
    old: String,
    new: String,
    count: Option<i64>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let text = py_str(value)?;
    let count = arg(count, &kwargs, "count")?;
    kwargs.assert_all_used()?;
    Ok(match count {
        Some(n) if n >= 0 => text.replacen(&old, &new, n as usize),
        _ => text.replace(&old, &new),
    })
}

/// `dict(mapping_or_pairs=None, **kwargs)`, as Python's `dict()`.
fn dict(source: Option<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let mut entries: Vec<(MjValue, MjValue)> = Vec::new();
    if let Some(source) = source {
        need(&source)?;
        if source.kind() == ValueKind::Map {
            for key in source.try_iter()? {
                let value = source.get_item(&key)?;
                entries.push((key, value));
            }
        } else {
            for pair in source.try_iter()? {
                entries.push(pair_of(&pair)?);
            }
        }
    }
    for key in kwargs.args() {
        entries.push((MjValue::from(key), kwargs.get::<MjValue>(key)?));
    }
    // A later duplicate key wins but keeps the first one's place, as in
    // Python.
    Ok(MjValue::from_pairs(entries))
}

/// A two-item sequence as a key and a value.
fn pair_of(item: &MjValue) -> Result<(MjValue, MjValue), Error> {
    let items: Vec<MjValue> = item
        .try_iter()
        .map_err(|_| op_err("dict", format!("cannot convert {} to a pair", item.kind())))?
        .collect();
    match <[MjValue; 2]>::try_from(items) {
        Ok([k, v]) => Ok((k, v)),
        Err(items) => Err(op_err(
            "dict",
            format!(
                "dictionary update sequence element has length {}; 2 is required",
                items.len()
            ),
        )),
    }
}
