//! The employer's Umlagen: U1 (Entgeltfortzahlung im Krankheitsfall), U2
//! (Mutterschaft) under the Aufwendungsausgleichsgesetz (AAG), and U3, the
//! Insolvenzgeldumlage (§§ 358 to 361 SGB III).
//!
//! * **Base**: the pay from which the Rentenversicherung contributions are (or, when
//!   the employee is not insured there, would be) computed, up to the RV
//!   Beitragsbemessungsgrenze (§ 7 Absatz 2 AAG, § 358 Absatz 2 SGB III). In the
//!   Übergangsbereich that is the actual pay, not the reduced base.
//! * **Rates**: U1 and U2 are set by each Krankenkasse in its statutes (§ 9 AAG) and
//!   differ between insurers and, for U1, by the refund level the employer chose;
//!   the profile gives them. Only employers with at most 30 employees take part in U1
//!   (§ 1 Absatz 1 AAG), so U1 is left out unless given. For Minijobs the
//!   Minijob-Zentrale's rates apply (below). U3 is 0.15 % (§ 360 SGB III; no deviating
//!   Verordnung under § 361 SGB III for 2025; for 2026 the Minijob-Zentrale and the
//!   insurers announced it unchanged at 0.15 %); public employers and private
//!   households do not pay it (§ 358 Absatz 1 Satz 2 SGB III): set `u3` false.
//! * **Rounding**: each Umlage is rounded commercially to the cent per employee.

use backoffice_sdk::{Error, Result};
use serde_json::{Map, Value};

use super::bad;
use super::fixed::{div_half_up, parse_decimal};

const MIO: i128 = 1_000_000;

/// U3 Insolvenzgeldumlage, 0.15 % in 2025 and 2026 (§ 360 SGB III), in millionths.
pub const U3: i128 = 1_500;

/// The Minijob-Zentrale's U1 and U2 rates of one year, in millionths.
#[derive(Debug, Clone, Copy)]
pub struct MinijobUmlagen {
    /// U1.
    pub u1: i128,
    /// U2.
    pub u2: i128,
}

/// 2025: U1 1.1 %, U2 0.22 % (Minijob-Zentrale, Umlagesätze 2025, as reported by
/// minijobs-aktuell.de and personalwissen.de; not read on minijob-zentrale.de offline).
pub const MINIJOB_2025: MinijobUmlagen = MinijobUmlagen {
    u1: 11_000,
    u2: 2_200,
};

/// 2026: U1 lowered to 0.8 % from 1 January 2026, U2 unchanged at 0.22 % (same sources).
pub const MINIJOB_2026: MinijobUmlagen = MinijobUmlagen {
    u1: 8_000,
    u2: 2_200,
};

/// Which Umlagen apply and at which rates (millionths); `None` where not paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Umlagen {
    /// U1 rate.
    pub u1: Option<i128>,
    /// U2 rate.
    pub u2: Option<i128>,
    /// U3 rate.
    pub u3: Option<i128>,
}

/// A percentage string with up to two decimals, 0 to 9.99, in millionths.
fn umlage_rate(field: &str, v: &Value) -> Result<i128> {
    v.as_str()
        .and_then(|s| parse_decimal(s, 2))
        .filter(|r| *r < 1_000)
        .map(|r| r * 100)
        .ok_or_else(|| {
            bad(
                &format!("umlagen.{field}"),
                v,
                "the Krankenkasse's rate in percent as a string with up to two decimals, e.g. \"2.8\"",
            )
        })
}

