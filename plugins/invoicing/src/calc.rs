//! The arithmetic of a document, pure and exact: quantities in thousandths, prices
//! and amounts in integer minor units, discounts and tax rates in basis points.
//!
//! **Rounding rule: per line, half away from zero.** Each line's amount
//! (quantity × unit price less the discount) is rounded once to a minor unit, then the
//! line's tax is computed from that rounded amount and rounded once; document totals
//! are sums of the rounded line figures, so a document's total always equals the sum
//! of what its lines show.

use serde::{Deserialize, Serialize};

/// Thousandths in one unit of quantity.
pub const QUANTITY_SCALE: i64 = 1000;
/// Basis points in 100 %.
pub const FULL_BP: i64 = 10_000;

/// `num / den` rounded to the nearest integer, halves away from zero. `den > 0`.
pub fn div_round(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

/// A quantity as a decimal string with at most three decimals (`"2"`, `"2.5"`,
/// `"0.125"`, `"-1"`) in thousandths.
pub fn parse_quantity(s: &str) -> Result<i64, String> {
    let bad = || format!("quantity {s:?} is not a number with at most 3 decimals");
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (digits.contains('.') && frac.is_empty())
        || frac.len() > 3
        || int.len() > 12
    {
        return Err(bad());
    }
    let int: i64 = int.parse().map_err(|_| bad())?;
    let frac_val: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().map_err(|_| bad())?
    };
    let v = int * QUANTITY_SCALE + frac_val;
    Ok(if neg { -v } else { v })
}

/// Thousandths as the shortest decimal string (`2500` is `"2.5"`).
pub fn format_quantity(thousandths: i64) -> String {
    let sign = if thousandths < 0 { "-" } else { "" };
    let a = thousandths.unsigned_abs();
    let int = a / 1000;
    let frac = a % 1000;
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let f = format!("{frac:03}");
        format!("{sign}{int}.{}", f.trim_end_matches('0'))
    }
}

/// Minor units as a decimal string with `exponent` decimals (`12345`, 2: `"123.45"`).
pub fn format_minor(amount: i64, exponent: u8) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let a = amount.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{a}");
    }
    let scale = 10u64.pow(u32::from(exponent));
    format!(
        "{sign}{}.{:0width$}",
        a / scale,
        a % scale,
        width = usize::from(exponent)
    )
}

/// How a tax rate applies to a line's amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// The rate in basis points (2000 is 20 %).
    pub bp: i64,
    /// Whether the line's amount already includes the tax.
    pub inclusive: bool,
}

/// One line's figures, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LineAmounts {
    /// Quantity × unit price before the discount, rounded.
    pub gross_before_discount: i64,
    /// The discount taken off, rounded (`gross_before_discount - amount`).
    pub discount: i64,
    /// Without tax.
    pub net: i64,
    /// The tax.
    pub tax: i64,
    /// With tax.
    pub total: i64,
}

/// The figures of one line: `quantity` in thousandths, `unit_price` in minor units,
/// `discount_bp` 0..=10000. `None` on overflow of the i64 range.
///
/// 1. amount = round(quantity × unit price × (10000 − discount) / (1000 × 10000));
/// 2. exclusive rate: net = amount, tax = round(net × rate / 10000);
///    inclusive rate: total = amount, tax = round(amount × rate / (10000 + rate)),
///    net = amount − tax.
pub fn line(quantity: i64, unit_price: i64, discount_bp: i64, rate: Rate) -> Option<LineAmounts> {
    let qp = i128::from(quantity).checked_mul(i128::from(unit_price))?;
    let before = div_round(qp, i128::from(QUANTITY_SCALE));
    let amount = div_round(
        qp.checked_mul(i128::from(FULL_BP - discount_bp))?,
        i128::from(QUANTITY_SCALE * FULL_BP),
    );
    let taxed = amount.checked_mul(i128::from(rate.bp))?;
    let (net, tax) = if rate.inclusive {
        let tax = div_round(taxed, i128::from(FULL_BP + rate.bp));
        (amount - tax, tax)
    } else {
        (amount, div_round(taxed, i128::from(FULL_BP)))
    };
    Some(LineAmounts {
        gross_before_discount: i64::try_from(before).ok()?,
        discount: i64::try_from(before - amount).ok()?,
        net: i64::try_from(net).ok()?,
        tax: i64::try_from(tax).ok()?,
        total: i64::try_from(net + tax).ok()?,
    })
}

/// The ageing bucket of an amount `days_past_due` days after its due date.
pub fn bucket(days_past_due: i64) -> usize {
    match days_past_due {
        i64::MIN..=0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    }
}

/// The names of the ageing buckets, in order.
pub const BUCKETS: [&str; 5] = ["current", "1-30", "31-60", "61-90", "over-90"];

#[cfg(test)]
mod tests {
    use super::*;

