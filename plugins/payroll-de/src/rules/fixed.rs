//! Scaled-integer rounding with the semantics of `java.math.BigDecimal`, which the
//! BMF Programmablaufplan (PAP) is written in, plus the commercial rounding of the
//! social insurance rules.
//!
//! Every value is an `i128` holding a number scaled by a power of ten that the caller
//! chooses (cents = 10^2, rates in millionths = 10^6). Dividing a scaled value by a
//! power of ten with one of these helpers is exactly `setScale(n, mode)` or
//! `divide(d, n, mode)` in the PAP.

/// `BigDecimal.ROUND_DOWN`: the quotient `n / d` truncated towards zero
/// ("Hinweis: negative Zahlen werden nach ihrem Betrag gerundet", PAP).
pub fn div_down(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    n / d
}

/// `BigDecimal.ROUND_UP`: the quotient `n / d` rounded away from zero.
pub fn div_up(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    let q = n / d;
    if n % d == 0 {
        q
    } else if n > 0 {
        q + 1
    } else {
        q - 1
    }
}

/// Commercial rounding ("kaufmännisch"), half away from zero: the rule of
/// § 1 Absatz 2 Satz 2 Beitragsverfahrensverordnung (BVV) — "die zweite
/// Dezimalstelle wird um 1 erhöht, wenn sich in der dritten Dezimalstelle eine der
/// Zahlen 5 bis 9 ergibt".
pub fn div_half_up(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d {
        if n >= 0 { q + 1 } else { q - 1 }
    } else {
        q
    }
}

/// Parse a non-negative decimal string with at most `scale` decimals ("2.5",
/// "0.912", "17") into an integer scaled by `10^scale`. `None` when it is not one.
pub fn parse_decimal(s: &str, scale: u32) -> Option<i128> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || int.len() > 12 || frac.len() > scale as usize {
        return None;
    }
    if s.contains('.') && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i128 = int.parse().ok()?;
    let mut digits = 0;
    for b in frac.bytes() {
        v = v * 10 + i128::from(b - b'0');
        digits += 1;
    }
    Some(v * 10i128.pow(scale - digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_down_truncates_towards_zero() {
        assert_eq!(div_down(199, 100), 1);
        assert_eq!(div_down(-199, 100), -1);
        assert_eq!(div_down(200, 100), 2);
    }

    #[test]
    fn round_up_goes_away_from_zero() {
        assert_eq!(div_up(101, 100), 2);
        assert_eq!(div_up(100, 100), 1);
        assert_eq!(div_up(-101, 100), -2);
        assert_eq!(div_up(0, 100), 0);
    }

    #[test]
    fn half_up_is_commercial_rounding() {
        assert_eq!(div_half_up(1234, 1000), 1);
        assert_eq!(div_half_up(1500, 1000), 2);
        assert_eq!(div_half_up(1499, 1000), 1);
        assert_eq!(div_half_up(-1500, 1000), -2);
        // 5,512.50 EUR * 8.55 % = 471.31875 -> 471.32
        assert_eq!(div_half_up(551_250 * 85_500, 1_000_000), 47_132);
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_decimal("2.5", 2), Some(250));
        assert_eq!(parse_decimal("2.45", 2), Some(245));
        assert_eq!(parse_decimal("3", 2), Some(300));
        assert_eq!(parse_decimal("0.912", 3), Some(912));
        assert_eq!(parse_decimal("2.455", 2), None);
        assert_eq!(parse_decimal("-1", 2), None);
        assert_eq!(parse_decimal("1.", 2), None);
        assert_eq!(parse_decimal(".5", 2), None);
        assert_eq!(parse_decimal("1e2", 2), None);
    }
}
