//! German payroll rules: Lohnsteuer, Solidaritätszuschlag and Kirchensteuer on
//! laufender Arbeitslohn by the BMF Programmablaufplan (PAP) 2025 and 2026, and the
//! employee and employer shares of the social insurance contributions; sonstige
//! Bezüge (bonuses, `profile.payment` "bonus") by the PAP's annual-table method and
//! § 23a SGB IV in [`bonus`].
//!
//! # Input
//! - `country` `DE`, `currency` `EUR`, `gross` in cents (never negative), `pay-date`
//!   `YYYY-MM-DD` in 2025 or 2026 (the tax year is the calendar year of the pay date:
//!   § 38a Absatz 1 EStG, laufender Arbeitslohn is taxed in the year of the period it
//!   is paid for; we take the pay date's year).
//! - `frequency`: `monthly` (PAP LZZ 2, 30 Sozialversicherungstage), `weekly` (LZZ 3,
//!   7 days) or `annual` (LZZ 1, 360 days). Others are refused.
//! - `profile`: see [`profile_schema`]. Unknown fields are refused.
//!
//! # Lines (codes are stable)
//! | code | kind | what |
//! |---|---|---|
//! | `de-lohnsteuer` | tax | Lohnsteuer (PAP output LSTLZZ) |
//! | `de-solidaritaetszuschlag` | tax | Solidaritätszuschlag (SOLZLZZ) |
//! | `de-kirchensteuer-<key>` | tax | Kirchensteuer of the denomination `<key>` (`ev`, `rk`, ... see [`kirche`]): BK × 8 % (BY, BW) or 9 %, cents dropped; `de-kirchensteuer` for a profile with `"kirchensteuer": true` (no denomination) |
//! | `de-kv-an`, `de-pv-an`, `de-rv-an`, `de-av-an` | employee contribution | KV (incl. Zusatzbeitrag), PV, RV, AV |
//! | `de-kv-ag`, `de-pv-ag`, `de-rv-ag`, `de-av-ag` | employer contribution | the employer's shares |
//! | `de-u1`, `de-u2`, `de-u3` | employer contribution | Umlagen U1, U2 and the Insolvenzgeldumlage (see [`umlagen`]) |
//! | `de-minijob-rv-an` | employee contribution | a Minijob's RV top-up (see [`minijob`]) |
//! | `de-minijob-kv-ag`, `de-minijob-rv-ag`, `de-minijob-pauschsteuer` | employer contribution | a Minijob's flat contributions and Pauschsteuer |
//! | `de-minijob-u1`, `de-minijob-u2`, `de-minijob-u3` | employer contribution | a Minijob's Umlagen |
//!
//! `profile.beschaeftigung` says how the social insurance is computed: `regulaer`,
//! `midijob` (the Übergangsbereich, see [`midijob`]) or `minijob`; without it a
//! period paying 2,000 EUR a month or less while social insurance applies is refused.
//!
//! Lines of amount 0 are left out.
//!
//! # Year to date
//! The German withholding on laufender Arbeitslohn is computed period by period, so
//! no input `ytd` figure changes the result. The input `ytd` may carry any of the
//! codes below (missing ones count as 0; unknown codes and negative values are
//! refused); the output `ytd` holds every code, previous + this period:
//! `gross`, `lohnsteuer`, `solidaritaetszuschlag`, `kirchensteuer` (every
//! denomination's line), `kv-an`,
//! `pv-an`, `rv-an`, `av-an`, `kv-ag`, `pv-ag`, `rv-ag`, `av-ag` (cents); and, once an
//! employee has the line, `u1`, `u2`, `u3` and the `minijob-...` codes.
//! For sonstige Bezüge (see [`bonus`]) every payment also returns `laufend-gross`
//! (regular pay, cents), `sonstige-bezuege` (bonuses, cents), `sv-tage`
//! (Sozialversicherungstage of the regular periods, days, 30 a month) and
//! `kv-entgelt` / `rv-entgelt` (pay charged to KV/PV and RV/AV, up to each period's
//! ceiling, cents). A bonus does read the input `ytd`.
//!
//! # Not supported (refused or not modelled)
//! The Fünftelregelung and the Märzklausel for sonstige Bezüge, bonuses for Midijobs
//! and Minijobs (see [`bonus`]), Versorgungsbezüge, Freibeträge and
//! Hinzurechnungsbeträge from ELStAM, daily pay periods, Minijobs in private
//! households (Haushaltsscheckverfahren) and the occasional exceeding of the Minijob
//! limit, a Midijob month paying no more than the Geringfügigkeitsgrenze, the
//! Übergangsbereich of several employments together, the Kappung and
//! Mindestbetrag of the Kirchensteuer, the employer's subsidy to a private health
//! insurance as a pay line (it only enters the Vorsorgepauschale).

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{CalcInput, Frequency, Line, LineKind, Payslip, Support};
use backoffice_sdk::{Error, Result};
use serde_json::{Map, Value, json};

mod bonus;
mod fixed;
pub mod kirche;
mod midijob;
mod minijob;
mod pap;
mod sv;
mod umlagen;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod low_pay_tests;

use fixed::{div_down, parse_decimal};
use pap::{Lzz, Params};
use sv::SvParams;

/// The tax years supported, with their PAP and social insurance figures.
const YEARS: [(i32, &Params, &SvParams); 2] = [
    (2025, &pap::PAP_2025, &sv::SV_2025),
    (2026, &pap::PAP_2026, &sv::SV_2026),
];

/// The Übergangsbereich and the Minijob-Zentrale's Umlagen per year.
const LOW_PAY: [(i32, &midijob::MidiParams, &umlagen::MinijobUmlagen); 2] = [
    (2025, &midijob::MIDI_2025, &umlagen::MINIJOB_2025),
    (2026, &midijob::MIDI_2026, &umlagen::MINIJOB_2026),
];

