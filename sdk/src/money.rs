//! [`Money`]: an exact amount in integer minor units of a [`Currency`]. Never floats.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

// ISO 4217 codes and minor-unit exponents known to [`Currency::new`]: one table,
// shared with the host's console.
use backoffice_currency::ISO_4217;

/// The largest exponent [`Currency::custom`] accepts.
pub const MAX_EXPONENT: u8 = 18;

/// A currency: a code of 3 upper-case ASCII letters and the number of decimal
/// digits of its minor unit (2 for EUR cents, 0 for JPY, 3 for KWD fils).
///
/// Serialises as its code (`"EUR"`); deserialising accepts only the codes
/// [`Currency::new`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    /// The euro.
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        exponent: 2,
    };
    /// The US dollar.
    pub const USD: Currency = Currency {
        code: *b"USD",
        exponent: 2,
    };
    /// The pound sterling.
    pub const GBP: Currency = Currency {
        code: *b"GBP",
        exponent: 2,
    };
    /// The Swiss franc.
    pub const CHF: Currency = Currency {
        code: *b"CHF",
        exponent: 2,
    };
    /// The Japanese yen.
    pub const JPY: Currency = Currency {
        code: *b"JPY",
        exponent: 0,
    };

    /// A currency by its ISO 4217 code, with the standard exponent. Codes that are
    /// malformed or not in the SDK's table are [`Error::InvalidInput`].
    pub fn new(code: &str) -> Result<Self> {
        let code_bytes = parse_code(code)?;
        match ISO_4217.iter().find(|(c, _)| *c == code) {
            Some(&(_, exponent)) => Ok(Self {
                code: code_bytes,
                exponent,
            }),
            None => Err(Error::invalid(format!("unknown currency {code:?}"))),
        }
    }

    /// A currency outside the SDK's table (a loyalty point, a new ISO code), with an
    /// explicit exponent of at most [`MAX_EXPONENT`].
    pub fn custom(code: &str, exponent: u8) -> Result<Self> {
        let code = parse_code(code)?;
        if exponent > MAX_EXPONENT {
            return Err(Error::invalid(format!(
                "exponent {exponent} is over {MAX_EXPONENT}"
            )));
        }
        Ok(Self { code, exponent })
    }

    /// The 3-letter code.
    pub fn code(&self) -> &str {
        // The code is always 3 ASCII upper-case letters.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// The number of decimal digits of the minor unit.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

fn parse_code(code: &str) -> Result<[u8; 3]> {
    match code.as_bytes() {
        &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok([a, b, c]),
        _ => Err(Error::invalid(format!(
            "currency code {code:?} is not 3 upper-case letters"
        ))),
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::new(&code).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// An exact amount of money: integer minor units (cents) of a [`Currency`].
///
/// Arithmetic is checked: mixing currencies or overflowing `i64` is an error, never
/// a wrong number. Serialises as `{"amount": 1234, "currency": "EUR"}` (amount in
/// minor units).
///
/// ```
/// use backoffice_sdk::{Currency, Money};
/// let price = Money::parse("12.34", "EUR").unwrap();
/// assert_eq!(price.amount(), 1234);
/// let total = price.checked_add(&Money::new(66, Currency::EUR)).unwrap();
/// assert_eq!(total.to_string(), "EUR 13.00");
/// assert!(price.checked_add(&Money::parse("1", "USD").unwrap()).is_err());
/// assert!(Money::parse("12.345", "EUR").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    amount: i64,
    currency: Currency,
}

impl Money {
    /// `amount` minor units of `currency`: `Money::new(1234, Currency::EUR)` is EUR 12.34.
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Zero of `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// Parse a decimal string such as `12.34`, `-0.05` or `1200` in the currency
    /// with ISO code `currency`.
    pub fn parse(amount: &str, currency: &str) -> Result<Self> {
        Self::parse_in(amount, Currency::new(currency)?)
    }

    /// Parse a decimal string in `currency`.
    ///
    /// Accepts an optional sign, at least one integer digit and an optional fraction
    /// of at most the currency's exponent digits (further digits must be zeros):
    /// `12.345` EUR is refused rather than rounded. No grouping, exponents or spaces.
    pub fn parse_in(amount: &str, currency: Currency) -> Result<Self> {
        let bad =
            |why: &str| Error::invalid(format!("{amount:?} is not an amount of {currency}: {why}"));
        let (negative, digits) = match amount.as_bytes().first() {
            Some(b'-') => (true, &amount[1..]),
            Some(b'+') => (false, &amount[1..]),
            _ => (false, amount),
        };
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected digits before the decimal point"));
        }
        let frac = frac.unwrap_or("");
        if (digits.contains('.') && frac.is_empty()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected digits after the decimal point"));
        }
        let exp = usize::from(currency.exponent);
        if frac.len() > exp && frac[exp..].bytes().any(|b| b != b'0') {
            return Err(bad(&format!("more than {exp} decimal places")));
        }
        let frac = &frac[..frac.len().min(exp)];
        // Accumulate negatively so i64::MIN parses.
        let mut minor: i64 = 0;
        let overflow = || bad("too large");
        for b in int
            .bytes()
            .chain(frac.bytes())
            .chain(std::iter::repeat_n(b'0', exp - frac.len()))
        {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_sub(i64::from(b - b'0')))
                .ok_or_else(overflow)?;
        }
        let minor = if negative {
            minor
        } else {
            minor.checked_neg().ok_or_else(overflow)?
        };
        Ok(Self::new(minor, currency))
    }

    /// The amount in minor units.
    pub fn amount(&self) -> i64 {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount < 0
    }

    /// `self + other`; [`Error::InvalidInput`] on a currency mismatch or overflow.
    pub fn checked_add(&self, other: &Money) -> Result<Money> {
        self.same_currency(other, "add")?;
        self.amount
            .checked_add(other.amount)
            .map(|a| Money::new(a, self.currency))
            .ok_or_else(|| Error::invalid(format!("{self} + {other} overflows")))
    }

    /// `self - other`; [`Error::InvalidInput`] on a currency mismatch or overflow.
    pub fn checked_sub(&self, other: &Money) -> Result<Money> {
        self.same_currency(other, "subtract")?;
        self.amount
            .checked_sub(other.amount)
            .map(|a| Money::new(a, self.currency))
            .ok_or_else(|| Error::invalid(format!("{self} - {other} overflows")))
    }

    /// `-self`; [`Error::InvalidInput`] on overflow (the most negative amount).
    pub fn checked_neg(&self) -> Result<Money> {
        self.amount
            .checked_neg()
            .map(|a| Money::new(a, self.currency))
            .ok_or_else(|| Error::invalid(format!("-({self}) overflows")))
    }

    fn same_currency(&self, other: &Money, what: &str) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "cannot {what} {} and {}",
                self.currency, other.currency
            )))
        }
    }
}

/// `EUR 12.34`, `JPY 1200`, `USD -0.05`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let amount = backoffice_currency::format_minor(self.amount, self.currency.exponent);
        write!(f, "{} {amount}", self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str, c: &str) -> Money {
        Money::parse(s, c).unwrap()
    }

    #[test]
    fn currencies() {
        assert_eq!(Currency::new("EUR").unwrap(), Currency::EUR);
        assert_eq!(Currency::new("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::new("KWD").unwrap().exponent(), 3);
        assert_eq!(Currency::new("BHD").unwrap().exponent(), 3);
        assert_eq!(Currency::new("CHF").unwrap(), Currency::CHF);
        assert_eq!(Currency::new("GBP").unwrap().code(), "GBP");
        assert!(Currency::new("eur").is_err());
        assert!(Currency::new("EURO").is_err());
        assert!(Currency::new("XYZ").is_err());
        assert!(Currency::new("").is_err());
        assert!(Currency::new("ÉUR").is_err());
        let xyz = Currency::custom("XYZ", 4).unwrap();
        assert_eq!((xyz.code(), xyz.exponent()), ("XYZ", 4));
        assert!(Currency::custom("xyz", 2).is_err());
        assert!(Currency::custom("XYZ", 19).is_err());
        assert_eq!("USD".parse::<Currency>().unwrap(), Currency::USD);
        for (code, _) in ISO_4217 {
            assert!(Currency::new(code).is_ok(), "{code}");
        }
        assert!(
            ISO_4217.windows(2).all(|w| w[0].0 < w[1].0),
            "table sorted and unique"
        );
    }

    #[test]
    fn display() {
        assert_eq!(Money::new(1234, Currency::EUR).to_string(), "EUR 12.34");
        assert_eq!(Money::new(1200, Currency::JPY).to_string(), "JPY 1200");
        assert_eq!(Money::new(-5, Currency::USD).to_string(), "USD -0.05");
        assert_eq!(Money::new(-1200, Currency::JPY).to_string(), "JPY -1200");
        assert_eq!(Money::new(0, Currency::EUR).to_string(), "EUR 0.00");
        assert_eq!(
            Money::new(1_234_567, Currency::new("KWD").unwrap()).to_string(),
            "KWD 1234.567"
        );
        assert_eq!(
            Money::new(i64::MIN, Currency::EUR).to_string(),
            "EUR -92233720368547758.08"
        );
        assert_eq!(
            Money::new(5, Currency::custom("PTS", 18).unwrap()).to_string(),
            "PTS 0.000000000000000005"
        );
    }

    #[test]
    fn parse() {
        assert_eq!(m("12.34", "EUR"), Money::new(1234, Currency::EUR));
        assert_eq!(m("12.3", "EUR").amount(), 1230);
        assert_eq!(m("12", "EUR").amount(), 1200);
        assert_eq!(m("-0.05", "USD").amount(), -5);
        assert_eq!(m("+7.00", "USD").amount(), 700);
        assert_eq!(m("1200", "JPY").amount(), 1200);
        assert_eq!(
            m("12.340", "EUR").amount(),
            1234,
            "trailing zeros are exact"
        );
        assert_eq!(m("1.5", "KWD").amount(), 1500);
        assert_eq!(m("-92233720368547758.08", "EUR").amount(), i64::MIN);
        assert_eq!(m("92233720368547758.07", "EUR").amount(), i64::MAX);
        for (bad, c) in [
            ("12.345", "EUR"),
            ("1.5", "JPY"),
            ("", "EUR"),
            ("-", "EUR"),
            (".5", "EUR"),
            ("5.", "EUR"),
            ("1,000.00", "EUR"),
            ("1e3", "EUR"),
            (" 1", "EUR"),
            ("1.2.3", "EUR"),
            ("--1", "EUR"),
            ("92233720368547758.08", "EUR"),
            ("99999999999999999999", "JPY"),
            ("1", "XXX"),
        ] {
            assert!(Money::parse(bad, c).is_err(), "{bad} {c}");
        }
        let err = Money::parse("12.345", "EUR").unwrap_err();
        assert!(
            err.message().contains("more than 2 decimal places"),
            "{err}"
        );
    }

    #[test]
    fn arithmetic() {
        let a = m("10.00", "EUR");
        let b = m("0.25", "EUR");
        assert_eq!(a.checked_add(&b).unwrap(), m("10.25", "EUR"));
        assert_eq!(b.checked_sub(&a).unwrap(), m("-9.75", "EUR"));
        assert_eq!(b.checked_neg().unwrap(), m("-0.25", "EUR"));
        assert!(a.checked_add(&m("1", "USD")).is_err());
        assert!(a.checked_sub(&m("1", "USD")).is_err());
        let max = Money::new(i64::MAX, Currency::EUR);
        let min = Money::new(i64::MIN, Currency::EUR);
        assert!(max.checked_add(&Money::new(1, Currency::EUR)).is_err());
        assert!(min.checked_sub(&Money::new(1, Currency::EUR)).is_err());
        assert!(min.checked_neg().is_err());
        assert!(Money::zero(Currency::JPY).is_zero());
        assert!(b.checked_neg().unwrap().is_negative());
        assert_eq!(b.currency(), Currency::EUR);
    }

    #[test]
    fn serde() {
        let v = m("12.34", "EUR");
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"amount":1234,"currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), v);
        assert!(serde_json::from_str::<Money>(r#"{"amount":1.5,"currency":"EUR"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"eur"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"XYZ"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"EUR","x":1}"#).is_err());
    }
}
