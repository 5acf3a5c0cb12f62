//! Dates as Ansible's templates show them: Python `datetime` values, which
//! print as `2024-01-02 03:04:05` (with `.ffffff` when there are
//! microseconds). Used by `to_datetime`, `now()` and the template module's
//! `template_run_date`/`template_mtime`. tend has no time zone database: the
//! controller's clock is read in UTC, which is local time on most CI hosts.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A calendar date and time without time zone, like a naive Python
/// `datetime`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) micro: u32,
}

impl DateTime {
    /// The UTC date and time of a Unix time.
    pub(crate) fn from_unix(secs: i64, micro: u32) -> DateTime {
        let (year, month, day, hour, minute, second) = tend_modules::facts::utc(secs);
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micro,
        }
    }

    /// The date and time of a file time or the clock.
    pub(crate) fn from_system(time: SystemTime) -> DateTime {
        match time.duration_since(UNIX_EPOCH) {
            Ok(d) => DateTime::from_unix(d.as_secs() as i64, d.subsec_micros()),
            Err(before) => {
                let d = before.duration();
                DateTime::from_unix(-(d.as_secs() as i64), 0)
            }
        }
    }

    /// The controller's clock.
    pub(crate) fn now() -> DateTime {
        DateTime::from_system(SystemTime::now())
    }

    /// Python's `datetime.strptime(text, format)` for the common directives
    /// (`%Y %y %m %d %H %M %S %f %b %B %%`); the whole text must match.
    pub(crate) fn parse(text: &str, format: &str) -> Result<DateTime, String> {
        let mismatch = || format!("time data '{text}' does not match format '{format}'");
        let mut dt = DateTime {
            year: 1900,
            month: 1,
            day: 1,
            ..DateTime::default()
        };
        let mut rest = text;
        let mut directives = format.chars();
        while let Some(c) = directives.next() {
            if c != '%' {
                rest = rest.strip_prefix(c).ok_or_else(mismatch)?;
                continue;
            }
            let directive = directives.next().ok_or_else(mismatch)?;
            rest = dt.take(directive, rest).ok_or_else(mismatch)?;
        }
        if !rest.is_empty() {
            return Err(format!("unconverted data remains: {rest}"));
        }
        dt.check().map_err(|e| format!("{e} in '{text}'"))?;
        Ok(dt)
    }

    /// Reads one `%` directive's field at the start of `text`; returns what
    /// follows it.
    fn take<'t>(&mut self, directive: char, text: &'t str) -> Option<&'t str> {
        match directive {
            'Y' => take_number(text, 4).map(|(n, r)| {
                self.year = n as i64;
                r
            }),
            'y' => take_number(text, 2).map(|(n, r)| {
                self.year = if n < 69 { 2000 + n } else { 1900 + n } as i64;
                r
            }),
            'm' => take_into(text, 2, &mut self.month),
            'd' => take_into(text, 2, &mut self.day),
            'H' => take_into(text, 2, &mut self.hour),
            'M' => take_into(text, 2, &mut self.minute),
            'S' => take_into(text, 2, &mut self.second),
            'f' => {
                let digits = text.bytes().take(6).take_while(u8::is_ascii_digit).count();
                let (n, r) = take_number(text, digits)?;
                self.micro = n * 10u32.pow((6 - digits) as u32);
                Some(r)
            }
            'b' | 'B' => {
                let (month, r) = take_month_name(text, directive == 'B')?;
                self.month = month;
                Some(r)
            }
            '%' => text.strip_prefix('%'),
            _ => None,
        }
    }

    fn check(&self) -> Result<(), String> {
        let days = days_in_month(self.year, self.month);
        if !(1..=12).contains(&self.month) || self.day < 1 || self.day > days {
            return Err("day is out of range for month".into());
        }
        if self.hour > 23 || self.minute > 59 || self.second > 61 {
            return Err("time is out of range".into());
        }
        Ok(())
    }

    /// Python's `strftime` for the directives `parse` knows, plus `%j`
    /// (day of the year) and `%s` (seconds since the epoch).
    pub(crate) fn format(&self, format: &str) -> String {
        let mut out = String::new();
        let mut directives = format.chars();
        while let Some(c) = directives.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match directives.next() {
                Some('Y') => out.push_str(&format!("{:04}", self.year)),
                Some('y') => out.push_str(&format!("{:02}", self.year.rem_euclid(100))),
                Some('m') => out.push_str(&format!("{:02}", self.month)),
                Some('d') => out.push_str(&format!("{:02}", self.day)),
                Some('H') => out.push_str(&format!("{:02}", self.hour)),
                Some('M') => out.push_str(&format!("{:02}", self.minute)),
                Some('S') => out.push_str(&format!("{:02}", self.second)),
                Some('f') => out.push_str(&format!("{:06}", self.micro)),
                Some('j') => out.push_str(&format!("{:03}", self.day_of_year())),
                Some('s') => out.push_str(&self.unix().to_string()),
                Some('b') => out.push_str(&MONTHS[self.month_index()][..3]),
                Some('B') => out.push_str(MONTHS[self.month_index()]),
                Some('%') => out.push('%'),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        out
    }

    fn month_index(&self) -> usize {
        (self.month.clamp(1, 12) - 1) as usize
    }

    fn day_of_year(&self) -> u32 {
        (1..self.month)
            .map(|m| days_in_month(self.year, m))
            .sum::<u32>()
            + self.day
    }

    /// Seconds since the epoch, reading this date and time as UTC.
    pub(crate) fn unix(&self) -> i64 {
        // Hinnant's days-from-civil.
        let y = self.year - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

/// Python's `str(datetime)`.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.micro != 0 {
            write!(f, ".{:06}", self.micro)?;
        }
        Ok(())
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Up to `max` digits (at least one), as `strptime` reads a field.
fn take_number(text: &str, max: usize) -> Option<(u32, &str)> {
    let len = text
        .bytes()
        .take(max)
        .take_while(u8::is_ascii_digit)
        .count();
    if len == 0 {
        return None;
    }
    let n = text[..len].parse().ok()?;
    Some((n, &text[len..]))
}

fn take_into<'t>(text: &'t str, max: usize, field: &mut u32) -> Option<&'t str> {
    let (n, rest) = take_number(text, max)?;
    *field = n;
    Some(rest)
}

/// A month's name (full or abbreviated, any case).
fn take_month_name(text: &str, full: bool) -> Option<(u32, &str)> {
    MONTHS.iter().zip(1..).find_map(|(name, number)| {
        let name = if full { name } else { &name[..3] };
        let head = text.get(..name.len())?;
        head.eq_ignore_ascii_case(name)
            .then(|| (number, &text[name.len()..]))
    })
}