/// Bundesländer (ISO 3166-2:DE suffixes) and their Kirchensteuer rate in percent:
/// 8 % in Bayern and Baden-Württemberg, 9 % elsewhere (the Kirchensteuergesetze of
/// the Länder and the rates the churches set under them).
const LAENDER: [(&str, &str, i128); 16] = [
    ("BW", "Baden-Württemberg", 8),
    ("BY", "Bayern", 8),
    ("BE", "Berlin", 9),
    ("BB", "Brandenburg", 9),
    ("HB", "Bremen", 9),
    ("HH", "Hamburg", 9),
    ("HE", "Hessen", 9),
    ("MV", "Mecklenburg-Vorpommern", 9),
    ("NI", "Niedersachsen", 9),
    ("NW", "Nordrhein-Westfalen", 9),
    ("RP", "Rheinland-Pfalz", 9),
    ("SL", "Saarland", 9),
    ("SN", "Sachsen", 9),
    ("ST", "Sachsen-Anhalt", 9),
    ("SH", "Schleswig-Holstein", 9),
    ("TH", "Thüringen", 9),
];

/// The year-to-date code of a line: its code without `de-`, every Kirchensteuer
/// line counting to `kirchensteuer`.
fn ytd_code(line: &str) -> &str {
    if line.starts_with("de-kirchensteuer") {
        "kirchensteuer"
    } else {
        line.trim_start_matches("de-")
    }
}

/// The year-to-date codes, in the order of the payslip; the last five feed the
/// sonstige Bezüge (see [`bonus`]).
const YTD_CODES: [&str; 17] = [
    "gross",
    "lohnsteuer",
    "solidaritaetszuschlag",
    "kirchensteuer",
    "kv-an",
    "pv-an",
    "rv-an",
    "av-an",
    "kv-ag",
    "pv-ag",
    "rv-ag",
    "av-ag",
    "laufend-gross",
    "sonstige-bezuege",
    "sv-tage",
    "kv-entgelt",
    "rv-entgelt",
];

/// Year-to-date codes of the lines only some employees have (Umlagen, Minijob lines):
/// accepted as input, and returned once an employee has the line.
const EXTRA_YTD_CODES: [&str; 10] = [
    "u1",
    "u2",
    "u3",
    "minijob-rv-an",
    "minijob-kv-ag",
    "minijob-rv-ag",
    "minijob-pauschsteuer",
    "minijob-u1",
    "minijob-u2",
    "minijob-u3",
];

const FREQUENCIES: [Frequency; 3] = [Frequency::Weekly, Frequency::Monthly, Frequency::Annual];

/// What these rules support.
pub fn support() -> Support {
    Support {
        countries: vec!["DE".into()],
        currency: "EUR".into(),
        tax_years: YEARS.iter().map(|(y, _, _)| y.to_string()).collect(),
        frequencies: FREQUENCIES.to_vec(),
    }
}

