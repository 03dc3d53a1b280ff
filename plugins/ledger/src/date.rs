//! Calendar dates (`YYYY-MM-DD`), enough for ledger keys and ranges: parsing,
//! validation and the day before.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A proleptic Gregorian date in years 0001 to 9999; orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

fn leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// A valid date, or `None`.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let ok = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        ok.then_some(Date { year, month, day })
    }

    /// Strict ISO form `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date, String> {
        let b = s.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return Err(format!("{s:?} is not a date of the form YYYY-MM-DD"));
        }
        Self::parse_loose(s).ok_or_else(|| format!("{s:?} is not a valid date"))
    }

    /// Journal form: year, month and day separated by `-`, `/` or `.`; month and day
    /// may have one digit (`2024/1/5`).
    pub fn parse_loose(s: &str) -> Option<Date> {
        let sep = s.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
        let mut parts = s.split(sep);
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || y.len() != 4
            || !(1..=2).contains(&m.len())
            || !(1..=2).contains(&d.len())
            || ![y, m, d]
                .iter()
                .all(|p| p.bytes().all(|c| c.is_ascii_digit()))
        {
            return None;
        }
        Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// The day before, or `None` for 0001-01-01.
    pub fn pred(self) -> Option<Date> {
        if self.day > 1 {
            return Some(Date {
                day: self.day - 1,
                ..self
            });
        }
        if self.month > 1 {
            let month = self.month - 1;
            return Some(Date {
                month,
                day: days_in_month(self.year, month),
                ..self
            });
        }
        Date::new(self.year.checked_sub(1)?, 12, 31)
    }

    /// `YYYY`.
    pub fn year_key(self) -> String {
        format!("{:04}", self.year)
    }

    /// `YYYY-MM`.
    pub fn month_key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// The first day of the month.
    pub fn month_start(self) -> Date {
        Date { day: 1, ..self }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "24-01-01",
            "2024-1-1",
            "",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Date::parse_loose("2024/1/5"), Date::new(2024, 1, 5));
        assert_eq!(Date::parse_loose("2024.12.31"), Date::new(2024, 12, 31));
        assert_eq!(Date::parse_loose("2024/1-5"), None);
    }

    #[test]
    fn pred_crosses_months_and_years() {
        let d = |s| Date::parse(s).unwrap();
        assert_eq!(d("2024-03-01").pred(), Some(d("2024-02-29")));
        assert_eq!(d("2024-01-01").pred(), Some(d("2023-12-31")));
        assert_eq!(d("2024-05-10").pred(), Some(d("2024-05-09")));
        assert_eq!(d("0001-01-01").pred(), None);
        assert!(d("2024-01-31") < d("2024-02-01"));
    }
}
