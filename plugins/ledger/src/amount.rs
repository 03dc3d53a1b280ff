//! Exact amounts: decimal text to integer minor units of a commodity and back.
//!
//! A commodity is an ISO 4217 currency (its exponent from the SDK's table) or a custom
//! commodity declared with a precision (`$`, `€`, `AAPL`, `HOURS`).

use serde::Serialize;

/// The most decimals a commodity may have (as the SDK's `MAX_EXPONENT`).
pub const MAX_PRECISION: u8 = backoffice_sdk::MAX_EXPONENT;

/// The ISO 4217 exponent of `code`, or `None` when it is not an ISO currency.
pub fn iso_precision(code: &str) -> Option<u8> {
    backoffice_sdk::Currency::new(code)
        .ok()
        .map(|c| c.exponent())
}

/// Check a commodity name: 1 to 32 characters, no whitespace, digits-only, or
/// characters that mean something in journals and storage keys.
pub fn validate_commodity(code: &str) -> Result<(), String> {
    let bad = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || c.is_ascii_digit()
            || "-+.,;@*!=/\"'()[]{}#|&<>?\\".contains(c)
    };
    if code.is_empty() || code.chars().count() > 32 || code.chars().any(bad) {
        return Err(format!(
            "{code:?} is not a commodity name: use 1 to 32 letters or symbols such as EUR, $ or AAPL"
        ));
    }
    Ok(())
}

/// A decimal number as written: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    /// The digits as an integer, with the sign.
    pub mantissa: i128,
    /// How many of the digits are decimals.
    pub scale: u32,
}

impl Decimal {
    /// Parse `[-+]digits[.digits]` with optional `,` thousands separators before the
    /// decimal point.
    pub fn parse(text: &str) -> Result<Decimal, String> {
        let err = || format!("{text:?} is not a number");
        let (neg, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        let groups: Vec<&str> = int.split(',').collect();
        let grouped_ok = groups.len() == 1
            || (!groups[0].is_empty()
                && groups[0].len() <= 3
                && groups[1..].iter().all(|g| g.len() == 3));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        if !grouped_ok || !groups.iter().all(|g| digits(g)) || frac.is_some_and(|f| !digits(f)) {
            return Err(err());
        }
        if groups.len() == 2 && frac.is_none() {
            // hledger reads `1,000` as one point zero: refuse rather than guess.
            return Err(format!(
                "{text:?} is ambiguous: write 1000 or 1,000.00 (',' groups thousands, '.' marks decimals)"
            ));
        }
        let frac = frac.unwrap_or("");
        let mut mantissa: i128 = 0;
        for c in groups.concat().bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(c - b'0')))
                .ok_or_else(|| format!("{text:?} is too large"))?;
        }
        let scale = u32::try_from(frac.len()).map_err(|_| err())?;
        if scale > 30 {
            return Err(format!("{text:?} has too many decimals"));
        }
        Ok(Decimal {
            mantissa: if neg { -mantissa } else { mantissa },
            scale,
        })
    }

    /// Minor units at `precision` decimals; an error when more decimals are needed or
    /// the amount does not fit in 64 bits.
    pub fn to_minor(self, precision: u8, commodity: &str) -> Result<i64, String> {
        let p = u32::from(precision);
        let value = if self.scale <= p {
            10i128
                .checked_pow(p - self.scale)
                .and_then(|f| self.mantissa.checked_mul(f))
        } else {
            let f = 10i128.pow(self.scale - p);
            if self.mantissa % f != 0 {
                return Err(format!(
                    "{} has more decimals than {commodity} allows ({precision})",
                    self.text()
                ));
            }
            Some(self.mantissa / f)
        };
        value
            .and_then(|v| i64::try_from(v).ok())
            .ok_or_else(|| format!("{} {commodity} is too large", self.text()))
    }

    /// The number as plain text.
    pub fn text(self) -> String {
        format_i128(self.mantissa, self.scale)
    }
}

/// `amount` minor units as a decimal string with `precision` decimals: `-12.34`.
pub fn format(amount: i64, precision: u8) -> String {
    format_i128(i128::from(amount), u32::from(precision))
}

fn format_i128(v: i128, scale: u32) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let abs = v.unsigned_abs();
    if scale == 0 {
        return format!("{sign}{abs}");
    }
    let f = 10u128.pow(scale);
    let width = scale as usize;
    format!("{sign}{}.{:0width$}", abs / f, abs % f)
}

/// An amount of one commodity in reports and entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amount {
    /// The commodity code.
    pub currency: String,
    /// Integer minor units.
    pub amount: i64,
    /// The amount as a decimal string, `-12.34`.
    pub formatted: String,
}

impl Amount {
    /// An amount with its formatted text.
    pub fn new(currency: &str, amount: i64, precision: u8) -> Amount {
        Amount {
            currency: currency.to_owned(),
            amount,
            formatted: format(amount, precision),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minor(s: &str, p: u8) -> Result<i64, String> {
        Decimal::parse(s)?.to_minor(p, "EUR")
    }

    #[test]
    fn parses_decimals() {
        assert_eq!(minor("12.34", 2), Ok(1234));
        assert_eq!(minor("-1,000.5", 2), Ok(-100_050));
        assert_eq!(minor("+7", 2), Ok(700));
        assert_eq!(minor("12.340", 2), Ok(1234));
        assert_eq!(minor("1200", 0), Ok(1200));
        let err = minor("12.345", 2).unwrap_err();
        assert!(err.contains("more decimals than EUR allows (2)"), "{err}");
        for bad in [
            "", "-", ".5", "5.", "1,00", "1e3", "1.2.3", "--1", ",100", "1 000",
        ] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
        assert!(minor("92233720368547758.08", 2).is_err());
        assert!(Decimal::parse("1,000").unwrap_err().contains("ambiguous"));
        assert_eq!(minor("1,000,000", 0), Ok(1_000_000));
    }

    #[test]
    fn formats() {
        assert_eq!(format(1234, 2), "12.34");
        assert_eq!(format(-5, 2), "-0.05");
        assert_eq!(format(1200, 0), "1200");
        assert_eq!(format(i64::MIN, 2), "-92233720368547758.08");
    }

    #[test]
    fn commodities() {
        assert_eq!(iso_precision("JPY"), Some(0));
        assert_eq!(iso_precision("EUR"), Some(2));
        assert_eq!(iso_precision("$"), None);
        for ok in ["EUR", "$", "€", "AAPL", "HOURS"] {
            assert!(validate_commodity(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A B", "A/B", "12", "\"X\"", "-"] {
            assert!(validate_commodity(bad).is_err(), "{bad}");
        }
    }
}