/// JSON Schema of the tax profile.
pub fn profile_schema() -> Value {
    let laender: Vec<&str> = LAENDER.iter().map(|(c, _, _)| *c).collect();
    let konfessionen: Vec<&str> = kirche::KONFESSIONEN.iter().map(|(k, _, _)| *k).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "German payroll profile (ELStAM and social insurance)",
        "description": "The employee's Lohnsteuerabzugsmerkmale and insurance status for the BMF Programmablaufplan and the social insurance contributions.",
        "type": "object",
        "additionalProperties": false,
        "required": ["bundesland"],
        "properties": {
            "steuerklasse": {
                "description": "Steuerklasse I to VI as a number 1 to 6 (PAP input STKL).",
                "type": "integer", "minimum": 1, "maximum": 6
            },
            "faktor": {
                "description": "Faktor of the Faktorverfahren (§ 39f EStG) with up to three decimals, e.g. \"0.912\"; only with Steuerklasse IV (PAP inputs af = 1, f).",
                "type": "string", "pattern": "^0\\.[0-9]{1,3}$"
            },
            "kinderfreibetraege": {
                "description": "Zahl der Kinderfreibeträge in steps of 0.5 (PAP input ZKF); only in Steuerklassen I to IV. Default 0.",
                "type": "number", "minimum": 0, "maximum": 99, "multipleOf": 0.5
            },
            "kirchensteuer": {
                "description": "The employee's Kirchensteuermerkmal from the ELStAM (PAP input R > 0 unless false): the denomination's two-letter key, e.g. \"ev\" or \"rk\", so the payslip carries the Kirchensteuer under de-kirchensteuer-<key> and the Lohnsteuer-Anmeldung can split it (Kz 61 ev, Kz 62 rk, the others per Land); false for none (the default). true (member of a church, denomination not recorded, as profiles before payroll-de 0.2.0) still computes the tax, as the undivided de-kirchensteuer line. 8 % of the Maßstabsteuer in BY and BW, 9 % elsewhere.",
                "oneOf": [
                    {"type": "boolean"},
                    {"type": "string", "enum": konfessionen}
                ]
            },
            "bundesland": {
                "description": "Bundesland of the place of work (Betriebsstätte) as the ISO 3166-2:DE code without prefix; sets the Kirchensteuer rate and, for SN, Saxony's Pflegeversicherung split (PAP input PVS).",
                "type": "string", "enum": laender
            },
            "kv": {
                "description": "Health insurance: \"gesetzlich\" (statutory; KV and PV contributions are withheld) or \"privat\" (private; PAP input PKV = 1). Default \"gesetzlich\".",
                "type": "string", "enum": ["gesetzlich", "privat"]
            },
            "kv-zusatzbeitrag": {
                "description": "Kassenindividueller Zusatzbeitragssatz of the statutory health insurer in percent as a decimal string with up to two decimals, e.g. \"2.5\" (PAP input KVZ); required when kv is \"gesetzlich\".",
                "type": "string", "pattern": "^[0-9]{1,2}(\\.[0-9]{1,2})?$"
            },
            "pkv-beitrag": {
                "description": "Monthly premium for the private Basis-Krankenversicherung and private Pflege-Pflichtversicherung in cents (PAP input PKPV); required when kv is \"privat\".",
                "type": "integer", "minimum": 0
            },
            "pkv-ag-zuschuss": {
                "description": "Monthly employer subsidy to the private insurance in cents (2026: PAP input PKPVAGZ; 2025: any amount above 0 selects PKV = 2); only when kv is \"privat\". Default 0.",
                "type": "integer", "minimum": 0
            },
            "pv-kinder": {
                "description": "Number of children under 25 counted for the Pflegeversicherung reductions (0.25 points each from the 2nd to the 5th child; PAP input PVA = children - 1, at most 4); only with kv \"gesetzlich\" and not with kinderlos. Default 0.",
                "type": "integer", "minimum": 0, "maximum": 99
            },
            "kinderlos": {
                "description": "The childless surcharge of 0.6 % to the Pflegeversicherung applies (childless, aged 23 or over; PAP input PVZ = 1). Default false.",
                "type": "boolean"
            },
            "rv": {
                "description": "Compulsorily insured in the gesetzliche Rentenversicherung (PAP input KRV = 0); false for example for members of a berufsständische Versorgungseinrichtung not paying to the GRV. Default true.",
                "type": "boolean"
            },
            "av": {
                "description": "Compulsorily insured in the Arbeitslosenversicherung (PAP 2026 input ALV = 0). Default true.",
                "type": "boolean"
            },
            "geburtsjahr": {
                "description": "Year of birth, for the Altersentlastungsbetrag (§ 24a EStG; PAP inputs ALTER1, AJAHR): granted when the employee turned 64 before the tax year, taken as born in the tax year minus 65 or earlier. Optional.",
                "type": "integer", "minimum": 1900, "maximum": 2026
            },
            "beschaeftigung": {
                "description": "Kind of employment: \"regulaer\" (contributions on the actual pay, also in a month paying 2,000 EUR or less, e.g. a partial month), \"midijob\" (regular pay in the Übergangsbereich, § 20 Absatz 2 SGB IV: reduced employee contributions) or \"minijob\" (geringfügig entlohnt, § 8 SGB IV: flat employer contributions to the Minijob-Zentrale, 2 % Pauschsteuer, no Lohnsteuer; steuerklasse and kv-zusatzbeitrag are then not needed). Without it, a period paying 2,000 EUR a month or less while social insurance applies is refused.",
                "type": "string", "enum": ["regulaer", "midijob", "minijob"]
            },
            "rv-befreiung": {
                "description": "Minijob only: the employee asked to be exempted from the Rentenversicherung (§ 6 Absatz 1b SGB VI), so the employee's 3.6 % top-up is not withheld. Default false.",
                "type": "boolean"
            },
            "umlagen": {
                "description": "The employer's Umlagen. Regular and Midijob employments: u1 and u2 are the rates of the employee's Krankenkasse in percent (e.g. \"2.8\" and \"0.5\"; leave u1 out when the employer has more than 30 employees), u3 (Insolvenzgeldumlage 0.15 %) defaults to true. Minijobs: u1, u2 and u3 are true or false and default to true, at the Minijob-Zentrale's rates. Without this object, regular and Midijob payslips carry no Umlagen.",
                "type": "object", "additionalProperties": false,
                "properties": {
                    "u1": {"type": ["string", "boolean"], "pattern": "^[0-9](\\.[0-9]{1,2})?$"},
                    "u2": {"type": ["string", "boolean"], "pattern": "^[0-9](\\.[0-9]{1,2})?$"},
                    "u3": {"type": "boolean"}
                }
            },
            "payment": {
                "description": "Set by payroll per payment, never stored with the employee: \"regular\" (default) for laufender Arbeitslohn, \"bonus\" for a sonstiger Bezug (Einmalzahlung) taxed by the PAP's annual-table method (MSONST) with contributions up to the anteilige Jahres-BBG (§ 23a SGB IV). Not with a Midijob or Minijob.",
                "type": "string", "enum": ["regular", "bonus"]
            }
        }
    })
}

/// The parsed profile.
#[derive(Debug, Clone)]
struct Profile {
    stkl: u8,
    f_milli: i128,
    zkf_tenths: i128,
    kirche: bool,
    /// The denomination (index in [`kirche::KONFESSIONEN`]); `None` with `kirche` for a
    /// profile recorded before denominations were (`"kirchensteuer": true`).
    konfession: Option<usize>,
    land: usize,
    gkv: bool,
    kvz: i128,
    pkpv: i128,
    pkpvagz: i128,
    pv_kinder: i128,
    kinderlos: bool,
    rv: bool,
    av: bool,
    geburtsjahr: Option<i32>,
    kind: Kind,
    rv_befreit: bool,
    umlagen: Option<Map<String, Value>>,
    /// `payment` "bonus": the gross is a sonstiger Bezug (Einmalzahlung).
    bonus: bool,
}

/// The kind of employment, for the social insurance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Not given: pay in the Minijob/Midijob range is refused.
    Unset,
    Regulaer,
    Midijob,
    Minijob,
}

