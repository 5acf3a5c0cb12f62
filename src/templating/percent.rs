//! Python's `%` string formatting (`'%s:%d' % ('port', 80)`), which Jinja2
//! inherits from Python and minijinja lacks. rewrite.rs turns
//! `'fmt' % operand` into `('fmt' | __tend_percent(operand))`, and this
//! filter formats: `%[(name)][flags][width][.precision]type` with the types
//! `s r a d i u f F e E g G x X o c %`.

use minijinja::Environment;
use minijinja::value::{Value as MjValue, ValueKind};

use super::convert::{need, op_err};
use super::filters_jinja::py_str;

/// The filter that `'fmt' % operand` is rewritten to.
pub(crate) const PERCENT_FILTER: &str = "__tend_percent";

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter(PERCENT_FILTER, |fmt: &MjValue, operand: &MjValue| {
        need(operand)?;
        let fmt = fmt
            .as_str()
            .ok_or_else(|| op_err("%", "the format must be a string"))?;
        percent_format(fmt, operand).map_err(|e| op_err("%", e))
    });
}

/// One `%` conversion of a format string.
#[derive(Debug, Default, PartialEq)]
struct Spec {
    key: Option<String>,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alternate: bool,
    width: usize,
    precision: Option<usize>,
    kind: char,
}

/// A piece of a format string: literal text or a conversion.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Conversion(Spec),
}

/// `fmt % operand`, as Python computes it. A sequence is the arguments
/// when the format has that many conversions (a tuple, in Python; Jinja
/// has no tuples of its own), a mapping feeds `%(name)s`, anything else is
/// the one argument.
pub(crate) fn percent_format(fmt: &str, operand: &MjValue) -> Result<String, String> {
    let pieces = parse(fmt)?;
    let wanted = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Conversion(s) if s.kind != '%'))
        .count();
    let by_name = pieces
        .iter()
        .any(|p| matches!(p, Piece::Conversion(Spec { key: Some(_), .. })));
    let args: Vec<MjValue> = match operand.kind() {
        ValueKind::Seq if !by_name && operand.len() == Some(wanted) && wanted != 1 => {
            operand.try_iter().map_err(|e| e.to_string())?.collect()
        }
        _ => vec![operand.clone()],
    };
    let mut args = args.into_iter();
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(&text),
            Piece::Conversion(spec) if spec.kind == '%' => out.push('%'),
            Piece::Conversion(spec) => {
                let value = match &spec.key {
                    Some(key) => operand
                        .get_attr(key)
                        .ok()
                        .filter(|v| !v.is_undefined())
                        .ok_or_else(|| format!("KeyError: '{key}'"))?,
                    None => args
                        .next()
                        .ok_or("not enough arguments for format string")?,
                };
                out.push_str(&convert(&spec, &value)?);
            }
        }
    }
    if !by_name && args.next().is_some() {
        return Err("not all arguments converted during string formatting".into());
    }
    Ok(out)
}

fn parse(fmt: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        let mut spec = Spec::default();
        if chars.peek() == Some(&'(') {
            chars.next();
            let key: String = chars.by_ref().take_while(|&c| c != ')').collect();
            spec.key = Some(key);
        }
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alternate = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = digits(&mut chars).unwrap_or(0);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(digits(&mut chars).unwrap_or(0));
        }
        // Python accepts and ignores a length modifier.
        while chars.next_if(|c| matches!(c, 'h' | 'l' | 'L')).is_some() {}
        spec.kind = match chars.next() {
            Some(kind) if "sradiufFeEgGxXoc%".contains(kind) => kind,
            Some(other) => return Err(format!("unsupported format character '{other}'")),
            None => return Err("incomplete format".into()),
        };
        pieces.push(Piece::Conversion(spec));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0) * 10 + d as usize);
        chars.next();
    }
    n
}

/// One argument converted and padded.
fn convert(spec: &Spec, value: &MjValue) -> Result<String, String> {
    let text = match spec.kind {
        's' => truncate(&py_str(value).map_err(|e| e.to_string())?, spec.precision),
        'r' | 'a' => truncate(&py_repr(value), spec.precision),
        'c' => char_of(value)?.to_string(),
        'd' | 'i' | 'u' => signed(spec, integer(spec.kind, value)?.to_string()),
        'x' | 'X' | 'o' => radix(spec, integer(spec.kind, value)?),
        _ => signed(spec, float_text(spec, real(spec.kind, value)?)),
    };
    Ok(pad(spec, text))
}

fn truncate(text: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) => text.chars().take(p).collect(),
        None => text.to_string(),
    }
}

/// Python's `repr()` for the values templates hold.
fn py_repr(value: &MjValue) -> String {
    match value.as_str() {
        Some(s) if !s.contains('\'') => format!("'{s}'"),
        Some(s) => format!("\"{s}\""),
        None => py_str(value).unwrap_or_default(),
    }
}

