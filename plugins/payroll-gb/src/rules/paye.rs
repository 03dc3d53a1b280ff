//! PAYE income tax following HMRC's "Specification for PAYE Tax Table Routines"
//! (v24.0, February 2026; the routines are unchanged in substance since v16.1 of
//! February 2018). Paragraph numbers below are those of the spec.
//!
//! All amounts are pence (`i64`); intermediate products use `i128` so that no step
//! rounds before the spec says so.

use super::params::{Band, Regime};

/// Integer division rounding towards +infinity (`den > 0`).
pub fn ceil_div(num: i128, den: i128) -> i128 {
    num.div_euclid(den) + i128::from(num.rem_euclid(den) != 0)
}

/// Integer division rounding towards -infinity (`den > 0`).
pub fn floor_div(num: i128, den: i128) -> i128 {
    num.div_euclid(den)
}

/// Pence rounded down to whole pounds, in pence (spec 4.4.4, Tn: "taxable pay to date
/// rounded down to the nearest pound").
pub fn floor_pound(pence: i64) -> i64 {
    pence.div_euclid(100) * 100
}

/// The Week 1 / Month 1 value of Table A for a code number (spec 4.3.1, "Note for
/// programmers"): free pay for suffix codes, additional pay for prefix K codes, in
/// pence, for `periods` = 52 (weekly) or 12 (monthly).
///
/// * code 0 has none;
/// * otherwise split the code into `q` whole units of 500 and a remainder `r` in
///   1..=500 (`q = (code - 1) / 500`, `r = code - 500 q`);
/// * the remainder's annual value is `r × £10 + £9`, divided by 52 or 12 and
///   rounded UP to the next penny;
/// * each unit of 500 adds £5,000 / 52 = £96.16 or £5,000 / 12 = £416.67, likewise
///   rounded up to the penny.
///
/// HMRC's 2009-10 test data (Annex B of "Notes for payroll software developers")
/// confirms the £9 is added for K codes too (K255 month 5: pay adjustment £1,066.25).
pub fn table_a_unit(code: u32, periods: i64) -> i64 {
    if code == 0 {
        return 0;
    }
    let q = i128::from((code - 1) / 500);
    let r = i128::from((code - 1) % 500 + 1);
    let p = i128::from(periods);
    let remainder_value = ceil_div((r * 10 + 9) * 100, p);
    let unit_500 = ceil_div(500_000, p);
    (remainder_value + q * unit_500) as i64
}

/// Tax due to date `Ln` on taxable pay to date `un` (pence) at period `n` of
/// `periods` (52 or 12), with the bands of a regime (spec 4.4 Stage 3, Appendix D):
///
/// 1. No tax if `Un` is nil or negative (4.3.3).
/// 2. `Tn` = `Un` rounded DOWN to the whole pound (4.4.4).
/// 3. Income test: the band is the first `i` for which `Un` ≤ Cvalue_i, the threshold
///    `c_i` = (B1 + .. + Bi) × n / 52 (or /12) rounded UP to the whole pound
///    (definitions of c and Cvalue).
/// 4. `Ln` = k_{i-1} + (Tn − c_{i-1}) × R_i, with the exact thresholds c and threshold
///    taxes k = Σ Bj Rj × n / 52 (or /12); computed here with exact fractions (the
///    spec's 4-decimal working gives the same pence: see the module tests).
/// 5. `Ln` rounded DOWN to the penny (4.4.4, "round down ... to the nearest multiple
///    of 1p below").
pub fn tax_to_date(un: i64, n: i64, periods: i64, regime: &Regime) -> i64 {
    if un <= 0 {
        return 0;
    }
    let un = i128::from(un);
    let tn = i128::from(floor_pound(un as i64));
    let n = i128::from(n);
    let p = i128::from(periods);
    // Annual cumulative values before the current band: threshold C (pounds) and
    // threshold tax K (pence × basis points).
    let mut c_prev: i128 = 0;
    let mut k_prev: i128 = 0;
    for band in regime.bands {
        let rate = i128::from(band.rate_bp);
        let selected = match band.upper {
            None => true,
            Some(upper) => {
                let cvalue_pounds = ceil_div(i128::from(upper) * n, p);
                un <= cvalue_pounds * 100
            }
        };
        if selected {
            // Ln × p × 10000 = K_{i-1} × n + (Tn × p − C_{i-1} × 100 × n) × R_i
            let scaled = k_prev * n + (tn * p - c_prev * 100 * n) * rate;
            return floor_div(scaled, p * 10_000) as i64;
        }
        let upper = i128::from(band.upper.unwrap_or(0));
        k_prev += (upper - c_prev) * 100 * rate;
        c_prev = upper;
    }
    0
}

/// Tax on the whole of the (pound-rounded) pay at one rate, for codes BR and Dx
/// (spec 5 and 6: Tn = pay rounded down to the pound, tax = Tn × rate; with whole
/// pounds and whole-percent rates the result is exact pence; rounded down otherwise).
pub fn flat_tax(pay: i64, rate_bp: i64) -> i64 {
    if pay <= 0 {
        return 0;
    }
    let tn = i128::from(floor_pound(pay));
    floor_div(tn * i128::from(rate_bp), 10_000) as i64
}

/// The overriding limit of a period (spec 4.5, parameter M; PAYE Regulations 2003
/// reg. 2): `limit_bp` of the pay in the period, rounded down to the penny.
pub fn overriding_limit(pay: i64, limit_bp: i64) -> i64 {
    if pay <= 0 {
        return 0;
    }
    floor_div(i128::from(pay) * i128::from(limit_bp), 10_000) as i64
}

/// The rate of the band at `index`, if the regime has one.
pub fn band_rate(bands: &[Band], index: usize) -> Option<i64> {
    bands.get(index).map(|b| b.rate_bp)
}
