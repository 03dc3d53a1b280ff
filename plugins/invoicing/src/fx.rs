//! Foreign-currency documents and payments, pure and exact.
//!
//! A tenant with a `base-currency` books every document in another currency at an
//! exchange rate (units of the base currency per unit of the document's currency):
//! the receivable or payable keeps the document's currency and carries its base value
//! as a ledger cost (`@@`), the other postings are in the base currency. A payment at
//! another rate puts the bank at the payment's rate, releases the receivable or
//! payable at the document's booked rate, and posts the difference to the realised
//! exchange gain or loss account.
//!
//! **Rounding: half away from zero, to the base currency's minor unit, once per
//! figure.** A document's base total is `round(total × rate)`; each of its other
//! postings is converted on its own and the rounding difference to that base total
//! goes to its largest revenue or expense posting, so the entry balances exactly. A
//! payment's base amount is `round(amount × rate)`; what it releases of a document is
//! `round(part × base-total / total)`, except that a part which settles everything
//! still open releases exactly the base value still open, so a fully paid document
//! leaves nothing behind in the base currency.

use std::fmt;

use crate::calc::div_round;

/// Most decimals a rate may have (ECB reference rates have 4 to 6, some 8).
pub const MAX_RATE_DECIMALS: usize = 12;

/// Decimals of a rate implied by a payment in the base currency (shown only: the
/// payment's figures are the amounts themselves).
pub const IMPLIED_RATE_DECIMALS: u32 = 6;

/// An exchange rate: `units / 10^scale` base units per unit of a foreign currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    units: i128,
    scale: u32,
}

impl Rate {
    /// A rate from a decimal string (`"0.92"`, `"1"`, `"157.35"`), refused unless it is
    /// above zero with at most [`MAX_RATE_DECIMALS`] decimals.
    pub fn parse(s: &str) -> Result<Rate, String> {
        let bad = || {
            format!(
                "the exchange rate {s:?} is not a decimal number above zero with at most {MAX_RATE_DECIMALS} decimals (write it as a string, e.g. \"0.92\")"
            )
        };
        let t = s.trim();
        if t.starts_with('-') {
            return Err(format!(
                "the exchange rate must be above zero, not {t}: give the base-currency value of one unit of the document's currency"
            ));
        }
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty()
            || int.len() > 12
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (t.contains('.') && frac.is_empty())
            || frac.len() > MAX_RATE_DECIMALS
        {
            return Err(bad());
        }
        let digits = format!("{int}{frac}");
        let units: i128 = digits.parse().map_err(|_| bad())?;
        if units == 0 {
            return Err(format!(
                "the exchange rate must be above zero, not {t}: give the base-currency value of one unit of the document's currency"
            ));
        }
        let scale = u32::try_from(frac.len()).map_err(|_| bad())?;
        Ok(Rate { units, scale })
    }

    /// The rate `base` (minor units, `to_exp` decimals) per `amount` (minor units,
    /// `from_exp` decimals) implies, rounded half away from zero to
    /// [`IMPLIED_RATE_DECIMALS`] decimals; `None` when `amount` is not above zero.
    pub fn implied(base: i64, amount: i64, from_exp: u8, to_exp: u8) -> Option<Rate> {
        if amount <= 0 {
            return None;
        }
        let scale = IMPLIED_RATE_DECIMALS;
        let mut num = i128::from(base).checked_mul(10i128.checked_pow(scale)?)?;
        let mut den = i128::from(amount);
        if to_exp >= from_exp {
            den = den.checked_mul(10i128.checked_pow(u32::from(to_exp - from_exp))?)?;
        } else {
            num = num.checked_mul(10i128.checked_pow(u32::from(from_exp - to_exp))?)?;
        }
        Some(Rate {
            units: div_round(num, den),
            scale,
        })
    }

