//! `--every`: the interval of a cron entry, and the five schedule fields
//! that keep it.
//!
//! Only intervals cron can keep evenly are accepted: minutes that divide an
//! hour, hours that divide a day, or a day. (`*/7` in the minute field fires
//! at :56 and again at :00, so 7m would not be every 7 minutes.)

use std::fmt;

use crate::error::Error;

const ACCEPTED: &str = "use minutes that divide an hour (1m 2m 3m 4m 5m 6m 10m 12m 15m 20m 30m 60m), \
     hours that divide a day (1h 2h 3h 4h 6h 8h 12h 24h), or 1d";

const HOUR: u32 = 60;
const DAY: u32 = 24 * HOUR;

/// An interval cron can keep, in minutes: a divisor of an hour, a multiple
/// of an hour that divides a day, or a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Every {
    minutes: u32,
}

impl Every {
    /// Reads `Nm`, `Nh` or `1d`.
    pub fn parse(raw: &str) -> Result<Every, Error> {
        let not_an_interval =
            || Error::plain(format!("--every '{raw}': not an interval; {ACCEPTED}"));
        let unit = raw.chars().last().ok_or_else(not_an_interval)?;
        let digits = &raw[..raw.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_an_interval());
        }
        let n: u32 = digits.parse().map_err(|_| not_an_interval())?;
        if n == 0 {
            return Err(not_an_interval());
        }
        let (minutes, fits, unit_name) = match unit {
            'm' => (n, HOUR.is_multiple_of(n), "minutes"),
            'h' => (
                n.saturating_mul(HOUR),
                n <= 24 && 24_u32.is_multiple_of(n),
                "hours",
            ),
            'd' => (n.saturating_mul(DAY), n == 1, "days"),
            _ => return Err(not_an_interval()),
        };
        if !fits || minutes > DAY {
            return Err(Error::plain(format!(
                "--every '{raw}': cron cannot run a job every {n} {unit_name} evenly; {ACCEPTED}"
            )));
        }
        Ok(Every { minutes })
    }

    /// The five schedule fields (minute, hour, day of month, month, day of
    /// week). `offset` (0-59) moves the minute the entry fires at, so that
    /// several entries on one machine do not all start at :00; an interval
    /// under an hour starts its steps there (`17-59/30`: :17 and :47).
    pub fn schedule(self, offset: u32) -> String {
        let offset = offset % HOUR;
        match self.minutes {
            1 => "* * * * *".to_string(),
            m if m < HOUR => match offset % m {
                0 => format!("*/{m} * * * *"),
                start => format!("{start}-59/{m} * * * *"),
            },
            HOUR => format!("{offset} * * * *"),
            DAY => format!("{offset} 0 * * *"),
            m => format!("{offset} */{} * * *", m / HOUR),
        }
    }
}

impl Every {
    /// In words: "30 minutes", "hour", "6 hours", "day".
    pub fn describe(self) -> String {
        match self.minutes {
            1 => "minute".to_string(),
            HOUR => "hour".to_string(),
            DAY => "day".to_string(),
            m if m.is_multiple_of(HOUR) => format!("{} hours", m / HOUR),
            m => format!("{m} minutes"),
        }
    }
}

impl fmt::Display for Every {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minutes {
            DAY => f.write_str("1d"),
            m if m.is_multiple_of(HOUR) => write!(f, "{}h", m / HOUR),
            m => write!(f, "{m}m"),
        }
    }
}

/// A minute (0-59) that depends on `name` only, the same on every machine and
/// every release (FNV-1a, not std's hasher, whose output may change).
pub fn minute_of(name: &str) -> u32 {
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % HOUR
}

#[cfg(test)]
mod tests {
    use super::{Every, minute_of};

    fn schedule(raw: &str, offset: u32) -> String {
        Every::parse(raw).expect(raw).schedule(offset)
    }

    #[test]
    fn minutes_that_divide_an_hour_step_from_the_offset() {
        assert_eq!(schedule("30m", 17), "17-59/30 * * * *");
        assert_eq!(schedule("15m", 17), "2-59/15 * * * *");
        assert_eq!(schedule("30m", 0), "*/30 * * * *");
        assert_eq!(schedule("20m", 40), "*/20 * * * *");
        assert_eq!(schedule("1m", 17), "* * * * *");
    }

    #[test]
    fn hours_and_days_fire_at_the_offset_minute() {
        assert_eq!(schedule("60m", 17), "17 * * * *");
        assert_eq!(schedule("1h", 17), "17 * * * *");
        assert_eq!(schedule("6h", 5), "5 */6 * * *");
        assert_eq!(schedule("12h", 0), "0 */12 * * *");
        assert_eq!(schedule("24h", 9), "9 0 * * *");
        assert_eq!(schedule("1d", 0), "0 0 * * *");
    }

    #[test]
    fn every_accepted_interval_prints_back_canonically() {
        for (raw, shown, words) in [
            ("1m", "1m", "minute"),
            ("5m", "5m", "5 minutes"),
            ("60m", "1h", "hour"),
            ("2h", "2h", "2 hours"),
            ("24h", "1d", "day"),
        ] {
            let every = Every::parse(raw).expect(raw);
            assert_eq!(
                (every.to_string().as_str(), every.describe().as_str()),
                (shown, words)
            );
        }
        let accepted = (1..=60)
            .filter(|n| 60 % n == 0)
            .map(|n| format!("{n}m"))
            .chain((1..=24).filter(|n| 24 % n == 0).map(|n| format!("{n}h")))
            .chain(["1d".to_string()]);
        for raw in accepted {
            assert!(Every::parse(&raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn uneven_intervals_are_refused_saying_why_and_what_works() {
        for (raw, why) in [
            ("7m", "every 7 minutes evenly"),
            ("90m", "every 90 minutes evenly"),
            ("5h", "every 5 hours evenly"),
            ("48h", "every 48 hours evenly"),
            ("2d", "every 2 days evenly"),
        ] {
            let msg = Every::parse(raw).expect_err(raw).to_string();
            assert!(
                msg.starts_with(&format!("--every '{raw}': cron cannot run a job {why}")),
                "{msg}"
            );
            assert!(msg.ends_with("or 1d"), "{msg}");
        }
    }

    #[test]
    fn things_that_are_not_intervals_are_refused() {
        for raw in [
            "",
            "30",
            "m",
            "0m",
            "-5m",
            "+5m",
            "5 m",
            "1w",
            "5s",
            "half an hour",
            "5µ",
            "99999999999m",
        ] {
            let msg = Every::parse(raw).expect_err(raw).to_string();
            assert!(
                msg.starts_with(&format!("--every '{raw}': not an interval; use minutes")),
                "{msg}"
            );
        }
    }

    #[test]
    fn the_offset_minute_is_stable_and_spreads() {
        assert_eq!(minute_of("site"), minute_of("site"));
        let minutes: std::collections::BTreeSet<u32> = ["site", "web", "db", "app", "lb", "backup"]
            .iter()
            .map(|n| minute_of(n))
            .collect();
        assert!(minutes.len() > 3, "{minutes:?}");
        assert!(minutes.iter().all(|m| *m < 60));
    }
}