const PROFILE_FIELDS: [&str; 18] = [
    "steuerklasse",
    "faktor",
    "kinderfreibetraege",
    "kirchensteuer",
    "bundesland",
    "kv",
    "kv-zusatzbeitrag",
    "pkv-beitrag",
    "pkv-ag-zuschuss",
    "pv-kinder",
    "kinderlos",
    "rv",
    "av",
    "geburtsjahr",
    "beschaeftigung",
    "rv-befreiung",
    "umlagen",
    "payment",
];

fn bad(field: &str, value: &Value, accepted: &str) -> Error {
    Error::invalid(format!(
        "profile.{field}: {value} is not accepted; expected {accepted}"
    ))
}

fn get_bool(m: &Map<String, Value>, field: &str, default: bool) -> Result<bool> {
    match m.get(field) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(bad(field, v, "true or false")),
    }
}

fn get_int(m: &Map<String, Value>, field: &str, min: i64, max: i64) -> Result<Option<i64>> {
    match m.get(field) {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad(field, v, &format!("an integer from {min} to {max}"))),
        },
    }
}

fn parse_profile(value: &Value, year: i32) -> Result<Profile> {
    let m = value.as_object().ok_or_else(|| {
        Error::invalid(format!(
            "profile: {value} is not accepted; expected a JSON object with the fields {}",
            PROFILE_FIELDS.join(", ")
        ))
    })?;
    for key in m.keys() {
        if !PROFILE_FIELDS.contains(&key.as_str()) {
            return Err(Error::invalid(format!(
                "profile: unknown field `{key}`; accepted fields are {}",
                PROFILE_FIELDS.join(", ")
            )));
        }
    }
    let kind = match m.get("beschaeftigung") {
        None => Kind::Unset,
        Some(Value::String(s)) if s == "regulaer" => Kind::Regulaer,
        Some(Value::String(s)) if s == "midijob" => Kind::Midijob,
        Some(Value::String(s)) if s == "minijob" => Kind::Minijob,
        Some(v) => {
            return Err(bad(
                "beschaeftigung",
                v,
                "\"regulaer\", \"midijob\" or \"minijob\"",
            ));
        }
    };
    let minijob = kind == Kind::Minijob;
    let rv_befreit = get_bool(m, "rv-befreiung", false)?;
    if rv_befreit && !minijob {
        return Err(Error::invalid(
            "profile.rv-befreiung: the exemption from the Rentenversicherung (§ 6 Absatz 1b SGB VI) exists for Minijobs only; set beschaeftigung \"minijob\", or rv false for an employee not insured in the Rentenversicherung",
        ));
    }
    let umlagen = match m.get("umlagen") {
        None => None,
        Some(Value::Object(u)) => Some(u.clone()),
        Some(v) => return Err(bad("umlagen", v, "an object with u1, u2 and u3")),
    };
    // A Minijob pays the Pauschsteuer instead of Lohnsteuer by ELStAM, so it needs no
    // Steuerklasse (1 stands in for the unused PAP inputs).
    let stkl = match get_int(m, "steuerklasse", 1, 6)? {
        Some(n) => n as u8,
        None if minijob => 1,
        None => {
            return Err(Error::invalid(
                "profile.steuerklasse is missing; expected an integer from 1 to 6",
            ));
        }
    };

    let f_milli = match m.get("faktor") {
        None => 1000,
        Some(v) => {
            let f = v
                .as_str()
                .filter(|s| s.starts_with("0."))
                .and_then(|s| parse_decimal(s, 3))
                .filter(|f| *f > 0 && *f < 1000)
                .ok_or_else(|| {
                    bad("faktor", v, "a decimal string above 0 and below 1 with up to three decimals, e.g. \"0.912\"")
                })?;
            if stkl != 4 {
                return Err(Error::invalid(format!(
                    "profile.faktor: a Faktor is only accepted with steuerklasse 4, not {stkl}"
                )));
            }
            f
        }
    };

    let zkf_tenths = match m.get("kinderfreibetraege") {
        None => 0,
        Some(v) => {
            let ok = v
                .as_f64()
                .filter(|x| (0.0..=99.0).contains(x))
                .and_then(|x| {
                    // Only multiples of 0.5 are accepted: the value times 2 is whole.
                    let doubled = x * 2.0;
                    (doubled.fract() == 0.0).then_some(doubled as i128 * 5)
                });
            let t = ok.ok_or_else(|| {
                bad(
                    "kinderfreibetraege",
                    v,
                    "a number from 0 to 99 in steps of 0.5",
                )
            })?;
            if t > 0 && stkl >= 5 {
                return Err(Error::invalid(format!(
                    "profile.kinderfreibetraege: {v} Kinderfreibeträge cannot be used with steuerklasse {stkl}; only classes 1 to 4 carry them"
                )));
            }
            t
        }
    };

    let (kirche, konfession) = kirche::parse(m.get("kirchensteuer"))?;

    let land_codes: Vec<&str> = LAENDER.iter().map(|(c, _, _)| *c).collect();
    let land = match m.get("bundesland") {
        None => {
            return Err(Error::invalid(format!(
                "profile.bundesland is missing; expected one of {}",
                land_codes.join(", ")
            )));
        }
        Some(v) => v
            .as_str()
            .and_then(|s| LAENDER.iter().position(|(c, _, _)| *c == s))
            .ok_or_else(|| {
                bad(
                    "bundesland",
                    v,
                    &format!("one of {}", land_codes.join(", ")),
                )
            })?,
    };

    let gkv = match m.get("kv") {
        None => true,
        Some(Value::String(s)) if s == "gesetzlich" => true,
        Some(Value::String(s)) if s == "privat" => false,
        Some(v) => return Err(bad("kv", v, "\"gesetzlich\" or \"privat\"")),
    };

    let kvz = match (gkv, m.get("kv-zusatzbeitrag")) {
        (true, None) if minijob => 0,
        (true, None) => {
            return Err(Error::invalid(
                "profile.kv-zusatzbeitrag is missing; with kv \"gesetzlich\" the insurer's Zusatzbeitragssatz in percent is required, e.g. \"2.5\"",
            ));
        }
        (true, Some(v)) => v
            .as_str()
            .and_then(|s| parse_decimal(s, 2))
            .filter(|k| *k <= 1000)
            .ok_or_else(|| {
                bad(
                    "kv-zusatzbeitrag",
                    v,
                    "a percentage from 0 to 10 as a decimal string with up to two decimals, e.g. \"2.5\"",
                )
            })?,
        (false, None) => 0,
        (false, Some(_)) => {
            return Err(Error::invalid(
                "profile.kv-zusatzbeitrag is only accepted with kv \"gesetzlich\"",
            ));
        }
    };

    let pkpv = get_int(m, "pkv-beitrag", 0, 100_000_000)?;
    let pkpvagz = get_int(m, "pkv-ag-zuschuss", 0, 100_000_000)?;
    let (pkpv, pkpvagz) = if gkv {
        if pkpv.is_some() || pkpvagz.is_some() {
            return Err(Error::invalid(
                "profile.pkv-beitrag and profile.pkv-ag-zuschuss are only accepted with kv \"privat\"",
            ));
        }
        (0, 0)
    } else {
        // A Minijob's flat contributions do not depend on the private premium.
        let p = pkpv.or(minijob.then_some(0)).ok_or_else(|| {
            Error::invalid(
                "profile.pkv-beitrag is missing; with kv \"privat\" the monthly premium for the private Basis-Kranken- and Pflege-Pflichtversicherung in cents is required",
            )
        })?;
        (i128::from(p), i128::from(pkpvagz.unwrap_or(0)))
    };

    let pv_kinder = i128::from(get_int(m, "pv-kinder", 0, 99)?.unwrap_or(0));
    let kinderlos = get_bool(m, "kinderlos", false)?;
    if pv_kinder > 0 && kinderlos {
        return Err(Error::invalid(format!(
            "profile.pv-kinder: {pv_kinder} children contradict kinderlos true; give one or the other"
        )));
    }
    if !gkv && (pv_kinder > 0 || kinderlos) {
        return Err(Error::invalid(
            "profile.pv-kinder and profile.kinderlos apply to the soziale Pflegeversicherung and are only accepted with kv \"gesetzlich\"",
        ));
    }
    let rv = get_bool(m, "rv", true)?;
    let av = get_bool(m, "av", true)?;
    let bonus = match m.get("payment") {
        None => false,
        Some(Value::String(s)) if s == "regular" => false,
        Some(Value::String(s)) if s == "bonus" => true,
        Some(v) => return Err(bad("payment", v, "\"regular\" or \"bonus\"")),
    };
    let geburtsjahr = get_int(m, "geburtsjahr", 1900, i64::from(year))?.map(|y| y as i32);

    Ok(Profile {
        stkl,
        f_milli,
        zkf_tenths,
        kirche,
        konfession,
        land,
        gkv,
        kvz,
        pkpv,
        pkpvagz,
        pv_kinder,
        kinderlos,
        rv,
        av,
        geburtsjahr,
        kind,
        rv_befreit,
        umlagen,
        bonus,
    })
}

