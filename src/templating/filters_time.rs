//! Ansible's date filters and the `now()` function: `to_datetime`,
//! `strftime`. Dates are the text of a Python `datetime` (datetime.rs),
//! since minijinja values cannot carry one.

use minijinja::value::{Kwargs, Value as MjValue};
use minijinja::{Environment, Error};

use super::convert::{arg, as_text, op_err};
use super::datetime::DateTime;

/// `to_datetime`'s default format.
const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("to_datetime", to_datetime);
    env.add_filter("strftime", strftime);
    env.add_function("now", now);
}

/// `to_datetime(format='%Y-%m-%d %H:%M:%S')`.
fn to_datetime(value: &MjValue, format: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let text = as_text("to_datetime", value)?;
    let format = arg(format, &kwargs, "format")?.unwrap_or_else(|| DATETIME_FORMAT.into());
    kwargs.assert_all_used()?;
    DateTime::parse(&text, &format)
        .map(|dt| dt.to_string())
        .map_err(|e| op_err("to_datetime", e))
}

/// `'%Y-%m-%d' | strftime(second=None, utc=False)`: the clock, or a Unix
/// time, formatted.
fn strftime(
    format: &MjValue,
    second: Option<f64>,
    utc: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let format = as_text("strftime", format)?;
    let second = arg(second, &kwargs, "second")?;
    // tend's clock is read in UTC either way (datetime.rs).
    let _utc = arg(utc, &kwargs, "utc")?;
    kwargs.assert_all_used()?;
    let dt = match second {
        Some(s) => DateTime::from_unix(s.floor() as i64, 0),
        None => DateTime::now(),
    };
    Ok(dt.format(&format))
}

/// `now(utc=False, fmt=None)`: the controller's clock, formatted with `fmt`
/// when given.
fn now(utc: Option<bool>, fmt: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    // tend's clock is read in UTC either way (datetime.rs).
    let _utc = arg(utc, &kwargs, "utc")?;
    let fmt = arg(fmt, &kwargs, "fmt")?;
    kwargs.assert_all_used()?;
    let dt = DateTime::now();
    Ok(match fmt {
        Some(fmt) => dt.format(&fmt),
        None => dt.to_string(),
    })
}
