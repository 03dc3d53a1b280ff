//! Native tests of the NI earnings bands an FPS reports (`ni-at-lel`, `ni-lel-pt`,
//! `ni-pt-uel`). Expected figures are computed by hand, not taken from an official
//! worked example (none was available offline), from the thresholds of HMRC "Rates
//! and thresholds for employers 2026 to 2027" (monthly LEL £559, PT £1,048, UEL
//! £4,189) and "... 2025 to 2026" (weekly LEL £125, PT £242, UEL £967), and the
//! band definitions of HMRC's RTI Data Items Guide (Full Payment Submission):
//! earnings at the LEL, above the LEL up to the PT, above the PT up to the UEL.

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{CalcInput, Payslip};
use serde_json::{Value, json};

use super::*;

fn input(gross: i64, date: &str, freq: &str, ytd: &BTreeMap<String, i64>, p: Value) -> CalcInput {
    serde_json::from_value(json!({
        "country": "GB", "pay-date": date, "frequency": freq, "gross": gross,
        "currency": "GBP", "ytd": ytd, "profile": p
    }))
    .expect("valid input")
}

fn monthly(gross: i64) -> Payslip {
    calculate(&input(
        gross,
        "2026-04-30",
        "monthly",
        &BTreeMap::new(),
        json!({"tax-code": "1257L"}),
    ))
    .expect("payslip")
}

fn bands(slip: &Payslip) -> (i64, i64, i64) {
    (
        slip.ytd["ni-at-lel"],
        slip.ytd["ni-lel-pt"],
        slip.ytd["ni-pt-uel"],
    )
}

/// £500 a month is below the LEL of £559 (2026-27): no band is reported.
#[test]
fn below_the_lel_no_band() {
    assert_eq!(bands(&monthly(50_000)), (0, 0, 0));
}

/// £800: £559 at the LEL, £800 - £559 = £241 up to the PT, nothing above it.
#[test]
fn between_lel_and_pt() {
    assert_eq!(bands(&monthly(80_000)), (55_900, 24_100, 0));
}

/// £3,000.50: £559 at the LEL, £1,048 - £559 = £489 up to the PT, £3,000.50 -
/// £1,048 = £1,952.50 up to the UEL.
#[test]
fn between_pt_and_uel() {
    assert_eq!(bands(&monthly(300_050)), (55_900, 48_900, 195_250));
}

/// £6,000: the PT-UEL band stops at the UEL, £4,189 - £1,048 = £3,141; the £1,811
/// above the UEL is in no band.
#[test]
fn above_the_uel() {
    assert_eq!(bands(&monthly(600_000)), (55_900, 48_900, 314_100));
}

/// Exactly at the LEL counts as reaching it; exactly at the PT fills the second band.
#[test]
fn at_the_thresholds() {
    assert_eq!(bands(&monthly(55_900)), (55_900, 0, 0));
    assert_eq!(bands(&monthly(104_800)), (55_900, 48_900, 0));
}

/// 2025-26 weekly thresholds, and a fortnightly payment with twice the weekly
/// figures (LEL £250, PT £484): £400 fortnightly is £250 + £150 + 0.
#[test]
fn weekly_and_fortnightly_2025_26() {
    let p = json!({"tax-code": "1257L"});
    let w = calculate(&input(
        30_000,
        "2025-04-11",
        "weekly",
        &BTreeMap::new(),
        p.clone(),
    ))
    .expect("weekly");
    // £300 a week: LEL £125, £242 - £125 = £117, £300 - £242 = £58.
    assert_eq!(bands(&w), (12_500, 11_700, 5_800));
    let f = calculate(&input(
        40_000,
        "2025-04-11",
        "biweekly",
        &BTreeMap::new(),
        p,
    ))
    .expect("fortnightly");
    assert_eq!(bands(&f), (25_000, 15_000, 0));
}

/// The bands add up over the year: a second month of £800 after the first.
#[test]
fn bands_accumulate_year_to_date() {
    let first = monthly(80_000);
    let second = calculate(&input(
        300_000,
        "2026-05-29",
        "monthly",
        &first.ytd,
        json!({"tax-code": "1257L"}),
    ))
    .expect("second");
    // £559 + £559, £241 + £489, 0 + £1,952.
    assert_eq!(bands(&second), (111_800, 73_000, 195_200));
}

/// A category X employee (not liable) has no bands, a category C one (over State
/// Pension age, no employee NICs) does.
#[test]
fn category_x_has_none_c_has_them() {
    let x = calculate(&input(
        300_000,
        "2026-04-30",
        "monthly",
        &BTreeMap::new(),
        json!({"tax-code": "1257L", "ni-category": "X"}),
    ))
    .expect("X");
    assert_eq!(bands(&x), (0, 0, 0));
    let c = calculate(&input(
        300_000,
        "2026-04-30",
        "monthly",
        &BTreeMap::new(),
        json!({"tax-code": "1257L", "ni-category": "C"}),
    ))
    .expect("C");
    assert_eq!(bands(&c), (55_900, 48_900, 195_200));
}

/// A bonus in the same tax month is aggregated with the regular pay: £3,000 then
/// £2,000 make £5,000 for the month, whose bands are £559, £489 and £3,141; the
/// regular payment reported £559, £489, £1,952, so the bonus adds 0, 0, £1,189.
#[test]
fn a_bonus_adds_what_the_aggregated_period_brings() {
    let regular = monthly(300_000);
    let bonus = calculate(&input(
        200_000,
        "2026-04-30",
        "monthly",
        &regular.ytd,
        json!({"tax-code": "1257L", "payment": "bonus"}),
    ))
    .expect("bonus");
    assert_eq!(bands(&bonus), (55_900, 48_900, 314_100));
    let added = (
        bands(&bonus).0 - bands(&regular).0,
        bands(&bonus).1 - bands(&regular).1,
        bands(&bonus).2 - bands(&regular).2,
    );
    assert_eq!(added, (0, 0, 118_900));
}

/// A bonus that lifts a month below the LEL over the PT reports every band.
#[test]
fn a_bonus_lifting_pay_over_the_lel() {
    let regular = monthly(40_000);
    assert_eq!(bands(&regular), (0, 0, 0));
    let bonus = calculate(&input(
        100_000,
        "2026-04-30",
        "monthly",
        &regular.ytd,
        json!({"tax-code": "1257L", "payment": "bonus"}),
    ))
    .expect("bonus");
    // £1,400 in the month: £559, £489, £352.
    assert_eq!(bands(&bonus), (55_900, 48_900, 35_200));
}

/// The codes are read back as input; an unknown code is still refused.
#[test]
fn band_codes_are_accepted_as_input() {
    let ytd = BTreeMap::from([("ni-pt-uel".to_string(), 10_000)]);
    let slip = calculate(&input(
        80_000,
        "2026-05-29",
        "monthly",
        &ytd,
        json!({"tax-code": "1257L"}),
    ))
    .expect("slip");
    assert_eq!(bands(&slip), (55_900, 24_100, 10_000));
}