fn char_of(value: &MjValue) -> Result<char, String> {
    if let Some(s) = value.as_str() {
        let mut chars = s.chars();
        return match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err("%c requires an int or a unicode character".into()),
        };
    }
    value
        .as_i64()
        .and_then(|n| u32::try_from(n).ok())
        .and_then(char::from_u32)
        .ok_or_else(|| "%c arg not in range(0x110000)".into())
}

fn integer(kind: char, value: &MjValue) -> Result<i64, String> {
    match value.kind() {
        ValueKind::Bool => Ok(i64::from(value.is_true())),
        ValueKind::Number => value
            .as_i64()
            .or_else(|| f64::try_from(value.clone()).ok().map(|f| f.trunc() as i64))
            .ok_or_else(|| format!("%{kind} format: the number is out of range")),
        other => Err(format!(
            "%{kind} format: a real number is required, not {other}"
        )),
    }
}

fn real(kind: char, value: &MjValue) -> Result<f64, String> {
    match value.kind() {
        ValueKind::Bool => Ok(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).map_err(|e| e.to_string()),
        other => Err(format!(
            "%{kind} format: a real number is required, not {other}"
        )),
    }
}

/// `%x`, `%X`, `%o`, with `0x`/`0o` under the `#` flag.
fn radix(spec: &Spec, n: i64) -> String {
    let magnitude = n.unsigned_abs();
    let digits = match spec.kind {
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        _ => format!("{magnitude:o}"),
    };
    let prefix = match (spec.alternate, spec.kind) {
        (false, _) => "",
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        (true, _) => "0o",
    };
    let sign = if n < 0 { "-" } else { "" };
    signed(spec, format!("{sign}{prefix}{digits}"))
}

/// `+` or a space before a non-negative number, as the flags ask.
fn signed(spec: &Spec, number: String) -> String {
    if number.starts_with('-') {
        number
    } else if spec.plus {
        format!("+{number}")
    } else if spec.space {
        format!(" {number}")
    } else {
        number
    }
}

fn float_text(spec: &Spec, x: f64) -> String {
    let precision = spec.precision.unwrap_or(6);
    if !x.is_finite() {
        let text = if x.is_nan() {
            "nan"
        } else if x > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        return if spec.kind.is_ascii_uppercase() {
            text.to_uppercase()
        } else {
            text.into()
        };
    }
    match spec.kind {
        'f' | 'F' => format!("{x:.precision$}"),
        'e' | 'E' => exponent(x, precision, spec.kind == 'E'),
        _ => general(x, precision, spec.alternate, spec.kind == 'G'),
    }
}

/// `%e`: Python writes at least two exponent digits, with a sign.
fn exponent(x: f64, precision: usize, upper: bool) -> String {
    let text = format!("{x:.precision$e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{sign}{digits:0>2}")
}

/// `%g`: fixed or exponent notation by the exponent, trailing zeros
/// removed unless `#`.
fn general(x: f64, precision: usize, alternate: bool, upper: bool) -> String {
    let p = precision.max(1);
    if x == 0.0 {
        return if alternate {
            format!("{:.*}", p - 1, 0.0)
        } else {
            "0".into()
        };
    }
    let exp = x.abs().log10().floor() as i64;
    let strip = |s: String| -> String {
        if alternate || !s.contains('.') {
            s
        } else {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    };
    if exp < -4 || exp >= p as i64 {
        let text = exponent(x, p - 1, upper);
        let e = if upper { 'E' } else { 'e' };
        let (mantissa, rest) = text.split_once(e).unwrap_or((&text, ""));
        format!("{}{e}{rest}", strip(mantissa.to_string()))
    } else {
        let decimals = (p as i64 - 1 - exp).max(0) as usize;
        strip(format!("{x:.decimals$}"))
    }
}

/// Pads to the width: left-justified with `-`, with zeros after the sign
/// for numbers with `0`, else with spaces on the left.
fn pad(spec: &Spec, text: String) -> String {
    let len = text.chars().count();
    if len >= spec.width {
        return text;
    }
    let fill = spec.width - len;
    if spec.left {
        return format!("{text}{}", " ".repeat(fill));
    }
    let numeric = !matches!(spec.kind, 's' | 'r' | 'a' | 'c');
    if spec.zero && numeric {
        let sign_len = text
            .find(|c: char| !matches!(c, '+' | '-' | ' '))
            .unwrap_or(0);
        let prefix_len = if text[sign_len..].starts_with("0x")
            || text[sign_len..].starts_with("0X")
            || text[sign_len..].starts_with("0o")
        {
            sign_len + 2
        } else {
            sign_len
        };
        return format!(
            "{}{}{}",
            &text[..prefix_len],
            "0".repeat(fill),
            &text[prefix_len..]
        );
    }
    format!("{}{text}", " ".repeat(fill))
}
