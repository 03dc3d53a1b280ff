//! Native tests of Midijobs, Minijobs and Umlagen: classification and every refusal.

use backoffice_sdk::Error;
use backoffice_sdk::payroll::CalcInput;
use serde_json::{Value, json};

use super::calculate;

fn input(gross: i64, profile: Value) -> CalcInput {
    serde_json::from_value(json!({
        "country": "DE", "pay-date": "2026-03-31", "frequency": "monthly",
        "gross": gross, "currency": "EUR", "profile": profile
    }))
    .expect("valid input")
}

fn err(i: &CalcInput) -> String {
    match calculate(i) {
        Err(Error::InvalidInput(m)) => m,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

fn amount(i: &CalcInput, code: &str) -> Option<i64> {
    let slip = calculate(i).expect("computes");
    slip.lines.iter().find(|l| l.code == code).map(|l| l.amount)
}

#[test]
fn minijob_above_the_limit_is_refused_with_the_limit() {
    let msg = err(&input(
        60_301,
        json!({"bundesland": "BE", "beschaeftigung": "minijob"}),
    ));
    assert!(
        msg.contains("603.01 EUR for a monthly period is above the Minijob limit"),
        "{msg}"
    );
    assert!(msg.contains("603.00 EUR a month in 2026"), "{msg}");
    assert!(msg.contains("\"midijob\""), "{msg}");
    // 2025's limit is 556.
    let mut i = input(
        55_601,
        json!({"bundesland": "BE", "beschaeftigung": "minijob"}),
    );
    i.pay_date = "2025-06-30".into();
    assert!(err(&i).contains("556.00 EUR a month in 2025"));
}

#[test]
fn midijob_outside_the_range() {
    let p = json!({"steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.9", "beschaeftigung": "midijob"});
    let msg = err(&input(60_300, p.clone()));
    assert!(
        msg.contains("not above the Geringfügigkeitsgrenze of 603.00 EUR"),
        "{msg}"
    );
    // Above 2,000 EUR this month: the general rules, equal shares.
    let i = input(250_000, p.clone());
    assert_eq!(amount(&i, "de-rv-an"), amount(&i, "de-rv-ag"));
    assert_eq!(amount(&i, "de-rv-an"), Some(23_250));
    // No pay: no lines, no negative contributions (set-employee's check).
    let slip = calculate(&input(0, p)).expect("zero pay");
    assert!(slip.lines.is_empty(), "{:?}", slip.lines);
}

#[test]
fn unset_kind_in_the_range_names_the_choices() {
    let msg = err(&input(
        150_000,
        json!({"steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.9"}),
    ));
    for want in [
        "Minijob/Midijob range",
        "\"minijob\"",
        "\"midijob\"",
        "\"regulaer\"",
    ] {
        assert!(msg.contains(want), "{msg}");
    }
    // A regular employment paid 1,500 EUR this month: equal shares on the actual pay.
    let i = input(
        150_000,
        json!({"steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.9", "beschaeftigung": "regulaer"}),
    );
    assert_eq!(amount(&i, "de-rv-an"), Some(13_950));
}

#[test]
fn minijob_needs_no_tax_class_and_pays_no_lohnsteuer() {
    let i = input(
        50_000,
        json!({"bundesland": "NW", "beschaeftigung": "minijob", "kirchensteuer": true}),
    );
    let slip = calculate(&i).expect("computes");
    assert!(
        slip.lines
            .iter()
            .all(|l| !l.code.starts_with("de-lohnsteuer") && l.code != "de-kirchensteuer")
    );
    assert_eq!(slip.ytd.get("minijob-pauschsteuer"), Some(&1_000));
    // The year-to-date codes of the Minijob lines are accepted as input.
    let mut next = i.clone();
    next.ytd.insert("minijob-pauschsteuer".into(), 1_000);
    assert_eq!(
        calculate(&next).expect("computes").ytd["minijob-pauschsteuer"],
        2_000
    );
}

#[test]
fn refuses_bad_kinds_and_umlagen() {
    let base = json!({"steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.9"});
    let with = |k: &str, v: Value| {
        let mut p = base.clone();
        p[k] = v;
        input(500_000, p)
    };
    assert!(
        err(&with("beschaeftigung", json!("teilzeit")))
            .contains("\"regulaer\", \"midijob\" or \"minijob\"")
    );
    assert!(err(&with("rv-befreiung", json!(true))).contains("exists for Minijobs only"));
    assert!(err(&with("umlagen", json!({"u1": "12"}))).contains("umlagen.u1"));
    assert!(err(&with("umlagen", json!({"u4": "1"}))).contains("unknown field `u4`"));
    assert!(err(&with("umlagen", json!("1.6"))).contains("an object with u1, u2 and u3"));
    let mini = input(
        50_000,
        json!({"bundesland": "NW", "beschaeftigung": "minijob", "umlagen": {"u1": "1.6"}}),
    );
    assert!(err(&mini).contains("Minijob-Zentrale's rates"));
    // u3 false: a public employer.
    let i = with("umlagen", json!({"u2": "0.44", "u3": false}));
    assert_eq!(amount(&i, "de-u3"), None);
    assert_eq!(amount(&i, "de-u2"), Some(2_200));
    // Without steuerklasse only a Minijob computes.
    let msg = err(&input(
        500_000,
        json!({"bundesland": "NW", "kv-zusatzbeitrag": "2.9"}),
    ));
    assert!(msg.contains("steuerklasse is missing"), "{msg}");
}

#[test]
fn privately_insured_minijob_needs_no_premium() {
    let i = input(
        50_000,
        json!({"bundesland": "NW", "beschaeftigung": "minijob", "kv": "privat"}),
    );
    assert_eq!(amount(&i, "de-minijob-kv-ag"), None);
    assert_eq!(amount(&i, "de-minijob-rv-ag"), Some(7_500));
}