    /// `amount` minor units of a currency with `from_exp` decimals, in minor units of
    /// the base currency with `to_exp` decimals, rounded half away from zero; `None`
    /// beyond the 64-bit range.
    pub fn convert(self, amount: i64, from_exp: u8, to_exp: u8) -> Option<i64> {
        let mut num = i128::from(amount).checked_mul(self.units)?;
        let mut den = 10i128.checked_pow(self.scale)?;
        if to_exp >= from_exp {
            num = num.checked_mul(10i128.checked_pow(u32::from(to_exp - from_exp))?)?;
        } else {
            den = den.checked_mul(10i128.checked_pow(u32::from(from_exp - to_exp))?)?;
        }
        i64::try_from(div_round(num, den)).ok()
    }
}

impl fmt::Display for Rate {
    /// The shortest decimal: `0.92`, `1`, `157.35`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.units.to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return f.write_str(&digits);
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            f.write_str(int)
        } else {
            write!(f, "{int}.{frac}")
        }
    }
}

/// The base values of a document's postings. `postings` are the document's postings
/// in its own currency (positive debits), the first one the receivable or payable;
/// `main` marks the revenue and expense postings (not tax) that may absorb the
/// rounding. Returns the base value of the control posting (signed) and of each
/// other posting, in the same order; `None` on overflow.
pub fn document_base(
    postings: &[(String, i64)],
    main: &[bool],
    rate: Rate,
    from_exp: u8,
    to_exp: u8,
) -> Option<Vec<i64>> {
    let control = postings.first()?;
    let control_base = rate.convert(control.1, from_exp, to_exp)?;
    document_base_with(postings, main, rate, from_exp, to_exp, control_base)
}

/// As [`document_base`], but the control posting's base value is given (signed): a
/// credit note releases a foreign-currency document's receivable or payable pro rata
/// at its booked rate ([`release`]), and its other postings, converted at that rate,
/// absorb the rounding so the entry still balances exactly.
pub fn document_base_with(
    postings: &[(String, i64)],
    main: &[bool],
    rate: Rate,
    from_exp: u8,
    to_exp: u8,
    control_base: i64,
) -> Option<Vec<i64>> {
    let (_, rest) = postings.split_first()?;
    let mut out = vec![control_base];
    for (_, amount) in rest {
        out.push(rate.convert(*amount, from_exp, to_exp)?);
    }
    // The others must sum to minus the control posting's base value.
    let diff = -control_base - out[1..].iter().try_fold(0i64, |s, x| s.checked_add(*x))?;
    if diff != 0 {
        let mut best: Option<usize> = None;
        for i in 1..out.len() {
            let eligible = main.get(i).copied().unwrap_or(false);
            if eligible && best.is_none_or(|b| out[i].abs() > out[b].abs()) {
                best = Some(i);
            }
        }
        // Without a revenue or expense posting (tax only), the largest one takes it.
        let i = best.or_else(|| (1..out.len()).max_by_key(|i| out[*i].abs()))?;
        out[i] = out[i].checked_add(diff)?;
    }
    Some(out)
}

