//! Business dates: the tenant's calendar day at the call's business time, strict
//! `YYYY-MM-DD` parsing and the calendar arithmetic the tracker needs.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

/// A strict ISO date, `YYYY-MM-DD`.
pub fn parse(s: &str) -> Result<Date, String> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return Err(format!("{s:?} is not a date of the form YYYY-MM-DD"));
    }
    s.parse::<Date>()
        .map_err(|_| format!("{s:?} is not a valid calendar date"))
}

/// The calendar day in `time_zone` (an IANA name) at `seconds` since the Unix epoch.
/// An unknown zone falls back to UTC (the host only accepts known zones).
pub fn business_date(seconds: i64, time_zone: &str) -> Date {
    let tz = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    let ts = Timestamp::new(seconds, 0).unwrap_or(Timestamp::UNIX_EPOCH);
    ts.to_zoned(tz).date()
}

/// `d` plus `months` calendar months; the day is clamped to the end of a shorter month
/// (2024-01-31 plus one month is 2024-02-29). `None` past year 9999.
pub fn add_months(d: Date, months: u32) -> Option<Date> {
    d.checked_add(Span::new().try_months(i64::from(months)).ok()?)
        .ok()
}

/// `d` plus `days` (negative to go back). `None` outside years -9999..9999.
pub fn add_days(d: Date, days: i64) -> Option<Date> {
    d.checked_add(Span::new().try_days(days).ok()?).ok()
}

/// Days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    from.until(to).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

/// Serde for input dates: strict `YYYY-MM-DD`, with a message naming the value.
/// Use with `#[serde(deserialize_with = "dates::strict")]`.
pub fn strict<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

/// [`strict`] for an optional date (`null` or absent is `None`; pair with `default`).
pub fn strict_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    match <Option<String> as serde::Deserialize>::deserialize(d)? {
        Some(s) => parse(&s).map(Some).map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse(s).unwrap()
    }

    #[test]
    fn parses_strictly() {
        assert_eq!(d("2024-02-29").to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "20240101",
            "2024-1-01",
            "",
            "2024-01-01x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strict_serde() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(deserialize_with = "strict")]
            a: Date,
            #[serde(default, deserialize_with = "strict_opt")]
            b: Option<Date>,
        }
        let t: T = serde_json::from_str(r#"{"a": "2024-02-29", "b": null}"#).unwrap();
        assert_eq!((t.a, t.b), (d("2024-02-29"), None));
        let t: T = serde_json::from_str(r#"{"a": "2024-02-29"}"#).unwrap();
        assert_eq!(t.b, None);
        let e = serde_json::from_str::<T>(r#"{"a": "2026-02-30"}"#)
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with("\"2026-02-30\" is not a valid calendar date"),
            "{e}"
        );
    }

    #[test]
    fn arithmetic() {
        assert_eq!(add_months(d("2024-01-31"), 1), Some(d("2024-02-29")));
        assert_eq!(add_months(d("2024-03-15"), 24), Some(d("2026-03-15")));
        assert_eq!(add_days(d("2024-12-25"), 10), Some(d("2025-01-04")));
        assert_eq!(add_days(d("2024-03-01"), -1), Some(d("2024-02-29")));
        assert_eq!(days_between(d("2024-01-01"), d("2025-01-01")), 366);
        assert_eq!(days_between(d("2024-01-10"), d("2024-01-01")), -9);
    }

    #[test]
    fn business_date_follows_the_time_zone() {
        // 2026-03-01T23:30:00Z is already 2 March in Berlin, still 1 March in New York.
        let t = 1_772_407_800;
        assert_eq!(business_date(t, "UTC"), d("2026-03-01"));
        assert_eq!(business_date(t, "Europe/Berlin"), d("2026-03-02"));
        assert_eq!(business_date(t, "America/New_York"), d("2026-03-01"));
        assert_eq!(business_date(t, "Nowhere/Special"), d("2026-03-01"));
    }
}