/// Which Umlagen apply, from `profile.umlagen`: rates for regular and Midijob
/// employments, switches (default on) at the Minijob-Zentrale's rates for Minijobs.
pub fn from_profile(
    u: Option<&Map<String, Value>>,
    minijob: bool,
    rates: &MinijobUmlagen,
) -> Result<Umlagen> {
    let empty = Map::new();
    let Some(u) = u.or(minijob.then_some(&empty)) else {
        return Ok(Umlagen::default());
    };
    for key in u.keys() {
        if !matches!(key.as_str(), "u1" | "u2" | "u3") {
            return Err(Error::invalid(format!(
                "profile.umlagen: unknown field `{key}`; accepted fields are u1, u2 and u3"
            )));
        }
    }
    let switch = |field: &str, rate: i128| -> Result<Option<i128>> {
        match u.get(field) {
            None | Some(Value::Bool(true)) => Ok(Some(rate)),
            Some(Value::Bool(false)) => Ok(None),
            Some(v) => Err(bad(
                &format!("umlagen.{field}"),
                v,
                "true or false: a Minijob pays the Minijob-Zentrale's rates, which cannot be changed",
            )),
        }
    };
    if minijob {
        return Ok(Umlagen {
            u1: switch("u1", rates.u1)?,
            u2: switch("u2", rates.u2)?,
            u3: switch("u3", U3)?,
        });
    }
    let rate = |field: &str| -> Result<Option<i128>> {
        match u.get(field) {
            None | Some(Value::Bool(false)) => Ok(None),
            Some(v) => umlage_rate(field, v).map(Some),
        }
    };
    Ok(Umlagen {
        u1: rate("u1")?,
        u2: rate("u2")?,
        u3: switch("u3", U3)?,
    })
}

/// One line: (code, description, cents).
pub type UmlageLine = (&'static str, &'static str, i128);

/// The Umlage lines on `gross` cents for `days` Sozialversicherungstage, capped at the
/// annual RV ceiling `bbg_rv_year` (cents) × days / 360.
pub fn lines(
    u: &Umlagen,
    gross: i128,
    days: i128,
    bbg_rv_year: i128,
    minijob: bool,
) -> Vec<UmlageLine> {
    let amount = |rate: i128| {
        if gross * 360 > bbg_rv_year * days {
            div_half_up(bbg_rv_year * days * rate, 360 * MIO)
        } else {
            div_half_up(gross * rate, MIO)
        }
    };
    let names: [(&str, &str, &str, &str); 3] = [
        (
            "de-u1",
            "de-minijob-u1",
            "Umlage U1 (Entgeltfortzahlung bei Krankheit)",
            "Umlage U1 Minijob (Entgeltfortzahlung bei Krankheit)",
        ),
        (
            "de-u2",
            "de-minijob-u2",
            "Umlage U2 (Mutterschaft)",
            "Umlage U2 Minijob (Mutterschaft)",
        ),
        (
            "de-u3",
            "de-minijob-u3",
            "Insolvenzgeldumlage (U3)",
            "Insolvenzgeldumlage Minijob (U3)",
        ),
    ];
    let mut out = Vec::new();
    for (rate, (code, mini_code, what, mini_what)) in [u.u1, u.u2, u.u3].into_iter().zip(names) {
        if let Some(rate) = rate {
            let (c, w) = if minijob {
                (mini_code, mini_what)
            } else {
                (code, what)
            };
            out.push((c, w, amount(rate)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reported Minijob-Zentrale example, 550 EUR a month: 2025 U1 6.05, U2 1.21,
    /// U3 0.83 (0.825 rounded up); 2026 U1 4.40.
    #[test]
    fn minijob_umlagen_on_550() {
        let all = |m: MinijobUmlagen| Umlagen {
            u1: Some(m.u1),
            u2: Some(m.u2),
            u3: Some(U3),
        };
        let l = lines(&all(MINIJOB_2025), 55_000, 30, 9_660_000, true);
        let amounts: Vec<i128> = l.iter().map(|x| x.2).collect();
        assert_eq!(amounts, vec![605, 121, 83]);
        assert_eq!(l[0].0, "de-minijob-u1");
        let l = lines(&all(MINIJOB_2026), 55_000, 30, 10_140_000, true);
        assert_eq!(l[0].2, 440);
    }

    #[test]
    fn capped_at_the_rv_ceiling() {
        // 2026 RV ceiling 8,450 EUR a month; U3 0.15 % of it = 12.675 -> 12.68.
        let u = Umlagen {
            u3: Some(U3),
            ..Umlagen::default()
        };
        assert_eq!(
            lines(&u, 1_000_000, 30, 10_140_000, false)[0],
            ("de-u3", "Insolvenzgeldumlage (U3)", 1_268)
        );
    }
}
