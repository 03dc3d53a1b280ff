//! Native tests: the shared fixture, every validation error and the rounding helpers.

use backoffice_sdk::payroll::{CalcInput, Frequency};
use serde_json::{Value, json};

use super::params::{Band, Regime};
use super::*;

const FIXTURE: &str = include_str!("../../../../tests/data/payroll/gb.json");

fn input(value: Value) -> CalcInput {
    serde_json::from_value(value).expect("valid CalcInput")
}

fn base() -> Value {
    json!({
        "country": "GB",
        "pay-date": "2025-04-30",
        "frequency": "monthly",
        "gross": 300000,
        "currency": "GBP",
        "ytd": {},
        "profile": {"tax-code": "1257L"}
    })
}

fn with(key: &str, value: Value) -> CalcInput {
    let mut v = base();
    v[key] = value;
    input(v)
}

fn error_of(i: &CalcInput) -> String {
    match calculate(i) {
        Ok(slip) => panic!("expected an error, got {slip:?}"),
        Err(e) => {
            assert_eq!(e.kind(), "invalid-input", "{e:?}");
            e.message().to_string()
        }
    }
}

#[test]
fn fixture_cases_all_match() {
    let problems = backoffice_sdk::payroll::fixture_problems(FIXTURE, "GB", calculate);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// --- The PAYE routine against HMRC's own published test data -----------------------

/// HMRC, "Notes for payroll software developers", Annex B "Test Data 2009-2010": the
/// only official expected figures of the routine we have; 2009-10 parameters: basic
/// rate 20% up to £37,400, higher rate 40% (up to £150,000 only from 2010-11; the top
/// band is irrelevant to these rows).
const BANDS_2009: &[Band] = &[
    Band {
        upper: Some(37_400),
        rate_bp: 2000,
    },
    Band {
        upper: None,
        rate_bp: 4000,
    },
];
const REGIME_2009: Regime = Regime {
    name: "2009-10",
    bands: BANDS_2009,
    basic: 0,
};

#[test]
fn hmrc_2009_10_test_data_annex_b() {
    // (code, periods, n, gross to date pence, pay adjustment, taxable pay, tax due)
    let rows: [(u32, bool, i64, i64, i64, i64, i64); 6] = [
        (510, false, 8, 204_615, 78_608, 126_007, 25_200),
        (510, false, 29, 309_122, 284_954, 24_168, 4_820),
        (560, false, 3, 275_000, 140_226, 134_774, 26_940),
        (560, false, 10, 2_128_775, 467_420, 1_661_355, 332_260),
        (255, true, 5, 602_366, 106_625, 708_991, 141_780),
        (255, true, 8, 3_279_998, 170_600, 3_450_598, 881_533),
    ];
    for (i, (code, k, n, gross, adjustment, taxable, tax)) in rows.into_iter().enumerate() {
        // Rows 0-1 are weekly, 2-5 monthly.
        let periods = if i < 2 { 52 } else { 12 };
        let adj = paye::table_a_unit(code, periods) * n;
        assert_eq!(adj, adjustment, "row {i}: pay adjustment");
        let un = if k { gross + adj } else { gross - adj };
        assert_eq!(un, taxable, "row {i}: taxable pay");
        assert_eq!(
            paye::tax_to_date(un, n, periods, &REGIME_2009),
            tax,
            "row {i}: tax due"
        );
    }
}

// --- Rounding helpers -------------------------------------------------------------

#[test]
fn table_a_rounds_up_to_the_penny_and_splits_by_500() {
    // 1257: 2 x 500 + 257; monthly (2,579/12 = 214.9166 -> 214.92) + 2 x 416.67.
    assert_eq!(paye::table_a_unit(1257, 12), 104_826);
    // weekly (2,579/52 = 49.596 -> 49.60) + 2 x 96.16.
    assert_eq!(paye::table_a_unit(1257, 52), 24_192);
    assert_eq!(paye::table_a_unit(0, 12), 0);
    // code 1: (19/12 = 1.5833 -> 1.59); code 500 stays in one piece: 5,009/12 -> 417.42.
    assert_eq!(paye::table_a_unit(1, 12), 159);
    assert_eq!(paye::table_a_unit(500, 12), 41_742);
    // code 501: 1 x 416.67 + (19/12 -> 1.59).
    assert_eq!(paye::table_a_unit(501, 12), 41_826);
}

#[test]
fn tax_to_date_rounds_taxable_pay_down_to_the_pound_and_tax_down_to_the_penny() {
    let ruk = &params::YEARS[0].ruk;
    // £1,951.99 taxable -> £1,951 -> £390.20.
    assert_eq!(paye::tax_to_date(195_199, 1, 12, ruk), 39_020);
    assert_eq!(paye::tax_to_date(0, 1, 12, ruk), 0);
    assert_eq!(paye::tax_to_date(-5_000, 1, 12, ruk), 0);
    // Income test on the Cvalue: month 1 basic limit 37,700/12 = 3,141.67 -> £3,142.
    // Un £3,142.00 stays in the basic band: 20% of 3,142.
    assert_eq!(paye::tax_to_date(314_200, 1, 12, ruk), 62_840);
    // Un £3,142.01 takes the higher formula: 628.3333 + (3,142 - 3,141.6667) x 40%
    // = 628.4666 -> £628.46.
    assert_eq!(paye::tax_to_date(314_201, 1, 12, ruk), 62_846);
}

#[test]
fn flat_and_limit_round_down() {
    assert_eq!(paye::flat_tax(100_099, 2000), 20_000);
    assert_eq!(paye::flat_tax(0, 2000), 0);
    assert_eq!(paye::overriding_limit(20_001, 5000), 10_000);
    assert_eq!(paye::floor_pound(12_345), 12_300);
    assert_eq!(paye::ceil_div(7, 2), 4);
    assert_eq!(paye::ceil_div(-7, 2), -3);
    assert_eq!(paye::floor_div(-7, 2), -4);
}

#[test]
fn ni_rounds_to_nearest_penny_half_down() {
    assert_eq!(ni::round_half_down(45_000), 4); // 4.5p -> 4p
    assert_eq!(ni::round_half_down(45_001), 5);
    assert_eq!(ni::round_half_down(44_999), 4);
    assert_eq!(ni::round_half_down(0), 0);
}

#[test]
fn ni_thresholds_multiply_for_fortnightly_and_four_weekly() {
    let w = params::YEARS[0].ni_weekly;
    assert_eq!(w.times(2).pt, 484);
    assert_eq!(w.times(4).uel, 3_868);
}

// --- Validation -----------------------------------------------------------------

#[test]
fn rejects_wrong_country() {
    let m = error_of(&with("country", json!("US")));
    assert!(m.contains("country 'US'") && m.contains("'GB'"), "{m}");
}

#[test]
fn rejects_wrong_currency() {
    let m = error_of(&with("currency", json!("EUR")));
    assert!(m.contains("currency 'EUR'") && m.contains("GBP"), "{m}");
}

#[test]
fn rejects_negative_gross() {
    let m = error_of(&with("gross", json!(-1)));
    assert!(m.contains("gross -1"), "{m}");
}

#[test]
fn rejects_unsupported_frequency() {
    for f in ["semi-monthly", "quarterly", "annual"] {
        let m = error_of(&with("frequency", json!(f)));
        assert!(
            m.contains(&format!("frequency '{f}'")) && m.contains("four-weekly"),
            "{m}"
        );
    }
}

#[test]
fn rejects_bad_and_unsupported_pay_dates() {
    for d in [
        "2025-4-30",
        "30/04/2025",
        "2025-02-29",
        "2025-13-01",
        "2025-04-31",
        "",
    ] {
        let m = error_of(&with("pay-date", json!(d)));
        assert!(
            m.contains(&format!("pay-date '{d}'")) && m.contains("YYYY-MM-DD"),
            "{m}"
        );
    }
    let m = error_of(&with("pay-date", json!("2025-04-05")));
    assert_eq!(
        m,
        "pay date 2025-04-05 is in tax year 2024-25; payroll-gb has rules for 2025-26 and 2026-27"
    );
    let m = error_of(&with("pay-date", json!("2027-04-06")));
    assert!(m.contains("tax year 2027-28"), "{m}");
}

#[test]
fn accepts_first_and_last_days_of_the_supported_years() {
    let slip = calculate(&with("pay-date", json!("2025-04-06"))).expect("ok");
    assert_eq!((slip.tax_year.as_str(), slip.period), ("2025-26", Some(1)));
    let slip = calculate(&with("pay-date", json!("2027-04-05"))).expect("ok");
    assert_eq!((slip.tax_year.as_str(), slip.period), ("2026-27", Some(12)));
}

#[test]
fn tax_weeks_and_months() {
    let d = |s: &str| Date::parse(s).expect("date");
    assert_eq!(d("2025-05-05").tax_month(), 1);
    assert_eq!(d("2025-05-06").tax_month(), 2);
    assert_eq!(d("2026-01-05").tax_month(), 9);
    assert_eq!(d("2026-03-06").tax_month(), 12);
    assert_eq!(d("2025-04-12").days_since(2025, 4, 6) / 7 + 1, 1);
    assert_eq!(d("2025-04-13").days_since(2025, 4, 6) / 7 + 1, 2);
    assert_eq!(d("2026-04-05").days_since(2025, 4, 6) / 7 + 1, 53);
}

#[test]
fn rejects_unknown_and_malformed_profile_fields() {
    let m = error_of(&with(
        "profile",
        json!({"tax-code": "1257L", "region": "S"}),
    ));
    assert!(
        m.contains("profile field 'region'") && m.contains("'tax-code'"),
        "{m}"
    );
    let m = error_of(&with("profile", json!({})));
    assert!(m.contains("profile.tax-code is required"), "{m}");
    let m = error_of(&with("profile", json!({"tax-code": 1257})));
    assert!(m.contains("profile.tax-code must be a string"), "{m}");
    let m = error_of(&with("profile", json!("1257L")));
    assert!(m.contains("profile must be a JSON object"), "{m}");
    let m = error_of(&with(
        "profile",
        json!({"tax-code": "1257L", "basis": "annual"}),
    ));
    assert!(
        m.contains("profile.basis 'annual'") && m.contains("week1-month1"),
        "{m}"
    );
    let m = error_of(&with(
        "profile",
        json!({"tax-code": "1257L M1", "basis": "cumulative"}),
    ));
    assert!(m.contains("contradicts"), "{m}");
    let m = error_of(&with(
        "profile",
        json!({"tax-code": "1257L", "ni-category": "F"}),
    ));
    assert!(
        m.contains("profile.ni-category 'F'") && m.contains("A, B, C, H, J, M, X, Z"),
        "{m}"
    );
}

#[test]
fn rejects_malformed_tax_codes() {
    for code in [
        "",
        "1257",
        "1257P",
        "L",
        "K",
        "K0",
        "KL",
        "D",
        "D12",
        "S",
        "1257L W2",
        "1257L M1 X",
        "12345678L",
        "XBR",
        "B R",
    ] {
        let m = error_of(&with("profile", json!({"tax-code": code})));
        assert!(
            m.contains(&format!("profile.tax-code '{code}'")),
            "{code}: {m}"
        );
    }
    // D2 exists only with Scottish rates.
    let m = error_of(&with("profile", json!({"tax-code": "D2"})));
    assert!(
        m.contains("D2 does not exist with rest of UK rates") && m.contains("D0 to D1"),
        "{m}"
    );
    let m = error_of(&with("profile", json!({"tax-code": "SD4"})));
    assert!(m.contains("D0 to D3"), "{m}");
    assert!(calculate(&with("profile", json!({"tax-code": "SD2"}))).is_ok());
}

#[test]
fn parses_tax_codes() {
    let c = TaxCode::parse(" s1257l  m1 ").expect("code");
    assert_eq!(c.text, "S1257L M1");
    assert_eq!(
        (c.region, c.body, c.week1),
        (Region::Scotland, CodeBody::Suffix(1257), true)
    );
    let c = TaxCode::parse("CK475").expect("code");
    assert_eq!(
        (c.region, c.body, c.week1),
        (Region::Wales, CodeBody::K(475), false)
    );
    assert_eq!(TaxCode::parse("0T").expect("0T").body, CodeBody::Suffix(0));
    assert_eq!(TaxCode::parse("NT").expect("NT").body, CodeBody::Nt);
    assert_eq!(TaxCode::parse("SBR").expect("SBR").body, CodeBody::Br);
    assert_eq!(TaxCode::parse("D1 X").expect("D1").body, CodeBody::D(1));
}

#[test]
fn rejects_unknown_and_negative_ytd() {
    let m = error_of(&with("ytd", json!({"gross": 100})));
    assert!(
        m.contains("ytd code 'gross'") && m.contains("taxable-pay"),
        "{m}"
    );
    let m = error_of(&with("ytd", json!({"taxable-pay": -1})));
    assert!(m.contains("ytd.taxable-pay -1"), "{m}");
}

#[test]
fn support_and_schema() {
    let s = support();
    assert_eq!(s.tax_years, vec!["2025-26", "2026-27"]);
    assert_eq!(s.frequencies.len(), 4);
    assert!(s.frequencies.contains(&Frequency::FourWeekly));
    let schema = profile_schema();
    assert_eq!(schema["additionalProperties"], json!(false));
    for (name, prop) in schema["properties"].as_object().expect("properties") {
        assert!(prop["description"].is_string(), "{name} has a description");
    }
}

#[test]
fn money_formats_pounds() {
    assert_eq!(money(123_456_789), "£1,234,567.89");
    assert_eq!(money(-5), "-£0.05");
    assert_eq!(money(100_000), "£1,000.00");
}

/// Found by fuzzing (issue 16): a code ending in a character of more than one byte
/// cut the text inside that character and panicked.
#[test]
fn a_tax_code_ending_in_a_multibyte_character_is_refused() {
    for code in ["1257¥", "S1257€", "𞣔L\\N$=ꚑ¥", "¥"] {
        let m = error_of(&with("profile", json!({ "tax-code": code })));
        assert!(m.contains("is not a valid tax code"), "{code}: {m}");
    }
}

/// Found by fuzzing (issue 16): a gross or year-to-date figure near `i64::MAX`
/// overflowed the cumulative pay to date.
#[test]
fn amounts_beyond_the_largest_accepted_are_refused() {
    let m = error_of(&with("gross", json!(i64::MAX)));
    assert!(m.contains("above the largest amount accepted"), "{m}");
    let m = error_of(&with("ytd", json!({ "taxable-pay": i64::MAX })));
    assert!(m.contains("ytd.taxable-pay"), "{m}");
    let mut v = base();
    v["gross"] = json!(MAX_AMOUNT);
    v["ytd"] = json!({ "taxable-pay": MAX_AMOUNT * 100, "tax": MAX_AMOUNT * 100 });
    assert!(calculate(&input(v)).is_ok());
}
