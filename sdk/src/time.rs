//! A small UTC [`Timestamp`] with an RFC 3339 formatter and parser.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// A point in time: seconds and nanoseconds since 1970-01-01T00:00:00Z (UTC).
///
/// Ordered chronologically. Serialises as an RFC 3339 string such as
/// `2024-05-01T12:30:00Z` or `2024-05-01T12:30:00.250Z`.
///
/// ```
/// use backoffice_sdk::Timestamp;
/// let t = Timestamp::new(1_714_566_600, 250_000_000).unwrap();
/// assert_eq!(t.to_rfc3339(), "2024-05-01T12:30:00.250Z");
/// assert_eq!("2024-05-01T14:30:00.25+02:00".parse::<Timestamp>().unwrap(), t);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    seconds: i64,
    nanos: u32,
}

const SECS_PER_DAY: i64 = 86_400;
/// 0000-01-01T00:00:00Z.
const MIN_SECONDS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z.
const MAX_SECONDS: i64 = 253_402_300_799;

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp {
        seconds: 0,
        nanos: 0,
    };

    /// A timestamp from seconds since the epoch and nanoseconds within the second.
    ///
    /// `nanos` must be below 1 000 000 000 and the time within years 0000 to 9999.
    pub fn new(seconds: i64, nanos: u32) -> Result<Self> {
        if nanos >= 1_000_000_000 {
            return Err(Error::invalid(format!("nanoseconds {nanos} out of range")));
        }
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return Err(Error::invalid(format!(
                "{seconds} s is outside years 0000 to 9999"
            )));
        }
        Ok(Self { seconds, nanos })
    }

    /// Whole seconds since the epoch.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }

    /// Nanoseconds within the second.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// This time plus `seconds` (which may be negative); `None` outside years 0000 to 9999.
    pub fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        Self::new(self.seconds.checked_add(seconds)?, self.nanos).ok()
    }

    /// RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SSZ`, with 3, 6 or 9 fraction digits when
    /// the nanoseconds are not zero.
    pub fn to_rfc3339(&self) -> String {
        self.to_string()
    }

    /// Parse RFC 3339 (`2024-05-01T12:30:00Z`, `2024-05-01t12:30:00.5+02:00`, ...).
    pub fn parse_rfc3339(s: &str) -> Result<Self> {
        parse(s).ok_or_else(|| Error::invalid(format!("{s:?} is not an RFC 3339 timestamp")))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.seconds.div_euclid(SECS_PER_DAY);
        let secs = self.seconds.rem_euclid(SECS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        let n = self.nanos;
        if n == 0 {
        } else if n.is_multiple_of(1_000_000) {
            write!(f, ".{:03}", n / 1_000_000)?;
        } else if n.is_multiple_of(1_000) {
            write!(f, ".{:06}", n / 1_000)?;
        } else {
            write!(f, ".{n:09}")?;
        }
        f.write_str("Z")
    }
}

impl FromStr for Timestamp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_rfc3339(s)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_rfc3339(&s).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn parse(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter().all(u8::is_ascii_digit).then_some(())?;
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (y, mo, d) = (i64::from(num(0..4)?), num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 59
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = num(start..i)? * 10u32.pow((9 - digits) as u32);
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && sep(i + 3, b":") => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(y, mo, d) * SECS_PER_DAY + i64::from(h * 3600 + mi * 60 + sec) - offset;
    Timestamp::new(secs, nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64, n: u32) -> Timestamp {
        Timestamp::new(s, n).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(Timestamp::UNIX_EPOCH.to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(ts(951_782_400, 0).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(
            ts(1_700_000_000, 123_000_000).to_string(),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            ts(1_700_000_000, 123_456_000).to_string(),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(
            ts(1_700_000_000, 1).to_string(),
            "2023-11-14T22:13:20.000000001Z"
        );
        assert_eq!(ts(-1, 0).to_string(), "1969-12-31T23:59:59Z");
        assert_eq!(ts(MAX_SECONDS, 0).to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(ts(MIN_SECONDS, 0).to_string(), "0000-01-01T00:00:00Z");
    }

    #[test]
    fn validates() {
        assert!(Timestamp::new(0, 1_000_000_000).is_err());
        assert!(Timestamp::new(MAX_SECONDS + 1, 0).is_err());
        assert!(Timestamp::new(MIN_SECONDS - 1, 0).is_err());
        assert_eq!(ts(MAX_SECONDS, 0).checked_add_seconds(1), None);
        assert_eq!(ts(0, 5).checked_add_seconds(-1), Some(ts(-1, 5)));
    }

    #[test]
    fn parses() {
        for (s, t) in [
            ("1970-01-01T00:00:00Z", ts(0, 0)),
            ("2000-02-29t00:00:00z", ts(951_782_400, 0)),
            ("2023-11-14T22:13:20.5Z", ts(1_700_000_000, 500_000_000)),
            ("2023-11-15T00:13:20.000000001+02:00", ts(1_700_000_000, 1)),
            ("2023-11-14T20:43:20-01:30", ts(1_700_000_000, 0)),
            ("2023-11-14 22:13:20Z", ts(1_700_000_000, 0)),
        ] {
            assert_eq!(s.parse::<Timestamp>().unwrap(), t, "{s}");
        }
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.1234567890Z",
            "2023-11-14T22:13:20+0200",
            "2023-11-14T22:13:20Zjunk",
            "+023-11-14T22:13:20Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips_and_serde() {
        for secs in [
            -86_401,
            -1,
            0,
            59,
            1_000_000_007,
            4_102_444_800,
            MAX_SECONDS,
        ] {
            let t = ts(secs, 42_000);
            assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        }
        let t = ts(1_700_000_000, 0);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2023-11-14T22:13:20Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"nope\"").is_err());
        assert!(ts(1, 0) > ts(0, 999_999_999));
    }
}