    const EXCL20: Rate = Rate {
        bp: 2000,
        inclusive: false,
    };
    const INCL20: Rate = Rate {
        bp: 2000,
        inclusive: true,
    };
    const ZERO: Rate = Rate {
        bp: 0,
        inclusive: false,
    };

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(div_round(5, 10), 1);
        assert_eq!(div_round(4, 10), 0);
        assert_eq!(div_round(15, 10), 2);
        assert_eq!(div_round(-5, 10), -1);
        assert_eq!(div_round(-15, 10), -2);
        assert_eq!(div_round(-14, 10), -1);
        assert_eq!(div_round(25, 10), 3, "not banker's rounding");
        assert_eq!(div_round(0, 7), 0);
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("2"), Ok(2000));
        assert_eq!(parse_quantity("2.5"), Ok(2500));
        assert_eq!(parse_quantity("0.125"), Ok(125));
        assert_eq!(parse_quantity("-1.5"), Ok(-1500));
        for bad in ["", "1.", ".5", "1.2345", "1,5", "a", "1e3", "--1"] {
            assert!(parse_quantity(bad).is_err(), "{bad}");
        }
        assert_eq!(format_quantity(2500), "2.5");
        assert_eq!(format_quantity(2000), "2");
        assert_eq!(format_quantity(125), "0.125");
        assert_eq!(format_quantity(-1500), "-1.5");
        assert_eq!(format_minor(12345, 2), "123.45");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(1200, 0), "1200");
        assert_eq!(format_minor(1, 3), "0.001");
    }

    #[test]
    fn exclusive_tax_per_line() {
        // 3 × 19.99 = 59.97; VAT 20 % = 11.994 -> 11.99.
        let l = line(3000, 1999, 0, EXCL20).unwrap();
        assert_eq!((l.net, l.tax, l.total), (5997, 1199, 7196));
        // 1 × 0.025 rounds up at the half: tax of 0.03 at 20 % = 0.006 -> 0.01.
        let l = line(1000, 3, 0, EXCL20).unwrap();
        assert_eq!((l.net, l.tax), (3, 1));
        // Zero-rated.
        let l = line(2000, 5000, 0, ZERO).unwrap();
        assert_eq!((l.net, l.tax, l.total), (10000, 0, 10000));
    }

    #[test]
    fn inclusive_tax_is_extracted() {
        // 120.00 including 20 % is 100.00 + 20.00.
        let l = line(1000, 12000, 0, INCL20).unwrap();
        assert_eq!((l.net, l.tax, l.total), (10000, 2000, 12000));
        // 10.00 including 20 %: tax 1.6666.. -> 1.67, net 8.33; total unchanged.
        let l = line(1000, 1000, 0, INCL20).unwrap();
        assert_eq!((l.net, l.tax, l.total), (833, 167, 1000));
    }

    #[test]
    fn discounts_and_fractional_quantities() {
        // 2.5 h at 80.00 less 10 % = 180.00, VAT 36.00.
        let l = line(2500, 8000, 1000, EXCL20).unwrap();
        assert_eq!(l.gross_before_discount, 20000);
        assert_eq!(l.discount, 2000);
        assert_eq!((l.net, l.tax, l.total), (18000, 3600, 21600));
        // 0.333 × 10.00 = 3.33; less 12.5 % = 2.91375 -> 2.91.
        let l = line(333, 1000, 1250, ZERO).unwrap();
        assert_eq!(l.gross_before_discount, 333);
        assert_eq!(l.net, 291);
        assert_eq!(l.discount, 42);
        // 100 % discount: nothing to pay.
        let l = line(1000, 1000, 10_000, EXCL20).unwrap();
        assert_eq!((l.net, l.tax, l.total), (0, 0, 0));
    }

    #[test]
    fn negative_lines_round_symmetrically() {
        let pos = line(1000, 3, 0, EXCL20).unwrap();
        let neg = line(-1000, 3, 0, EXCL20).unwrap();
        assert_eq!((neg.net, neg.tax), (-pos.net, -pos.tax));
    }

    #[test]
    fn per_line_rounding_differs_from_per_document() {
        // Three lines of 0.03 at 20 %: each tax 0.006 rounds to 0.01, so the document's
        // tax is 0.03, where 20 % of the document's 0.09 would round to 0.02. The rule
        // is per line.
        let taxes: i64 = (0..3).map(|_| line(1000, 3, 0, EXCL20).unwrap().tax).sum();
        assert_eq!(taxes, 3);
        assert_eq!(div_round(9 * 2000, 10_000), 2);
    }

    #[test]
    fn overflow_is_none() {
        assert!(line(i64::MAX, i64::MAX, 0, EXCL20).is_none());
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket(-5), 0);
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 1);
        assert_eq!(bucket(30), 1);
        assert_eq!(bucket(31), 2);
        assert_eq!(bucket(60), 2);
        assert_eq!(bucket(61), 3);
        assert_eq!(bucket(90), 3);
        assert_eq!(bucket(91), 4);
    }
}