/// Parse `YYYY-MM-DD` strictly (a real calendar date); returns the year.
fn parse_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then_some(y as i32)
}

fn euro(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    format!("{sign}{}.{:02} EUR", c / 100, c % 100)
}

/// The PAP inputs from the profile, for `re4` cents in a period of `lzz`.
fn pap_input(profile: &Profile, year: i32, pap_params: &Params, lzz: Lzz, re4: i128) -> pap::Input {
    let (alter1, ajahr) = match profile.geburtsjahr {
        Some(g) if g + 65 <= year => (true, g + 65),
        _ => (false, 0),
    };
    let pkv = if profile.gkv {
        0
    } else if pap_params.variant == pap::Variant::Y2025 && profile.pkpvagz > 0 {
        2
    } else {
        1
    };
    pap::Input {
        lzz,
        re4,
        stkl: profile.stkl,
        f_milli: profile.f_milli,
        zkf_tenths: profile.zkf_tenths,
        r: profile.kirche,
        krv: !profile.rv,
        alv: !profile.av,
        kvz: profile.kvz,
        pkv,
        pkpv: profile.pkpv,
        pkpvagz: profile.pkpvagz,
        pvs: LAENDER[profile.land].0 == "SN",
        pvz: profile.kinderlos,
        pva: (profile.pv_kinder - 1).clamp(0, 4),
        alter1,
        ajahr,
    }
}

