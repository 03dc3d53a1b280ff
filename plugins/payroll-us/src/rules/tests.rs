// Cent literals are grouped as dollars and cents, as in params.rs.
#![allow(clippy::inconsistent_digit_grouping)]

use std::collections::BTreeMap;

use backoffice_sdk::Error;
use backoffice_sdk::payroll::{CalcInput, Frequency, LineKind};
use serde_json::{Value, json};

use super::params::{self, Schedule, YearParams};
use super::*;

const FIXTURE: &str = include_str!("../../../../tests/data/payroll/us.json");

#[test]
fn fixture_cases() {
    let problems = backoffice_sdk::payroll::fixture_problems(FIXTURE, "US", calculate);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn input(value: Value) -> CalcInput {
    let mut base = json!({
        "country": "US",
        "pay-date": "2025-04-30",
        "frequency": "monthly",
        "gross": 500000,
        "currency": "USD",
        "ytd": {},
        "profile": {"filing-status": "single"}
    });
    if let (Some(b), Some(v)) = (base.as_object_mut(), value.as_object()) {
        for (k, x) in v {
            b.insert(k.clone(), x.clone());
        }
    }
    serde_json::from_value(base).expect("valid CalcInput")
}

fn invalid(value: Value) -> String {
    match calculate(&input(value)) {
        Err(Error::InvalidInput(msg)) => msg,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn base_input_is_valid() {
    let slip = calculate(&input(json!({}))).expect("valid");
    assert_eq!(slip.tax_year, "2025");
    assert_eq!(slip.period, None);
    assert_eq!(slip.total(LineKind::EmployeeTax), 43013);
}

#[test]
fn rejects_wrong_country() {
    let msg = invalid(json!({"country": "GB"}));
    assert!(msg.contains("\"GB\"") && msg.contains("\"US\""), "{msg}");
}

#[test]
fn rejects_wrong_currency() {
    let msg = invalid(json!({"currency": "EUR"}));
    assert!(msg.contains("\"EUR\"") && msg.contains("USD"), "{msg}");
}

#[test]
fn rejects_negative_gross() {
    let msg = invalid(json!({"gross": -1}));
    assert!(msg.contains("gross -1"), "{msg}");
}

#[test]
fn rejects_huge_gross() {
    let msg = invalid(json!({"gross": MAX_AMOUNT + 1}));
    assert!(msg.contains("gross"), "{msg}");
}

#[test]
fn rejects_four_weekly() {
    let msg = invalid(json!({"frequency": "four-weekly"}));
    assert!(
        msg.contains("four-weekly") && msg.contains("weekly, biweekly, semi-monthly"),
        "{msg}"
    );
}

#[test]
fn rejects_bad_dates() {
    for bad in [
        "2025-4-30",
        "30/04/2025",
        "2025-02-29",
        "2025-13-01",
        "2025-00-10",
        "x",
    ] {
        let msg = invalid(json!({"pay-date": bad}));
        assert!(msg.contains(bad) && msg.contains("YYYY-MM-DD"), "{msg}");
    }
}

#[test]
fn rejects_unsupported_tax_year() {
    let msg = invalid(json!({"pay-date": "2024-12-31"}));
    assert_eq!(
        msg,
        "pay date 2024-12-31 is in tax year 2024; payroll-us has rules for 2025 and 2026"
    );
    let msg = invalid(json!({"pay-date": "2027-01-01"}));
    assert!(msg.contains("tax year 2027"), "{msg}");
}

#[test]
fn rejects_unknown_profile_field() {
    let msg = invalid(json!({"profile": {"allowances": 2}}));
    assert!(
        msg.contains("\"allowances\"") && msg.contains("filing-status"),
        "{msg}"
    );
}

#[test]
fn rejects_bad_profile_values() {
    let msg = invalid(json!({"profile": {"filing-status": "married"}}));
    assert!(
        msg.contains("\"married\"") && msg.contains("married-filing-jointly"),
        "{msg}"
    );
    let msg = invalid(json!({"profile": {"multiple-jobs": "yes"}}));
    assert!(
        msg.contains("multiple-jobs") && msg.contains("true or false"),
        "{msg}"
    );
    let msg = invalid(json!({"profile": {"dependents-amount": -100}}));
    assert!(
        msg.contains("dependents-amount") && msg.contains("-100"),
        "{msg}"
    );
    let msg = invalid(json!({"profile": {"deductions": 12.5}}));
    assert!(msg.contains("deductions") && msg.contains("12.5"), "{msg}");
    let msg = invalid(json!({"profile": [1]}));
    assert!(msg.contains("profile must be a JSON object"), "{msg}");
}

#[test]
fn rejects_exempt_with_adjustments() {
    let msg = invalid(json!({"profile": {"exempt": true, "extra-withholding": 1000}}));
    assert!(
        msg.contains("exempt") && msg.contains("extra-withholding"),
        "{msg}"
    );
}

#[test]
fn rejects_bad_ytd() {
    let msg = invalid(json!({"ytd": {"wages": 1}}));
    assert!(
        msg.contains("\"wages\"") && msg.contains("medicare-wages"),
        "{msg}"
    );
    let msg = invalid(json!({"ytd": {"medicare-wages": -5}}));
    assert!(msg.contains("medicare-wages is -5"), "{msg}");
    let msg = invalid(json!({"ytd": {"social-security-wages": 17610001}}));
    assert!(
        msg.contains("17610001") && msg.contains("wage base"),
        "{msg}"
    );
}

#[test]
fn rounding_helpers() {
    assert_eq!(round_div(5, 2), 3); // half up
    assert_eq!(round_div(7, 3), 2);
    assert_eq!(round_div(8, 3), 3);
    assert_eq!(round_div(-5, 2), -3); // half away from zero
    assert_eq!(round_div(0, 7), 0);
    assert_eq!(round_div(516150, 12), 43013); // 430.125 -> 430.13
    assert_eq!(percent_bp(333333, 145), 4833); // 48.333 -> 48.33
    assert_eq!(percent_bp(50, 90), 0); // 0.45 cent -> 0
    assert_eq!(percent_bp(100, 50), 1); // 0.5 cent -> 1
    assert_eq!(round_to_dollar(43013), 43000); // 13 cents dropped
    assert_eq!(round_to_dollar(19455), 19500); // 55 cents raised
    assert_eq!(round_to_dollar(19450), 19500); // 50 cents raised
    assert_eq!(round_to_dollar(19449), 19400);
}

#[test]
fn dates() {
    assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
    assert_eq!(parse_date("2100-02-29"), None);
    assert_eq!(parse_date("2000-02-29"), Some((2000, 2, 29)));
    assert_eq!(parse_date("2025-04-31"), None);
    assert_eq!(parse_date("+025-04-30"), None);
}

#[test]
fn find_row_uses_at_least() {
    let s = &params::Y2025.standard.single;
    assert_eq!(find_row(s, 0).percent, 0);
    assert_eq!(find_row(s, 6_400_00 - 1).percent, 0);
    assert_eq!(find_row(s, 6_400_00).percent, 10);
    assert_eq!(find_row(s, 632_750_00).percent, 37);
    assert_eq!(find_row(s, i64::MAX / 4).percent, 37);
}

#[test]
fn support_and_schema() {
    let s = support();
    assert_eq!(s.countries, vec!["US".to_string()]);
    assert_eq!(s.currency, "USD");
    assert_eq!(s.tax_years, vec!["2025".to_string(), "2026".to_string()]);
    assert!(!s.frequencies.contains(&Frequency::FourWeekly));
    let schema = profile_schema();
    assert_eq!(schema["additionalProperties"], json!(false));
    let props = schema["properties"].as_object().expect("properties");
    assert_eq!(props.len(), 17);
    for (k, v) in props {
        assert!(v["description"].is_string(), "{k} has no description");
    }
    // Every field the schema lists is accepted by the parser, and nothing else.
    let mut full = serde_json::Map::new();
    // (`state` and `employer` have no default: left out, none applies.)
    for k in props.keys().filter(|k| !props[*k]["default"].is_null()) {
        full.insert(k.clone(), props[k]["default"].clone());
    }
    assert_eq!(full.len(), 15);
    assert_eq!(parse_profile(&Value::Object(full)), Ok(Profile::default()));
}

/// The tax rate schedules and standard deductions the Pub. 15-T tables are built
/// from: Rev. Proc. 2024-40 sections 3.01 and 3.15 (2025, as used for the 2025
/// Pub. 15-T, before P.L. 119-21) and Rev. Proc. 2025-32 sections 4.01 and 4.14
/// (2026). Bracket tops in dollars for 10%, 12%, 22%, 24%, 32%, 35%.
struct Law {
    year: &'static YearParams,
    /// (standard deduction, bracket tops) for MFJ, single, HoH.
    mfj: (i64, [i64; 6]),
    single: (i64, [i64; 6]),
    hoh: (i64, [i64; 6]),
}

const LAW: [Law; 2] = [
    Law {
        year: &params::Y2025,
        mfj: (30_000, [23_850, 96_950, 206_700, 394_600, 501_050, 751_600]),
        single: (15_000, [11_925, 48_475, 103_350, 197_300, 250_525, 626_350]),
        hoh: (22_500, [17_000, 64_850, 103_350, 197_300, 250_500, 626_350]),
    },
    Law {
        year: &params::Y2026,
        mfj: (
            32_200,
            [24_800, 100_800, 211_400, 403_550, 512_450, 768_700],
        ),
        single: (16_100, [12_400, 50_400, 105_700, 201_775, 256_225, 640_600]),
        hoh: (24_150, [17_700, 67_450, 105_700, 201_750, 256_200, 640_600]),
    },
];

const RATES: [i64; 7] = [10, 12, 22, 24, 32, 35, 37];

/// Tax in cents × 2 at the top of each bracket (× 2 so halves stay exact).
fn doubled_tax_at_tops(tops: &[i64; 6]) -> [i64; 6] {
    let mut out = [0; 6];
    let mut acc = 0; // cents
    let mut lo = 0;
    for (i, top) in tops.iter().enumerate() {
        acc += (top - lo) * RATES[i]; // dollars × percent = cents
        lo = *top;
        out[i] = acc * 2;
    }
    out
}

fn check(s: &Schedule, expected: [(i64, i64); 8], what: &str) {
    for (i, (row, (over, base))) in s.iter().zip(expected).enumerate() {
        assert_eq!(row.over, over, "{what} row {i} column A");
        assert_eq!(row.base, base, "{what} row {i} column C");
        let pct = if i == 0 { 0 } else { RATES[i - 1] };
        assert_eq!(row.percent, pct, "{what} row {i} column D");
    }
}

#[test]
fn tables_follow_the_tax_rate_schedules() {
    for law in &LAW {
        let y = law.year;
        for (name, (std_ded, tops), line_1g, standard, checkbox) in [
            (
                "married filing jointly",
                law.mfj,
                y.line_1g_married_filing_jointly,
                &y.standard.married_filing_jointly,
                &y.checkbox.married_filing_jointly,
            ),
            (
                "single",
                law.single,
                y.line_1g_other,
                &y.standard.single,
                &y.checkbox.single,
            ),
            (
                "head of household",
                law.hoh,
                y.line_1g_other,
                &y.standard.head_of_household,
                &y.checkbox.head_of_household,
            ),
        ] {
            let taxes = doubled_tax_at_tops(&tops);
            // STANDARD: brackets shifted by (standard deduction − line 1g).
            let shift = std_ded * 100 - line_1g;
            let mut exp = [(0, 0); 8];
            exp[1] = (shift, 0);
            for i in 0..6 {
                exp[i + 2] = (shift + tops[i] * 100, taxes[i] / 2);
            }
            check(standard, exp, &format!("{} STANDARD {name}", y.year));
            // Checkbox: half the standard deduction plus half of each bracket top,
            // rounded up to the dollar; base = half the tax, rounded to the cent.
            let mut exp = [(0, 0); 8];
            exp[1] = (std_ded * 50, 0);
            for i in 0..6 {
                let half_dollars_x2 = std_ded + tops[i]; // 2 × (S/2 + top/2)
                let over = (half_dollars_x2 + 1) / 2 * 100;
                let base = round_div(taxes[i], 4);
                exp[i + 2] = (over, base);
            }
            check(checkbox, exp, &format!("{} Checkbox {name}", y.year));
        }
    }
}

#[test]
fn ytd_accumulates_over_a_year() {
    // Twelve monthly payments of $20,000 in 2025: Social Security stops at the wage
    // base, Additional Medicare starts above $200,000.
    let mut ytd: BTreeMap<String, i64> = BTreeMap::new();
    for month in 1..=12 {
        let mut inp = input(json!({"gross": 2_000_000, "pay-date": format!("2025-{month:02}-28")}));
        inp.ytd = ytd.clone();
        let slip = calculate(&inp).expect("valid");
        ytd = slip.ytd;
    }
    assert_eq!(ytd["gross"], 24_000_000);
    assert_eq!(ytd["social-security-wages"], 17_610_000);
    assert_eq!(ytd["medicare-wages"], 24_000_000);
    assert_eq!(ytd["social-security"], 1_091_820); // 6.2% of $176,100
    assert_eq!(ytd["medicare"], 348_000);
    assert_eq!(ytd["additional-medicare"], 36_000); // 0.9% of $40,000
}

#[test]
fn refuses_an_unsupported_state_naming_the_supported_ones() {
    let msg = invalid(json!({"profile": {"state": "OR"}}));
    assert!(
        msg.contains("\"OR\"")
            && msg.contains("IL, PA (income tax withheld)")
            && msg.contains("AK, FL, NV, NH, SD, TN, TX, WA, WY"),
        "{msg}"
    );
    // Lower case is not a state code.
    let msg = invalid(json!({"profile": {"state": "pa"}}));
    assert!(msg.contains("\"pa\" is not supported"), "{msg}");
}

#[test]
fn refuses_california_and_new_york_naming_the_missing_tables() {
    // California and New York have a wage income tax but are not implemented: the
    // refusal says so, names the publication whose tables are missing, and lists the
    // states that are supported. Nothing is computed, whatever the year.
    for year in ["2025-06-30", "2026-06-30"] {
        let msg = invalid(json!({"pay-date": year, "profile": {"state": "CA"}}));
        assert!(
            msg.contains("profile state \"CA\"")
                && msg.contains("EDD DE 44 California Withholding Schedules, Method B")
                && msg.contains("not implemented in payroll-us")
                && msg.contains("supported states: IL, PA (income tax withheld)"),
            "{msg}"
        );
        let msg = invalid(json!({"pay-date": year, "profile": {"state": "NY"}}));
        assert!(
            msg.contains("profile state \"NY\"")
                && msg.contains("NYS-50-T-NYS")
                && msg.contains("nor New York City or Yonkers withholding")
                && msg.contains("AK, FL, NV, NH, SD, TN, TX, WA, WY"),
            "{msg}"
        );
    }
    // The states stay out of the accepted list.
    let accepted = super::state::supported();
    assert!(!accepted.contains(&"CA") && !accepted.contains(&"NY"));
}

#[test]
fn refuses_a_401k_above_the_pay() {
    let msg = invalid(json!({"gross": 100000, "profile": {"401k": 90000, "section-125": 20000}}));
    assert!(
        msg.contains("above the pay of the period ($1,000.00)") && msg.contains("$1,100.00"),
        "{msg}"
    );
    // Deductions that fit but leave too little for the taxes are refused too.
    let msg = invalid(json!({"gross": 100000, "profile": {"401k": 99000, "state": "PA"}}));
    assert!(msg.contains("exceed the pay"), "{msg}");
}

#[test]
fn refuses_a_deferral_beyond_the_annual_limit() {
    let msg = invalid(json!({"pay-date": "2025-12-31", "ytd": {"401k": 2_300_000},
                             "profile": {"401k": 100_000}}));
    assert!(
        msg.contains("$23,500.00")
            && msg.contains("IRS Notice 2024-80")
            && msg.contains("at most $500.00"),
        "{msg}"
    );
    let msg = invalid(json!({"pay-date": "2026-12-31", "ytd": {"401k": 3_200_000},
                             "profile": {"401k": 100_000, "401k-catch-up": "age-50"}}));
    assert!(
        msg.contains("$32,500.00") && msg.contains("IRS Notice 2025-67"),
        "{msg}"
    );
    let msg = invalid(json!({"profile": {"401k-catch-up": "age-55"}}));
    assert!(msg.contains("age-60-63"), "{msg}");
}

#[test]
fn a_zero_payslip_takes_no_deduction() {
    // set-employee checks a profile with a zero gross: it must pass.
    let slip = calculate(&input(json!({"gross": 0, "profile": {
        "401k": 50000, "section-125": 10000, "state": "IL", "il-basic-allowances": 1,
        "employer": {"suta": {"IL": {"rate": "3.175", "wage-base": 1_375_000}}}}})))
    .expect("valid");
    assert!(slip.lines.is_empty(), "{:?}", slip.lines);
    assert_eq!(slip.net, 0);
}

#[test]
fn state_fields_are_checked() {
    let msg = invalid(json!({"pay-date": "2026-01-30", "profile": {"state": "IL"}}));
    assert!(
        msg.contains("Illinois") && msg.contains("2026") && msg.contains("2025"),
        "{msg}"
    );
    let msg = invalid(json!({"profile": {"state": "PA", "il-basic-allowances": 1}}));
    assert!(msg.contains("Illinois only"), "{msg}");
    let msg = invalid(json!({"profile": {"il-basic-allowances": 1}}));
    assert!(msg.contains("need profile state"), "{msg}");
    let msg = invalid(json!({"profile": {"state": "TX", "state-extra-withholding": 100}}));
    assert!(msg.contains("TX has no state income tax"), "{msg}");
    let msg = invalid(json!({"profile": {"il-basic-allowances": 100}}));
    assert!(msg.contains("0 to 99"), "{msg}");
    let msg = invalid(json!({"profile": {"state": "PA",
        "employer": {"suta": {"OR": {"rate": "2.4", "wage-base": 5_460_000}}}}}));
    assert!(
        msg.contains("employer.suta") && msg.contains("\"OR\""),
        "{msg}"
    );
    // A state without a SUTA set-up computes none, and says so.
    let slip = calculate(&input(json!({"profile": {"state": "PA",
        "employer": {"suta": {"IL": {"rate": "3.175", "wage-base": 1_375_000}}}}})))
    .expect("valid");
    assert!(slip.lines.iter().all(|l| !l.code.starts_with("us-suta")));
    assert!(
        slip.notes
            .iter()
            .any(|n| n.contains("No state unemployment (SUTA) rate set up for PA")),
        "{:?}",
        slip.notes
    );
}
