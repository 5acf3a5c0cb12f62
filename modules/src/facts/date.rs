//! `date_time`: the host's clock and time zone, with the fields Ansible
//! gives (local date and time parts, the epoch, ISO 8601 in UTC). One
//! `date` call prints the local parts; UTC is computed here from the epoch.

use super::{Raw, bad};
use crate::{Map, TaskError, Value};

pub(super) fn date_time(raw: &Raw) -> Result<Option<Map>, TaskError> {
    let Some(line) = raw.get("date") else {
        return Ok(None);
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let [
        epoch,
        nanos,
        year,
        month,
        day,
        hour,
        minute,
        second,
        wday,
        week,
        offset,
        weekday,
        tz,
    ] = fields[..]
    else {
        return Err(bad(&format!("unexpected date line {line:?}")));
    };
    let secs: i64 = epoch
        .parse()
        .map_err(|_| bad(&format!("bad epoch {epoch:?}")))?;
    // `%N` is GNU date's; elsewhere it may print itself, and the
    // microseconds are then unknown.
    let micro = if nanos.len() == 9 && nanos.bytes().all(|b| b.is_ascii_digit()) {
        &nanos[..6]
    } else {
        "000000"
    };
    for (what, v, len) in [
        ("year", year, 4),
        ("month", month, 2),
        ("day", day, 2),
        ("hour", hour, 2),
        ("minute", minute, 2),
        ("second", second, 2),
    ] {
        if v.len() != len || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(&format!("bad {what} {v:?} in the date line")));
        }
    }
    let (y, mo, d, h, mi, s) = utc(secs);
    let iso = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    let local_basic = format!("{year}{month}{day}T{hour}{minute}{second}");
    let tz_dst = dst_name(raw).unwrap_or_else(|| tz.to_string());
    let mut m = Map::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.into(), Value::String(v));
    };
    put("date", format!("{year}-{month}-{day}"));
    put("day", day.into());
    put("epoch", epoch.into());
    put("epoch_int", secs.to_string());
    put("hour", hour.into());
    put("iso8601", format!("{iso}Z"));
    put("iso8601_basic", format!("{local_basic}{micro}"));
    put("iso8601_basic_short", local_basic);
    put("iso8601_micro", format!("{iso}.{micro}Z"));
    put("minute", minute.into());
    put("month", month.into());
    put("second", second.into());
    put("time", format!("{hour}:{minute}:{second}"));
    put("tz", tz.into());
    put("tz_dst", tz_dst);
    put("tz_offset", offset.into());
    put("weekday", weekday.into());
    put("weekday_number", wday.into());
    put("weeknumber", week.into());
    put("year", year.into());
    Ok(Some(m))
}

/// Python's `time.tzname[1]`: the zone's daylight-saving name, which is
/// the name of the larger of its January and July offsets.
fn dst_name(raw: &Raw) -> Option<String> {
    let read = |tag: &str| -> Option<(i32, String)> {
        let (off, name) = raw.get(tag)?.split_once(' ')?;
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits = off.trim_start_matches(['+', '-']);
        if digits.len() != 4 {
            return None;
        }
        let h: i32 = digits[..2].parse().ok()?;
        let m: i32 = digits[2..].parse().ok()?;
        Some((sign * (h * 60 + m), name.to_string()))
    };
    let (jan, jul) = (read("tz_jan")?, read("tz_jul")?);
    Some(if jul.0 > jan.0 { jul.1 } else { jan.1 })
}

/// UTC calendar date and time of a Unix time (Howard Hinnant's
/// days-to-civil algorithm).
pub fn utc(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}
