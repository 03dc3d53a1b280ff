//! The employee's denomination for the Kirchensteuer: the profile's
//! `kirchensteuer` holds the ELStAM Kirchensteuermerkmal (`"ev"`, `"rk"`, ...), and
//! the payslip carries the tax under one line code per denomination so the
//! Lohnsteuer-Anmeldung can report it per denomination (Kz 61 evangelisch, Kz 62
//! römisch-katholisch, the others on the lines each Land's form gives them).
//!
//! Compatibility: before payroll-de 0.2.0 the field was a flag. `false` still means
//! none; `true` still computes the tax, under the undivided `de-kirchensteuer` line
//! and with a note asking for the denomination (the filing reports it apart).
//! The rate is the Land's (8 % in BW and BY, 9 % elsewhere) for every denomination,
//! as the payroll computes it; see `LAENDER` in the parent module.

use backoffice_sdk::{Error, Result};
use serde_json::Value;

/// The Kirchensteuermerkmale of the ELStAM (Religionszugehörigkeit as the employer
/// retrieves it from the BZSt, the two-letter keys also printed on the
/// Lohnsteuerbescheinigung), with the line code and what a person reads. Keys and
/// names as listed by kirchensteuerinfo.de ("Kirchensteuer und die
/// Lohnsteuerkarte") and the Einkommensteuer Hauptvordruck guidance on the
/// Religionsschlüssel; the BMF's current list itself was not checked offline.
pub const KONFESSIONEN: [(&str, &str, &str); 18] = [
    ("ev", "de-kirchensteuer-ev", "evangelisch"),
    ("rk", "de-kirchensteuer-rk", "römisch-katholisch"),
    ("ak", "de-kirchensteuer-ak", "altkatholisch"),
    ("lt", "de-kirchensteuer-lt", "evangelisch-lutherisch"),
    ("rf", "de-kirchensteuer-rf", "evangelisch-reformiert"),
    ("fr", "de-kirchensteuer-fr", "französisch-reformiert"),
    (
        "fa",
        "de-kirchensteuer-fa",
        "Freie Religionsgemeinschaft Alzey",
    ),
    (
        "fb",
        "de-kirchensteuer-fb",
        "Freireligiöse Landesgemeinde Baden",
    ),
    (
        "fg",
        "de-kirchensteuer-fg",
        "Freireligiöse Landesgemeinde Pfalz",
    ),
    ("fm", "de-kirchensteuer-fm", "Freireligiöse Gemeinde Mainz"),
    (
        "fs",
        "de-kirchensteuer-fs",
        "Freireligiöse Gemeinde Offenbach/Main",
    ),
    (
        "ib",
        "de-kirchensteuer-ib",
        "Israelitische Religionsgemeinschaft Baden",
    ),
    ("ih", "de-kirchensteuer-ih", "Jüdische Gemeinde Hamburg"),
    (
        "il",
        "de-kirchensteuer-il",
        "Israelitische Kultussteuer (Hessen)",
    ),
    (
        "is",
        "de-kirchensteuer-is",
        "Israelitische / Jüdische Kultussteuer",
    ),
    (
        "iw",
        "de-kirchensteuer-iw",
        "Israelitische Religionsgemeinschaft Württembergs",
    ),
    ("jd", "de-kirchensteuer-jd", "Jüdische Kultussteuer"),
    (
        "jh",
        "de-kirchensteuer-jh",
        "Jüdische Kultussteuer (Hessen)",
    ),
];

/// The profile's `kirchensteuer`: whether the employee pays Kirchensteuer, and the
/// denomination (index in [`KONFESSIONEN`]; `None` for `true`, the old flag).
pub fn parse(value: Option<&Value>) -> Result<(bool, Option<usize>)> {
    match value {
        None | Some(Value::Bool(false)) => Ok((false, None)),
        Some(Value::Bool(true)) => Ok((true, None)),
        Some(v) => v
            .as_str()
            .and_then(|s| KONFESSIONEN.iter().position(|(k, _, _)| *k == s))
            .map(|i| (true, Some(i)))
            .ok_or_else(|| {
                let keys: Vec<String> = KONFESSIONEN
                    .iter()
                    .map(|(k, _, name)| format!("\"{k}\" ({name})"))
                    .collect();
                Error::invalid(format!(
                    "profile.kirchensteuer: {v} is not accepted; expected true or false, or the employee's Kirchensteuermerkmal from the ELStAM: {}",
                    keys.join(", ")
                ))
            }),
    }
}

/// The payslip line of the Kirchensteuer: one code per denomination, or the
/// undivided `de-kirchensteuer` for a profile that says only `true`.
pub fn line(konfession: Option<usize>) -> &'static str {
    match konfession.and_then(|i| KONFESSIONEN.get(i)) {
        Some((_, code, _)) => code,
        None => "de-kirchensteuer",
    }
}

