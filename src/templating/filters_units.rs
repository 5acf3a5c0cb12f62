//! Ansible's size filters, ported from its `formatters.py`:
//! `human_readable` (1048576 → "1.00 MB") and `human_to_bytes`
//! ("1K" → 1024), both with binary (1024-based) units.

use minijinja::value::{Kwargs, Value as MjValue};
use minijinja::{Environment, Error};

use super::convert::{arg, need, op_err};

/// Unit letters and their sizes, largest first.
const SIZE_RANGES: [(char, f64); 9] = [
    ('Y', (1u128 << 80) as f64),
    ('Z', (1u128 << 70) as f64),
    ('E', (1u64 << 60) as f64),
    ('P', (1u64 << 50) as f64),
    ('T', (1u64 << 40) as f64),
    ('G', (1u64 << 30) as f64),
    ('M', (1u64 << 20) as f64),
    ('K', (1u64 << 10) as f64),
    ('B', 1.0),
];

/// The spelled-out byte and bit unit names accepted besides `KB`/`Kb`...
const UNIT_NAMES: [(char, &str, &str); 9] = [
    ('B', "byte", "bit"),
    ('K', "kilobyte", "kilobit"),
    ('M', "megabyte", "megabit"),
    ('G', "gigabyte", "gigabit"),
    ('T', "terabyte", "terabit"),
    ('P', "petabyte", "petabit"),
    ('E', "exabyte", "exabit"),
    ('Z', "zetabyte", "zetabit"),
    ('Y', "yottabyte", "yottabit"),
];

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("human_readable", human_readable);
    env.add_filter("human_to_bytes", human_to_bytes);
}

/// `human_readable(isbits=False, unit=None)`.
fn human_readable(
    size: f64,
    isbits: Option<bool>,
    unit: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let isbits = arg(isbits, &kwargs, "isbits")?.unwrap_or(false);
    let unit = arg(unit, &kwargs, "unit")?;
    kwargs.assert_all_used()?;
    Ok(bytes_to_human(size, isbits, unit.as_deref()))
}

pub(crate) fn bytes_to_human(size: f64, isbits: bool, unit: Option<&str>) -> String {
    let base = if isbits { "bits" } else { "Bytes" };
    let wanted = unit
        .and_then(|u| u.chars().next())
        .map(|c| c.to_ascii_uppercase());
    // Without a fitting range Python's loop ends on its last one, bytes.
    let (suffix, limit) = SIZE_RANGES
        .iter()
        .find(|(suffix, limit)| match wanted {
            None => size >= *limit,
            Some(w) => w == *suffix,
        })
        .copied()
        .unwrap_or(('B', 1.0));
    let suffix = if limit == 1.0 {
        base.to_string()
    } else {
        format!("{suffix}{}", &base[..1])
    };
    format!("{:.2} {suffix}", size / limit)
}

/// `human_to_bytes(default_unit=None, isbits=False)`.
fn human_to_bytes(
    value: &MjValue,
    default_unit: Option<String>,
    isbits: Option<bool>,
    kwargs: Kwargs,
) -> Result<i64, Error> {
    need(value)?;
    let default_unit = arg(default_unit, &kwargs, "default_unit")?;
    let isbits = arg(isbits, &kwargs, "isbits")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let text = match value.as_str() {
        Some(s) => s.to_string(),
        None => value.to_string(),
    };
    parse_size(&text, default_unit.as_deref(), isbits).map_err(|e| op_err("human_to_bytes", e))
}

pub(crate) fn parse_size(
    text: &str,
    default_unit: Option<&str>,
    isbits: bool,
) -> Result<i64, String> {
    let cant = || format!("can't interpret following string: {text}");
    let trimmed = text.trim_end();
    let number_len = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_len);
    let num: f64 = number.parse().map_err(|_| cant())?;
    let unit = unit.trim_start();
    if !unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(cant());
    }
    let unit = if unit.is_empty() {
        default_unit
    } else {
        Some(unit)
    };
    let Some(unit) = unit else {
        return Ok(num.round_ties_even() as i64);
    };
    let range_key = unit
        .chars()
        .next()
        .map(|c| c.to_ascii_uppercase())
        .ok_or_else(cant)?;
    let limit = SIZE_RANGES
        .iter()
        .find(|(k, _)| *k == range_key)
        .map(|(_, l)| *l)
        .ok_or_else(|| {
            format!("failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B")
        })?;
    if unit.len() > 1 && !is_valid_long_unit(unit, range_key, isbits) {
        let class = if isbits { 'b' } else { 'B' };
        return Err(format!(
            "failed to convert {text}. Value is not a valid string (expect {range_key}{class} or {range_key})"
        ));
    }
    Ok((num * limit).round_ties_even() as i64)
}

/// `KB` (or `Kb` for bits) or the unit's name in any case.
fn is_valid_long_unit(unit: &str, range_key: char, isbits: bool) -> bool {
    let Some((_, byte_name, bit_name)) = UNIT_NAMES.iter().find(|(k, _, _)| *k == range_key) else {
        return false;
    };
    let (name, short) = if isbits {
        (*bit_name, format!("{range_key}b"))
    } else {
        (*byte_name, format!("{range_key}B"))
    };
    unit.eq_ignore_ascii_case(name) || unit == short
}
