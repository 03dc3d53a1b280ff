//! Geringfügig entlohnte Beschäftigung (Minijob, § 8 Absatz 1 Nr. 1 SGB IV) in a
//! business (not a private household), paid through the Minijob-Zentrale.
//!
//! * **Limit**: the Geringfügigkeitsgrenze, 556 EUR a month in 2025 and 603 EUR in 2026
//!   (§ 8 Absatz 1a SGB IV; see [`super::midijob::MIDI_2025`]), for other periods ×
//!   days / 30. Pay above it is refused: the occasional, unforeseeable exceeding that
//!   § 8 Absatz 1b SGB IV tolerates is not modelled.
//! * **Employer** (Pauschalbeiträge and Pauschsteuer, Minijob-Zentrale "Minijobs im
//!   gewerblichen Bereich"): Krankenversicherung 13 % when the employee is statutorily
//!   insured (§ 249b SGB V), Rentenversicherung 15 % (§ 168 Absatz 1 Nr. 1b SGB VI),
//!   einheitliche Pauschsteuer 2 % (§ 40a Absatz 2 EStG; it covers Lohnsteuer,
//!   Solidaritätszuschlag and Kirchensteuer, and is paid to the Minijob-Zentrale).
//! * **Employee**: the difference to the full Rentenversicherung rate, 18.6 % − 15 % =
//!   3.6 %, unless exempted on request (Befreiung, § 6 Absatz 1b SGB VI). The full rate
//!   applies to at least 175 EUR a month (Mindestbeitragsbemessungsgrundlage, § 163
//!   Absatz 8 SGB VI), so below it the employee pays more than 3.6 %. We compute the
//!   Gesamtbeitrag (18.6 % of the base) and the employer's 15 % of the pay, each rounded
//!   to the cent, and the employee pays the difference.
//! * No Lohnsteuer by ELStAM, Pflege- or Arbeitslosenversicherung.

use super::fixed::div_half_up;

const MIO: i128 = 1_000_000;

/// Employer's flat Krankenversicherung contribution, 13 % (§ 249b Satz 1 SGB V).
pub const KV_AG: i128 = 130_000;
/// Employer's flat Rentenversicherung contribution, 15 % (§ 168 Absatz 1 Nr. 1b SGB VI).
pub const RV_AG: i128 = 150_000;
/// Einheitliche Pauschsteuer, 2 % (§ 40a Absatz 2 EStG).
pub const PAUSCHSTEUER: i128 = 20_000;
/// Mindestbeitragsbemessungsgrundlage per month, 175 EUR (§ 163 Absatz 8 SGB VI).
pub const RV_MIN_BASE: i128 = 17_500;

/// One line: (code, description, cents, paid by the employer).
pub type MiniLine = (&'static str, &'static str, i128, bool);

/// The Minijob lines of one period of `days` days.
pub fn contributions(
    gross: i128,
    days: i128,
    gkv: bool,
    rv_befreit: bool,
    rv_rate: i128,
) -> Vec<MiniLine> {
    let mut out = Vec::new();
    let rv_ag = div_half_up(gross * RV_AG, MIO);
    if !rv_befreit && gross > 0 {
        // The base is at least 175 EUR for 30 days (× days / 30 for other periods).
        let base30 = (gross * 30).max(RV_MIN_BASE * days);
        let gesamt = div_half_up(base30 * rv_rate, 30 * MIO);
        out.push((
            "de-minijob-rv-an",
            "Rentenversicherung Minijob (Arbeitnehmeranteil)",
            gesamt - rv_ag,
            false,
        ));
    }
    if gkv {
        out.push((
            "de-minijob-kv-ag",
            "Krankenversicherung Minijob (Pauschalbeitrag 13 %)",
            div_half_up(gross * KV_AG, MIO),
            true,
        ));
    }
    out.push((
        "de-minijob-rv-ag",
        "Rentenversicherung Minijob (Pauschalbeitrag 15 %)",
        rv_ag,
        true,
    ));
    out.push((
        "de-minijob-pauschsteuer",
        "Einheitliche Pauschsteuer Minijob (2 %)",
        div_half_up(gross * PAUSCHSTEUER, MIO),
        true,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minijob-Zentrale's figures as reported for a 550 EUR Minijob (minijobs-aktuell.de,
    /// "Minijob-Zentrale senkt U1 Beiträge 2026"): KV 71.50, RV 82.50, Pauschsteuer
    /// 11.00; the employee's 3.6 % is 19.80.
    #[test]
    fn flat_contributions_on_550() {
        let lines = contributions(55_000, 30, true, false, 186_000);
        let amount = |code: &str| lines.iter().find(|l| l.0 == code).map(|l| l.2);
        assert_eq!(amount("de-minijob-kv-ag"), Some(7_150));
        assert_eq!(amount("de-minijob-rv-ag"), Some(8_250));
        assert_eq!(amount("de-minijob-pauschsteuer"), Some(1_100));
        assert_eq!(amount("de-minijob-rv-an"), Some(1_980));
    }

    /// Below 175 EUR the full 18.6 % applies to 175 EUR: 32.55 − 15 % of 100 (15.00) =
    /// 17.55 for the employee.
    #[test]
    fn minimum_base_below_175() {
        let lines = contributions(10_000, 30, false, false, 186_000);
        assert_eq!(lines[0], ("de-minijob-rv-an", lines[0].1, 1_755, false));
        assert!(lines.iter().all(|l| l.0 != "de-minijob-kv-ag"));
        // Exempted: no employee share.
        let lines = contributions(10_000, 30, true, true, 186_000);
        assert!(lines.iter().all(|l| l.0 != "de-minijob-rv-an"));
    }
}