/// What a payment of `part` (document currency) releases of a document whose
/// `total` was booked at `base_total`, with `open` and `base_open` still open before
/// it: `base_open` when it settles everything, else `round(part × base_total / total)`
/// (never beyond what is open in the base currency).
pub fn release(part: i64, open: i64, total: i64, base_open: i64, base_total: i64) -> Option<i64> {
    if part == open || total == 0 {
        return Some(base_open);
    }
    let r = div_round(
        i128::from(part).checked_mul(i128::from(base_total))?,
        i128::from(total),
    );
    let r = i64::try_from(r).ok()?;
    Some(if base_open >= 0 {
        r.min(base_open)
    } else {
        r.max(base_open)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap fails the test")]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        assert_eq!(Rate::parse("0.92").unwrap().to_string(), "0.92");
        assert_eq!(Rate::parse("1").unwrap().to_string(), "1");
        assert_eq!(Rate::parse("1.50").unwrap().to_string(), "1.5");
        assert_eq!(Rate::parse("0.000001").unwrap().to_string(), "0.000001");
        assert_eq!(Rate::parse("157.35").unwrap().to_string(), "157.35");
        assert!(Rate::parse("0").unwrap_err().contains("above zero"));
        assert!(Rate::parse("0.000").unwrap_err().contains("above zero"));
        assert!(Rate::parse("-0.92").unwrap_err().contains("above zero"));
        assert!(Rate::parse("abc").is_err());
        assert!(Rate::parse("1.").is_err());
        assert!(Rate::parse(".5").is_err());
        assert!(Rate::parse("0.1234567890123").is_err());
    }

    #[test]
    fn conversion_rounds_half_away_from_zero() {
        let r = Rate::parse("0.92").unwrap();
        assert_eq!(r.convert(100_000, 2, 2), Some(92_000));
        assert_eq!(r.convert(-100_000, 2, 2), Some(-92_000));
        // 0.01 × 0.5 = 0.005 rounds away from zero.
        let half = Rate::parse("0.5").unwrap();
        assert_eq!(half.convert(1, 2, 2), Some(1));
        assert_eq!(half.convert(-1, 2, 2), Some(-1));
        // JPY (no decimals) into EUR: 10000 JPY at 0.0061 is 61.00 EUR.
        let jpy = Rate::parse("0.0061").unwrap();
        assert_eq!(jpy.convert(10_000, 0, 2), Some(6_100));
        // EUR into JPY: 1.00 EUR at 163.2 is 163 JPY.
        assert_eq!(Rate::parse("163.2").unwrap().convert(100, 2, 0), Some(163));
        assert_eq!(
            Rate::parse("1000000").unwrap().convert(i64::MAX, 2, 2),
            None
        );
    }

    #[test]
    fn implied_rates() {
        assert_eq!(
            Rate::implied(47_500, 50_000, 2, 2).unwrap().to_string(),
            "0.95"
        );
        assert_eq!(
            Rate::implied(10_000, 30_000, 2, 2).unwrap().to_string(),
            "0.333333"
        );
        // 61.00 EUR for 10000 JPY.
        assert_eq!(
            Rate::implied(6_100, 10_000, 0, 2).unwrap().to_string(),
            "0.0061"
        );
        assert_eq!(Rate::implied(1, 0, 2, 2), None);
    }

    #[test]
    fn document_base_balances_exactly() {
        // 3 × 0.03 revenue lines with 20 % tax, at 0.333: the rounding goes to revenue.
        let postings = vec![
            ("assets:receivable".to_owned(), 10_001),
            ("income:sales".to_owned(), -8_334),
            ("liabilities:vat".to_owned(), -1_667),
        ];
        let rate = Rate::parse("0.333").unwrap();
        let base = document_base(&postings, &[false, true, false], rate, 2, 2).unwrap();
        assert_eq!(base[0], rate.convert(10_001, 2, 2).unwrap());
        assert_eq!(base[2], rate.convert(-1_667, 2, 2).unwrap());
        assert_eq!(base.iter().sum::<i64>(), 0);
    }

    #[test]
    fn a_given_control_value_is_balanced_by_the_main_posting() {
        // A third of a 360.03 invoice booked at 0.333 is credited: the receivable
        // releases a third of its base value, the tax is converted on its own and the
        // revenue takes the rounding.
        let postings = vec![
            ("assets:receivable".to_owned(), -12_001),
            ("income:sales".to_owned(), 10_001),
            ("liabilities:vat".to_owned(), 2_000),
        ];
        let rate = Rate::parse("0.333").unwrap();
        let control = -release(12_001, 36_003, 36_003, 11_989, 11_989).unwrap();
        let base =
            document_base_with(&postings, &[false, true, false], rate, 2, 2, control).unwrap();
        assert_eq!(base[0], control);
        assert_eq!(base[2], rate.convert(2_000, 2, 2).unwrap());
        assert_eq!(base.iter().sum::<i64>(), 0);
    }

    #[test]
    fn the_last_release_takes_what_is_left() {
        // 1000.00 booked at 0.92 is 920.00; pay 333.33, 333.33 and 333.34.
        let (total, base_total) = (100_000, 92_000);
        let mut open = total;
        let mut base_open = base_total;
        for part in [33_333, 33_333, 33_334] {
            let r = release(part, open, total, base_open, base_total).unwrap();
            open -= part;
            base_open -= r;
        }
        assert_eq!((open, base_open), (0, 0));
        assert_eq!(
            release(50_000, 100_000, 100_000, 92_000, 92_000),
            Some(46_000)
        );
    }
}