/// The payslip note on the Kirchensteuer: rate, Land and denomination, or how to
/// record the denomination when the profile does not say it.
pub fn note(konfession: Option<usize>, rate: i128, land_name: &str) -> String {
    match konfession.and_then(|i| KONFESSIONEN.get(i)) {
        Some((key, _, name)) => format!("Kirchensteuer {rate} % ({land_name}), {name} ({key})"),
        None => format!(
            "Kirchensteuer {rate} % ({land_name}), denomination not recorded: the Lohnsteuer-Anmeldung cannot assign it to Kz 61 or 62; set profile.kirchensteuer to the employee's Kirchensteuermerkmal, e.g. \"ev\" or \"rk\" (set-employee)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use backoffice_sdk::payroll::{CalcInput, Payslip};
    use serde_json::json;

    use super::super::calculate;
    use super::*;

    fn slip(kist: Value, payment: Option<&str>, ytd: serde_json::Value) -> Payslip {
        // A bonus of 500 EUR stays within January's anteilige Beitragsbemessungsgrenze.
        let gross = if payment.is_some() { 50_000 } else { 500_000 };
        let mut profile = json!({"steuerklasse": 1, "kirchensteuer": kist, "bundesland": "NW",
                                 "kv-zusatzbeitrag": "2.5", "kinderlos": true});
        if let Some(p) = payment {
            profile["payment"] = json!(p);
        }
        let input: CalcInput = serde_json::from_value(json!({
            "country": "DE", "pay-date": "2026-01-30", "frequency": "monthly",
            "gross": gross, "currency": "EUR", "ytd": ytd, "profile": profile
        }))
        .expect("valid input");
        calculate(&input).expect("payslip")
    }

    fn amount(s: &Payslip, code: &str) -> i64 {
        s.lines
            .iter()
            .filter(|l| l.code == code)
            .map(|l| l.amount)
            .sum()
    }

    /// The denomination moves the tax to its own line; the amount is the one the
    /// old flag gives (same Maßstabsteuer, same Land rate), and the year-to-date
    /// `kirchensteuer` counts it either way.
    #[test]
    fn a_denomination_names_the_line_and_keeps_the_amount() {
        let old = slip(json!(true), None, json!({}));
        let ev = slip(json!("ev"), None, json!({}));
        let rk = slip(json!("rk"), None, json!({}));
        let tax = amount(&old, "de-kirchensteuer");
        assert!(tax > 0);
        assert_eq!(amount(&ev, "de-kirchensteuer-ev"), tax);
        assert_eq!(amount(&ev, "de-kirchensteuer"), 0);
        assert_eq!(amount(&rk, "de-kirchensteuer-rk"), tax);
        assert_eq!(ev.ytd["kirchensteuer"], tax);
        assert_eq!(ev.net, old.net);
        assert!(
            ev.notes.iter().any(|n| n.ends_with("evangelisch (ev)")),
            "{:?}",
            ev.notes
        );
        assert!(
            old.notes
                .iter()
                .any(|n| n.contains("denomination not recorded"))
        );
        let none = slip(json!(false), None, json!({}));
        assert!(
            none.lines
                .iter()
                .all(|l| !l.code.starts_with("de-kirchensteuer"))
        );
    }

    /// A bonus (sonstiger Bezug) carries its Kirchensteuer under the denomination.
    #[test]
    fn a_bonus_uses_the_denomination_line() {
        let regular = slip(json!("rk"), None, json!({}));
        let bonus = slip(json!("rk"), Some("bonus"), json!(regular.ytd));
        assert!(
            amount(&bonus, "de-kirchensteuer-rk") > 0,
            "{:?}",
            bonus.lines
        );
        assert_eq!(
            bonus.ytd["kirchensteuer"],
            regular.ytd["kirchensteuer"] + amount(&bonus, "de-kirchensteuer-rk")
        );
    }

    /// An unknown key is refused, naming every accepted one.
    #[test]
    fn an_unknown_denomination_is_refused_naming_the_accepted_ones() {
        let err = parse(Some(&json!("katholisch"))).expect_err("refused");
        let msg = err.to_string();
        assert!(
            msg.contains("profile.kirchensteuer: \"katholisch\""),
            "{msg}"
        );
        for (key, _, _) in KONFESSIONEN {
            assert!(msg.contains(&format!("\"{key}\"")), "{msg} lacks {key}");
        }
        assert!(parse(Some(&json!(1))).is_err());
        assert_eq!(parse(None).expect("none"), (false, None));
        assert_eq!(parse(Some(&json!("rk"))).expect("rk"), (true, Some(1)));
    }
}
