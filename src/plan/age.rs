//! How old a plan may be: `--max-age` durations (`90s`, `30m`, `2h`,
//! `1d`, `1h30m`) and the dates a plan carries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `tend apply`'s default `--max-age`: a plan made in the morning can be
/// reviewed and applied the same day; an older one should be made again.
pub const DEFAULT_MAX_AGE: &str = "24h";

/// How far in the future a plan's date may be (clocks of two machines
/// that made and apply it) before it is refused as wrong.
const CLOCK_SKEW: u64 = 300;

/// Parses `30m`, `2h`, `1d`, `90s` or a sum of them (`1h30m`). A unit is
/// required: a bare `30` could mean seconds or minutes.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let usage = || {
        format!("'{text}' is not a duration; use a number and a unit: 90s, 30m, 2h, 1d or 1h30m")
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(usage()),
        };
        let n: u64 = digits.parse().map_err(|_| usage())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(usage)?;
    }
    if !digits.is_empty() || text.trim().is_empty() {
        return Err(usage());
    }
    if total == 0 {
        return Err(format!(
            "'{text}' is no time at all; a plan could never be applied"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// `2h 5m`, `45s`, `3d 1h`: a duration for people, to the largest two units.
pub fn describe(d: Duration) -> String {
    let secs = d.as_secs();
    let parts = [
        (secs / 86_400, "d"),
        (secs % 86_400 / 3600, "h"),
        (secs % 3600 / 60, "m"),
        (secs % 60, "s"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if shown.is_empty() {
        "0s".into()
    } else {
        shown.join(" ")
    }
}

/// Seconds since the Unix epoch, by this machine's clock.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Refuses a plan made longer than `max` ago, or dated in the future.
pub fn check_age(created: u64, now: u64, max: Duration) -> Result<(), String> {
    if created > now + CLOCK_SKEW {
        return Err(format!(
            "the plan is dated {} ({} from now): check the clocks of the machines that made and apply it",
            rfc3339(created),
            describe(Duration::from_secs(created - now))
        ));
    }
    let age = Duration::from_secs(now.saturating_sub(created));
    if age > max {
        return Err(format!(
            "the plan is {} old (made {}), older than --max-age {}: make a new plan",
            describe(age),
            rfc3339(created),
            describe(max)
        ));
    }
    Ok(())
}

/// `2024-05-01T12:00:00Z`.
pub fn rfc3339(unix: u64) -> String {
    let (y, mo, d, h, mi, s) = tend_modules::facts::utc(unix as i64);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Result<u64, String> {
        parse_duration(text).map(|d| d.as_secs())
    }

    #[test]
    fn durations_take_units_and_sums_of_them() {
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("30m"), Ok(1800));
        assert_eq!(secs("2h"), Ok(7200));
        assert_eq!(secs("1d"), Ok(86_400));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert_eq!(secs(" 24h "), Ok(86_400));
        assert_eq!(secs(DEFAULT_MAX_AGE), Ok(86_400));
    }

    #[test]
    fn a_duration_without_a_unit_or_with_garbage_is_refused() {
        for bad in [
            "30",
            "",
            "h",
            "2x",
            "1.5h",
            "-1h",
            "m30",
            "99999999999999999999d",
        ] {
            let e = secs(bad).expect_err(bad);
            assert!(e.contains("is not a duration"), "{bad}: {e}");
        }
        assert!(secs("0m").unwrap_err().contains("no time at all"));
    }

    #[test]
    fn described_to_the_two_largest_units() {
        assert_eq!(describe(Duration::from_secs(45)), "45s");
        assert_eq!(describe(Duration::from_secs(7500)), "2h 5m");
        assert_eq!(describe(Duration::from_secs(90_061)), "1d 1h");
        assert_eq!(describe(Duration::from_secs(3600)), "1h");
        assert_eq!(describe(Duration::ZERO), "0s");
    }

    #[test]
    fn a_plan_older_than_the_limit_or_from_the_future_is_refused() {
        let hour = Duration::from_secs(3600);
        let now = 1_700_000_000;
        assert!(check_age(now - 3599, now, hour).is_ok());
        assert!(check_age(now + 60, now, hour).is_ok(), "small clock skew");
        let old = check_age(now - 7500, now, hour).unwrap_err();
        assert_eq!(
            old,
            "the plan is 2h 5m old (made 2023-11-14T20:08:20Z), older than --max-age 1h: make a new plan"
        );
        let future = check_age(now + 3600, now, hour).unwrap_err();
        assert!(future.contains("check the clocks"), "{future}");
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
