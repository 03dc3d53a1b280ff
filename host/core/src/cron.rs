//! Five-field cron expressions evaluated in a tenant's IANA time zone.
//!
//! `minute hour day-of-month month day-of-week`, each a `*`, a number or name, a range
//! `a-b`, a step `*/n` or `a-b/n`, or a comma list of those; `@hourly`, `@daily`,
//! `@weekly`, `@monthly` and `@yearly` are shorthands. When both day fields are
//! restricted a day matching either runs (classic cron).
//!
//! Daylight saving time: times are wall-clock times in the zone. A time skipped by a
//! spring-forward gap runs at the same offset after the gap (02:30 becomes 03:30); a
//! time repeated by a fall-back fold runs once, at its first occurrence.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// How far ahead the next occurrence is searched; beyond this the expression is
/// taken to never fire (such as `0 0 30 2 *`).
const SEARCH_DAYS: i32 = 366 * 5;

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(text: &str, min: u32, max: u32, names: &[&str], name_base: u32) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(u32::try_from(i).unwrap_or(0) + name_base);
    }
    let n: u32 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number or name"))?;
    if n < min || n > max {
        return Err(format!("{n} is outside {min}-{max}"));
    }
    Ok(n)
}

/// Bits of one field; whether it was restricted (not `*`).
fn field(
    text: &str,
    what: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut restricted = false;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{what}: step '{s}' must be a positive number"))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            if step == 1 && text == "*" {
                // plain `*`: unrestricted
            } else {
                restricted = true;
            }
            (min, max)
        } else {
            restricted = true;
            let v =
                |t: &str| value(t, min, max, names, name_base).map_err(|e| format!("{what}: {e}"));
            match range.split_once('-') {
                Some((a, b)) => (v(a)?, v(b)?),
                None if step > 1 => (v(range)?, max),
                None => {
                    let n = v(range)?;
                    (n, n)
                }
            }
        };
        if lo > hi {
            return Err(format!("{what}: range {lo}-{hi} is backwards"));
        }
        let mut n = lo;
        while n <= hi {
            bits |= 1 << n;
            n += step;
        }
    }
    Ok((bits, restricted))
}

impl Cron {
    /// Parse `expr`; the error says what is wrong.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let expanded = match expr.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields.as_slice() else {
            return Err(format!(
                "cron '{expr}' must have 5 fields (minute hour day-of-month month day-of-week)"
            ));
        };
        let (minutes, _) = field(minute, "minute", 0, 59, &[], 0)?;
        let (hours, _) = field(hour, "hour", 0, 23, &[], 0)?;
        let (days, days_restricted) = field(day, "day-of-month", 1, 31, &[], 0)?;
        let (months, _) = field(month, "month", 1, 12, &MONTHS, 1)?;
        let (mut weekdays, weekdays_restricted) =
            field(weekday, "day-of-week", 0, 7, &WEEKDAYS, 0)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1; // 7 is Sunday too
        }
        let cron = Cron {
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_restricted,
            weekdays_restricted,
        };
        if cron
            .next_after(Timestamp::UNIX_EPOCH, &TimeZone::UTC)
            .is_none()
            && cron
                .next_after(
                    Timestamp::from_second(4_102_444_800).unwrap_or(Timestamp::UNIX_EPOCH),
                    &TimeZone::UTC,
                )
                .is_none()
        {
            return Err(format!("cron '{expr}' never fires (no such date)"));
        }
        Ok(cron)
    }

    fn day_matches(&self, d: Date) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    /// The first occurrence strictly after `after`, in zone `tz`; none if there is
    /// none within five years.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        // Start a day early: a fold can map a previous civil date past `after`.
        let mut day = after.to_zoned(tz.clone()).date().yesterday().ok()?;
        for _ in 0..SEARCH_DAYS {
            if self.day_matches(day) {
                let mut best: Option<Timestamp> = None;
                for h in (0..24).filter(|h| self.hours & (1 << h) != 0) {
                    for m in (0..60).filter(|m| self.minutes & (1 << m) != 0) {
                        let civil = day.at(h, m, 0, 0);
                        let Ok(z) = tz.to_ambiguous_zoned(civil).compatible() else {
                            continue;
                        };
                        let t = z.timestamp();
                        if t > after && best.is_none_or(|b| t < b) {
                            best = Some(t);
                        }
                    }
                }
                if best.is_some() {
                    return best;
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_refuses() {
        assert!(Cron::parse("*/15 9-17 * * mon-fri").is_ok());
        assert!(Cron::parse("@daily").is_ok());
        for (bad, why) in [
            ("* * * *", "5 fields"),
            ("60 * * * *", "minute: 60 is outside 0-59"),
            ("* * * foo *", "month: 'foo'"),
            ("*/0 * * * *", "step"),
            ("5-1 * * * *", "backwards"),
            ("0 0 30 2 *", "never fires"),
        ] {
            let err = Cron::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn next_occurrence_in_a_zone() {
        #[rustfmt::skip]
        let cases = [
            // (expression, after, zone, expected next run)
            ("0 2 * * *", "2026-01-10T12:00:00Z", "Europe/Berlin", "2026-01-11T01:00:00Z"),
            ("0 9 * * mon", "2026-01-10T12:00:00Z", "UTC", "2026-01-12T09:00:00Z"),
            // day-of-month or day-of-week when both are restricted
            ("0 0 1 * fri", "2026-01-02T12:00:00Z", "UTC", "2026-01-09T00:00:00Z"),
            // Daylight saving gaps and folds.
            // Berlin springs forward 2026-03-29 02:00 -> 03:00: 02:30 runs at 03:30 CEST.
            ("30 2 * * *", "2026-03-28T12:00:00Z", "Europe/Berlin", "2026-03-29T01:30:00Z"),
            // Falls back 2026-10-25 03:00 -> 02:00: 02:30 runs once, the first time.
            ("30 2 * * *", "2026-10-24T12:00:00Z", "Europe/Berlin", "2026-10-25T00:30:00Z"),
            ("30 2 * * *", "2026-10-25T00:30:00Z", "Europe/Berlin", "2026-10-26T01:30:00Z"),
        ];
        for (expr, after, zone, expected) in cases {
            let tz = TimeZone::get(zone).unwrap();
            let next = Cron::parse(expr).unwrap().next_after(ts(after), &tz);
            assert_eq!(
                next.unwrap().to_string(),
                expected,
                "{expr} after {after} in {zone}"
            );
        }
    }
}