/// Compute one payslip.
pub fn calculate(input: &CalcInput) -> Result<Payslip> {
    if input.country != "DE" {
        return Err(Error::invalid(format!(
            "country: {:?} is not accepted; payroll-de computes \"DE\" only",
            input.country
        )));
    }
    if input.currency != "EUR" {
        return Err(Error::invalid(format!(
            "currency: {:?} is not accepted; German payroll is computed in \"EUR\"",
            input.currency
        )));
    }
    if input.gross < 0 {
        return Err(Error::invalid(format!(
            "gross: {} is negative; expected an amount in cents of 0 or more",
            input.gross
        )));
    }
    if input.gross > 100_000_000_000 {
        return Err(Error::invalid(format!(
            "gross: {} is above the supported 1,000,000,000.00 EUR per period",
            input.gross
        )));
    }
    let (lzz, days) = match input.frequency {
        Frequency::Monthly => (Lzz::Monat, 30),
        Frequency::Weekly => (Lzz::Woche, 7),
        Frequency::Annual => (Lzz::Jahr, 360),
        other => {
            return Err(Error::invalid(format!(
                "frequency: {other} is not accepted; the PAP computes monthly (LZZ 2), weekly (LZZ 3) and annual (LZZ 1) pay periods"
            )));
        }
    };
    let year = parse_date(&input.pay_date).ok_or_else(|| {
        Error::invalid(format!(
            "pay-date: {:?} is not a date in the form YYYY-MM-DD",
            input.pay_date
        ))
    })?;
    let supported: Vec<String> = YEARS.iter().map(|(y, _, _)| y.to_string()).collect();
    let (_, pap_params, sv_params) =
        YEARS.iter().find(|(y, _, _)| *y == year).ok_or_else(|| {
            Error::invalid(format!(
                "pay-date: {} is in tax year {year}; payroll-de has rules for {}",
                input.pay_date,
                supported.join(" and ")
            ))
        })?;

    let mut ytd: BTreeMap<String, i64> = BTreeMap::new();
    for (code, value) in &input.ytd {
        if !YTD_CODES.contains(&code.as_str()) && !EXTRA_YTD_CODES.contains(&code.as_str()) {
            return Err(Error::invalid(format!(
                "ytd: unknown code `{code}`; accepted codes are {}, {}",
                YTD_CODES.join(", "),
                EXTRA_YTD_CODES.join(", ")
            )));
        }
        if *value < 0 {
            return Err(Error::invalid(format!(
                "ytd.{code}: {value} is negative; year-to-date amounts are cents of 0 or more"
            )));
        }
        ytd.insert(code.clone(), *value);
    }

    let profile = parse_profile(&input.profile, year)?;
    if profile.bonus {
        return bonus::calculate(
            input,
            &bonus::Year {
                year,
                pap: pap_params,
                sv: sv_params,
                kist_rate: LAENDER[profile.land].2,
            },
            &profile,
            ytd,
        );
    }
    let gross = i128::from(input.gross);
    let any_sv = profile.gkv || profile.rv || profile.av;
    let (_, midi, mj_umlagen) = LOW_PAY
        .iter()
        .find(|(y, _, _)| *y == year)
        .ok_or_else(|| Error::internal(format!("no Übergangsbereich figures for {year}")))?;
    let mut notes = Vec::new();
    // How the social insurance is computed this period.
    let mut sv_kind = profile.kind;
    match profile.kind {
        Kind::Minijob if gross * 30 > midi.g * days => {
            return Err(Error::invalid(format!(
                "gross: {} for a {} period is above the Minijob limit (Geringfügigkeitsgrenze) of {} a month in {year} (§ 8 Absatz 1a SGB IV){}; a Minijob may pay at most that, so pay above it makes the employment a Midijob (beschaeftigung \"midijob\", up to {} a month) or a regular one",
                euro(gross),
                input.frequency,
                euro(midi.g),
                if days == 30 {
                    String::new()
                } else {
                    format!(", {} for {days} days", euro(midi.g * days / 30))
                },
                euro(midi.og)
            )));
        }
        Kind::Midijob if gross > 0 => match midijob::range(midi, gross, days) {
            midijob::Range::Below => {
                return Err(Error::invalid(format!(
                    "gross: {} for a {} period is not above the Geringfügigkeitsgrenze of {} a month in {year}; the Übergangsbereich formula of a Midijob needs pay above it (a Midijob month paying less is not supported)",
                    euro(gross),
                    input.frequency,
                    euro(midi.g)
                )));
            }
            midijob::Range::Above => {
                notes.push(format!(
                    "Midijob: the pay of this period, {}, is above the Übergangsbereich (up to {} a month); the contributions follow the general rules this period",
                    euro(gross),
                    euro(midi.og)
                ));
                sv_kind = Kind::Regulaer;
            }
            midijob::Range::Within => {
                let (be, be_an) = midijob::bases(midi, gross, days);
                notes.push(format!(
                    "Übergangsbereich {year} ({} to {} a month, Faktor F 0.{:04}, § 20 Absatz 2a SGB IV): beitragspflichtige Einnahme {}, for the employee's share {}",
                    euro(midi.g + 1),
                    euro(midi.og),
                    midi.f,
                    euro(be),
                    euro(be_an)
                ));
            }
        },
        Kind::Unset if any_sv && gross > 0 && gross * 30 <= midi.og * days => {
            return Err(Error::invalid(format!(
                "gross: {} for a {} period is within the Minijob/Midijob range (up to {} a month) where the social insurance contributions follow § 8 and § 20 SGB IV; set profile.beschaeftigung to \"minijob\" (up to {} a month in {year}), \"midijob\" (regular pay in the Übergangsbereich) or \"regulaer\" (a regular employment paid less this period, e.g. a partial month)",
                euro(gross),
                input.frequency,
                euro(midi.og),
                euro(midi.g)
            )));
        }
        // No pay: nothing to compute the Übergangsbereich on; every line is zero.
        Kind::Midijob => sv_kind = Kind::Regulaer,
        _ => {}
    }
    let minijob = sv_kind == Kind::Minijob;
    let umlagen = umlagen::from_profile(profile.umlagen.as_ref(), minijob, mj_umlagen)?;

    let (land_code, land_name, kist_rate) = LAENDER[profile.land];
    let sachsen = land_code == "SN";
    let pva = (profile.pv_kinder - 1).clamp(0, 4);
    let pap_in = pap_input(&profile, year, pap_params, lzz, gross);
    let mut out = pap::run(pap_params, &pap_in);
    if minijob {
        // The 2 % Pauschsteuer replaces Lohnsteuer, Solidaritätszuschlag and
        // Kirchensteuer (§ 40a Absatz 2 EStG).
        out.lstlzz = 0;
        out.solzlzz = 0;
        out.bk = 0;
    }
    // Kirchensteuer: the rate on the Maßstabsteuer BK; fractions of a cent are dropped.
    let kist = if profile.kirche {
        div_down(out.bk * kist_rate, 100)
    } else {
        0
    };

    let mut raw: Vec<(&str, &str, i128, LineKind)> = vec![
        (
            "de-lohnsteuer",
            "Lohnsteuer",
            out.lstlzz,
            LineKind::EmployeeTax,
        ),
        (
            "de-solidaritaetszuschlag",
            "Solidaritätszuschlag",
            out.solzlzz,
            LineKind::EmployeeTax,
        ),
        (
            kirche::line(profile.konfession),
            "Kirchensteuer",
            kist,
            LineKind::EmployeeTax,
        ),
    ];
    let insured = sv::Insured {
        gkv: profile.gkv,
        kvz: profile.kvz,
        sachsen,
        kinderlos: profile.kinderlos,
        pv_abschlaege: pva,
        rv: profile.rv,
        av: profile.av,
    };
    let contributions = match sv_kind {
        Kind::Minijob => minijob::contributions(
            gross,
            days,
            profile.gkv,
            profile.rv_befreit,
            sv_params.rv_rate,
        ),
        Kind::Midijob => midijob::contributions(sv_params, midi, &insured, gross, days),
        _ => sv::contributions(sv_params, &insured, gross, days),
    };
    for (code, desc, amount, employer) in contributions {
        let kind = if employer {
            LineKind::EmployerContribution
        } else {
            LineKind::EmployeeContribution
        };
        raw.push((code, desc, amount, kind));
    }
    for (code, desc, amount) in
        umlagen::lines(&umlagen, gross, days, sv_params.bbg_rv_year, minijob)
    {
        raw.push((code, desc, amount, LineKind::EmployerContribution));
    }

    *ytd.entry("gross".into()).or_insert(0) += input.gross;
    // What a later sonstiger Bezug needs (see [`bonus`]): the laufender Arbeitslohn,
    // the Sozialversicherungstage and the pay charged to KV/PV and RV/AV so far (up
    // to the period's ceilings).
    *ytd.entry("laufend-gross".into()).or_insert(0) += input.gross;
    *ytd.entry("sv-tage".into()).or_insert(0) += days as i64;
    for (code, bbg_year) in [
        ("kv-entgelt", sv_params.bbg_kv_year),
        ("rv-entgelt", sv_params.bbg_rv_year),
    ] {
        let charged = gross.min(div_down(bbg_year * days, 360));
        *ytd.entry(code.into()).or_insert(0) += i64::try_from(charged)
            .map_err(|_| Error::internal(format!("{code}: {charged} out of range")))?;
    }
    let mut lines = Vec::new();
    for (code, desc, amount, kind) in raw {
        let amount = i64::try_from(amount)
            .map_err(|_| Error::internal(format!("{code}: amount {amount} out of range")))?;
        *ytd.entry(ytd_code(code).into()).or_insert(0) += amount;
        if amount != 0 {
            lines.push(Line {
                code: code.into(),
                description: desc.into(),
                amount,
                kind,
            });
        }
    }
    for code in YTD_CODES {
        ytd.entry(code.into()).or_insert(0);
    }

    let (bbg_rv, bbg_kv) = sv::ceilings(sv_params, days);
    let mut head = vec![format!(
        "Lohnsteuer by the BMF Programmablaufplan {year} (Steuerklasse {}, LZZ {}); Maßstabsteuer for the Kirchensteuer {}",
        profile.stkl,
        match lzz {
            Lzz::Jahr => 1,
            Lzz::Monat => 2,
            Lzz::Woche => 3,
        },
        euro(out.bk)
    )];
    if minijob {
        head = vec![format!(
            "Minijob {year} (Geringfügigkeitsgrenze {} a month): 2 % Pauschsteuer instead of Lohnsteuer, flat employer contributions to the Minijob-Zentrale{}",
            euro(midi.g),
            if profile.rv_befreit {
                "; the employee is exempted from the Rentenversicherung (no 3.6 % top-up)"
            } else {
                ""
            }
        )];
    }
    head.append(&mut notes);
    let mut notes = head;
    if profile.kirche && !minijob {
        notes.push(kirche::note(profile.konfession, kist_rate, land_name));
    }

    notes.push(format!(
        "Beitragsbemessungsgrenzen for {days} Sozialversicherungstage: RV/AV {}, KV/PV {}",
        euro(bbg_rv),
        euro(bbg_kv)
    ));
    Ok(Payslip::new(
        input,
        year.to_string(),
        None,
        lines,
        ytd,
        notes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_cases_match() {
        let problems = backoffice_sdk::payroll::fixture_problems(
            include_str!("../../../tests/data/payroll/de.json"),
            "DE",
            calculate,
        );
        assert!(
            problems.is_empty(),
            "{} problems:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }

    fn base() -> CalcInput {
        serde_json::from_value(json!({
            "country": "DE", "pay-date": "2026-03-31", "frequency": "monthly",
            "gross": 500000, "currency": "EUR",
            "profile": {"steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.9"}
        }))
        .expect("valid input")
    }

    fn err(input: &CalcInput) -> String {
        match calculate(input) {
            Err(Error::InvalidInput(m)) => m,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn with_profile(field: &str, value: Value) -> CalcInput {
        let mut i = base();
        i.profile[field] = value;
        i
    }

    #[test]
    fn base_case_computes() {
        let slip = calculate(&base()).expect("computes");
        assert_eq!(slip.tax_year, "2026");
        assert_eq!(slip.ytd.len(), YTD_CODES.len());
    }

    #[test]
    fn refuses_wrong_country_currency_gross() {
        let mut i = base();
        i.country = "AT".into();
        assert!(err(&i).contains("country: \"AT\""));
        let mut i = base();
        i.currency = "USD".into();
        assert!(err(&i).contains("currency: \"USD\""));
        let mut i = base();
        i.gross = -1;
        assert!(err(&i).contains("gross: -1 is negative"));
    }

    #[test]
    fn refuses_unsupported_frequency() {
        let mut i = base();
        i.frequency = Frequency::Biweekly;
        let m = err(&i);
        assert!(
            m.contains("frequency: biweekly") && m.contains("monthly"),
            "{m}"
        );
    }

    #[test]
    fn refuses_bad_or_unsupported_pay_dates() {
        let mut i = base();
        i.pay_date = "2025-02-29".into();
        assert!(err(&i).contains("not a date"));
        i.pay_date = "31.03.2025".into();
        assert!(err(&i).contains("YYYY-MM-DD"));
        i.pay_date = "2024-12-31".into();
        assert_eq!(
            err(&i),
            "pay-date: 2024-12-31 is in tax year 2024; payroll-de has rules for 2025 and 2026"
        );
        i.pay_date = "2027-01-01".into();
        assert!(err(&i).contains("tax year 2027"));
    }

    #[test]
    fn refuses_unknown_and_invalid_profile_fields() {
        let m = err(&with_profile("religion", json!("rk")));
        assert!(m.contains("unknown field `religion`"), "{m}");
        assert!(err(&with_profile("steuerklasse", json!(7))).contains("profile.steuerklasse: 7"));
        assert!(err(&with_profile("steuerklasse", json!("1"))).contains("from 1 to 6"));
        assert!(err(&with_profile("kinderfreibetraege", json!(1.3))).contains("steps of 0.5"));
        assert!(err(&with_profile("bundesland", json!("XX"))).contains("one of BW"));
        assert!(err(&with_profile("kv", json!("frei"))).contains("\"gesetzlich\" or"));
        assert!(err(&with_profile("kv-zusatzbeitrag", json!(2.5))).contains("decimal string"));
        assert!(err(&with_profile("kv-zusatzbeitrag", json!("2.555"))).contains("two decimals"));
        assert!(err(&with_profile("faktor", json!("0.9"))).contains("steuerklasse 4"));
        let m = err(&with_profile("kirchensteuer", json!("ja")));
        assert!(m.contains("true or false"), "{m}");
        assert!(
            m.contains("\"ev\" (evangelisch), \"rk\" (römisch-katholisch)"),
            "{m}"
        );
        let mut i = base();
        i.profile = json!([]);
        assert!(err(&i).contains("JSON object"));
        let mut i = base();
        i.profile
            .as_object_mut()
            .expect("object")
            .remove("steuerklasse");
        assert!(err(&i).contains("steuerklasse is missing"));
        let mut i = base();
        i.profile
            .as_object_mut()
            .expect("object")
            .remove("kv-zusatzbeitrag");
        assert!(err(&i).contains("kv-zusatzbeitrag is missing"));
    }

    #[test]
    fn refuses_contradicting_profiles() {
        let mut i = with_profile("steuerklasse", json!(4));
        i.profile["faktor"] = json!("1.2");
        assert!(err(&i).contains("below 1"));
        let mut i = with_profile("steuerklasse", json!(5));
        i.profile["kinderfreibetraege"] = json!(1);
        assert!(err(&i).contains("only classes 1 to 4"));
        let mut i = with_profile("kinderlos", json!(true));
        i.profile["pv-kinder"] = json!(2);
        assert!(err(&i).contains("contradict"));
        let i = with_profile("pkv-beitrag", json!(50000));
        assert!(err(&i).contains("only accepted with kv \"privat\""));
        let mut i = with_profile("kv", json!("privat"));
        assert!(err(&i).contains("kv-zusatzbeitrag is only accepted"));
        i.profile
            .as_object_mut()
            .expect("object")
            .remove("kv-zusatzbeitrag");
        assert!(err(&i).contains("pkv-beitrag is missing"));
    }

    #[test]
    fn refuses_midijob_range_and_bad_ytd() {
        let mut i = base();
        i.gross = 200_000;
        assert!(err(&i).contains("Minijob/Midijob"));
        i.gross = 200_001;
        assert!(calculate(&i).is_ok());
        let mut i = base();
        i.ytd.insert("brutto".into(), 1);
        assert!(err(&i).contains("unknown code `brutto`"));
        let mut i = base();
        i.ytd.insert("gross".into(), -5);
        assert!(err(&i).contains("ytd.gross: -5"));
    }

    #[test]
    fn ytd_adds_this_period() {
        let mut i = base();
        i.ytd.insert("gross".into(), 1_000_000);
        i.ytd.insert("lohnsteuer".into(), 150_000);
        let slip = calculate(&i).expect("computes");
        let lst = slip
            .lines
            .iter()
            .find(|l| l.code == "de-lohnsteuer")
            .expect("Lohnsteuer line")
            .amount;
        assert_eq!(slip.ytd["gross"], 1_500_000);
        assert_eq!(slip.ytd["lohnsteuer"], 150_000 + lst);
        assert_eq!(slip.ytd["solidaritaetszuschlag"], 0);
    }

    #[test]
    fn schema_describes_every_field_and_is_strict() {
        let s = profile_schema();
        assert_eq!(s["additionalProperties"], json!(false));
        let props = s["properties"].as_object().expect("properties");
        assert_eq!(props.len(), PROFILE_FIELDS.len());
        for f in PROFILE_FIELDS {
            assert!(props[f]["description"].is_string(), "{f} described");
        }
    }
}
