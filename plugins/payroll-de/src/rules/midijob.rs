//! The Übergangsbereich (Midijob, § 20 Absatz 2 and 2a SGB IV): an employment whose
//! regular monthly pay lies above the Geringfügigkeitsgrenze and at most 2,000 EUR.
//!
//! Since 1 October 2022 the contributions are split in three steps (§ 20 Absatz 2a
//! SGB IV; Deutsche Rentenversicherung, rvRecht "Berechnung des Beitragsanteils des
//! Arbeitnehmers ab 01.10.2022 im Übergangsbereich", § 2 Absatz 2 Satz 3 BVV):
//!
//! 1. the **Gesamtbeitrag** of each branch is its full rate on the reduced
//!    beitragspflichtige Einnahme `BE = F × G + ((OG / (OG − G)) − (G / (OG − G)) × F)
//!    × (AE − G)` (§ 20 Absatz 2a Satz 1), rounded to the cent;
//! 2. the **employee's share** is the employee's rate on `BE_AN = (OG / (OG − G)) ×
//!    (AE − G)` (§ 20 Absatz 2a Satz 6), rounded to the cent;
//! 3. the **employer's share** is the Gesamtbeitrag minus the employee's share.
//!
//! `AE` is the period's pay, `G` the Geringfügigkeitsgrenze, `OG` 2,000 EUR, and `F`
//! the year's factor: 28 % over the year's Gesamtsozialversicherungsbeitragssatz
//! (§ 20 Absatz 2a Satz 2 SGB IV). No intermediate result is rounded; the formula is
//! evaluated exactly. For a period other than a month, `G` and `OG` are taken for its
//! Sozialversicherungstage (× days / 30), as the BVV does for every monthly limit.
//!
//! Pflegeversicherung: the childless surcharge and the child reductions change only
//! the employee's rate (§ 55 Absatz 3, § 58 Absatz 1 SGB XI); they are applied to
//! `BE_AN`, and the employer's share is the Gesamtbeitrag at 3.6 % on `BE` minus the
//! employee's base share (1.8 %, Saxony 2.3 %) on `BE_AN`. This is our reading of the
//! rules; no official worked example of the PV split was available offline.

use super::fixed::div_half_up;
use super::sv::{Contribution, Insured, SvParams};

const MIO: i128 = 1_000_000;

/// The Übergangsbereich of one year.
#[derive(Debug, Clone, Copy)]
pub struct MidiParams {
    /// Geringfügigkeitsgrenze per month, cents (§ 8 Absatz 1a SGB IV).
    pub g: i128,
    /// Upper limit per month, cents (§ 20 Absatz 2 SGB IV).
    pub og: i128,
    /// Faktor F in ten-thousandths.
    pub f: i128,
}

/// 2025: Geringfügigkeitsgrenze 556 EUR (§ 8 Absatz 1a SGB IV: Mindestlohn 12.82 EUR
/// × 130 / 3 = 555.53, rounded up to the euro; Bekanntmachung im Bundesanzeiger of
/// 7 December 2023), so the Übergangsbereich is 556.01 to 2,000 EUR; Faktor F 0.6683
/// (28 % / 41.9 %, with the average Zusatzbeitrag 2.5 %), as the Deutsche
/// Rentenversicherung publishes the employee's formula for 2025: 1.385041551246537 ×
/// AE − 770.0831024930748 (rvRecht, Werte ab 01.01.2025).
pub const MIDI_2025: MidiParams = MidiParams {
    g: 55_600,
    og: 200_000,
    f: 6_683,
};

/// 2026: Geringfügigkeitsgrenze 603 EUR (§ 8 Absatz 1a SGB IV: Mindestlohn 13.90 EUR
/// × 130 / 3 = 602.33, rounded up), Übergangsbereich 603.01 to 2,000 EUR; Faktor F
/// 0.6619 (28 % / 42.3 %: KV 14.6 + average Zusatzbeitrag 2.9, PV 3.6, RV 18.6, AV
/// 2.6), giving BE = 1.145937223 × AE − 291.8744452 and BE_AN = 1.431639227 × AE −
/// 863.2784538 (Haufe, "Neue Formeln für Midijobs ab 1.1.2026"). F and the 42.3 %
/// were announced by the BMAS in the Bundesanzeiger of 18 December 2025 (as reported
/// by IKK classic, "Gesamtsozialversicherungsbeitrag und Faktor F für 2026").
pub const MIDI_2026: MidiParams = MidiParams {
    g: 60_300,
    og: 200_000,
    f: 6_619,
};

/// Where the period's pay lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// At most the Geringfügigkeitsgrenze of the period (and above zero).
    Below,
    /// In the Übergangsbereich.
    Within,
    /// Above 2,000 EUR for the period: the general rules apply to this period.
    Above,
}

/// Classify `gross` (cents) for a period of `days` Sozialversicherungstage.
pub fn range(m: &MidiParams, gross: i128, days: i128) -> Range {
    if gross * 30 <= m.g * days {
        Range::Below
    } else if gross * 30 > m.og * days {
        Range::Above
    } else {
        Range::Within
    }
}

/// The reduced bases of the period in cents, for the notes: (`BE`, `BE_AN`).
pub fn bases(m: &MidiParams, gross: i128, days: i128) -> (i128, i128) {
    let (g, og, ae) = (m.g * days, m.og * days, gross * 30);
    let be = div_half_up(
        m.f * g * (og - g) + (10_000 * og - g * m.f) * (ae - g),
        30 * 10_000 * (og - g),
    );
    let be_an = div_half_up(og * (ae - g), 30 * (og - g));
    (be, be_an)
}

/// Gesamtbeitrag at `rate` (millionths) on `BE`, rounded to the cent.
fn total(m: &MidiParams, gross: i128, days: i128, rate: i128) -> i128 {
    let (g, og, ae) = (m.g * days, m.og * days, gross * 30);
    let num = m.f * g * (og - g) + (10_000 * og - g * m.f) * (ae - g);
    div_half_up(num * rate, 30 * 10_000 * (og - g) * MIO)
}

/// Employee's share at `rate` (millionths) on `BE_AN`, rounded to the cent.
fn employee(m: &MidiParams, gross: i128, days: i128, rate: i128) -> i128 {
    let (g, og, ae) = (m.g * days, m.og * days, gross * 30);
    div_half_up(og * (ae - g) * rate, 30 * (og - g) * MIO)
}

/// The contributions of a period within the Übergangsbereich, in the order of
/// [`super::sv::contributions`]: employee shares, then employer shares.
pub fn contributions(
    p: &SvParams,
    m: &MidiParams,
    ins: &Insured,
    gross: i128,
    days: i128,
) -> Vec<Contribution> {
    let mut an = Vec::new();
    let mut ag = Vec::new();
    let mut split = |code_an: &'static str,
                     what_an: &'static str,
                     code_ag: &'static str,
                     what_ag: &'static str,
                     full: i128,
                     employee_base: i128,
                     employee_rate: i128| {
        let share = employee(m, gross, days, employee_rate);
        let employer = total(m, gross, days, full) - employee(m, gross, days, employee_base);
        an.push((code_an, what_an, share, false));
        ag.push((code_ag, what_ag, employer, true));
    };
    if ins.gkv {
        let half = p.kv_rate / 2 + ins.kvz * 50;
        split(
            "de-kv-an",
            "Krankenversicherung (Arbeitnehmeranteil, Übergangsbereich)",
            "de-kv-ag",
            "Krankenversicherung (Arbeitgeberanteil, Übergangsbereich)",
            2 * half,
            half,
            half,
        );
        let (pv_an, pv_ag) = if ins.sachsen {
            (p.pv_an_sn, p.pv_ag_sn)
        } else {
            (p.pv_an, p.pv_ag)
        };
        let actual = if ins.kinderlos {
            pv_an + p.pv_kinderlos
        } else {
            pv_an - ins.pv_abschlaege * p.pv_abschlag
        };
        split(
            "de-pv-an",
            "Pflegeversicherung (Arbeitnehmeranteil, Übergangsbereich)",
            "de-pv-ag",
            "Pflegeversicherung (Arbeitgeberanteil, Übergangsbereich)",
            pv_an + pv_ag,
            pv_an,
            actual,
        );
    }
    if ins.rv {
        split(
            "de-rv-an",
            "Rentenversicherung (Arbeitnehmeranteil, Übergangsbereich)",
            "de-rv-ag",
            "Rentenversicherung (Arbeitgeberanteil, Übergangsbereich)",
            p.rv_rate,
            p.rv_rate / 2,
            p.rv_rate / 2,
        );
    }
    if ins.av {
        split(
            "de-av-an",
            "Arbeitslosenversicherung (Arbeitnehmeranteil, Übergangsbereich)",
            "de-av-ag",
            "Arbeitslosenversicherung (Arbeitgeberanteil, Übergangsbereich)",
            p.av_rate,
            p.av_rate / 2,
            p.av_rate / 2,
        );
    }
    an.extend(ag);
    an
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published simplified formulas, evaluated at 1,000 EUR: 2026 BE = 1.145937223
    /// × 1000 − 291.8744452 = 854.06 and BE_AN = 1.431639227 × 1000 − 863.2784538 =
    /// 568.36 (Haufe, "Neue Formeln für Midijobs ab 1.1.2026"); 2025 BE_AN =
    /// 1.385041551246537 × 1000 − 770.0831024930748 = 614.96 (DRV rvRecht).
    #[test]
    fn bases_match_the_published_formulas() {
        assert_eq!(bases(&MIDI_2026, 100_000, 30), (85_406, 56_836));
        assert_eq!(bases(&MIDI_2025, 100_000, 30).1, 61_496);
        // 2025 BE = 1.127718283 × 1000 − 255.436565097 = 872.28.
        assert_eq!(bases(&MIDI_2025, 100_000, 30).0, 87_228);
        // At the upper limit both bases are the pay itself.
        assert_eq!(bases(&MIDI_2026, 200_000, 30), (200_000, 200_000));
    }

    #[test]
    fn ranges_per_period() {
        assert_eq!(range(&MIDI_2026, 60_300, 30), Range::Below);
        assert_eq!(range(&MIDI_2026, 60_301, 30), Range::Within);
        assert_eq!(range(&MIDI_2026, 200_000, 30), Range::Within);
        assert_eq!(range(&MIDI_2026, 200_001, 30), Range::Above);
        // A week: 603 × 7 / 30 = 140.70, 2,000 × 7 / 30 = 466.67.
        assert_eq!(range(&MIDI_2026, 14_070, 7), Range::Below);
        assert_eq!(range(&MIDI_2026, 46_666, 7), Range::Within);
        assert_eq!(range(&MIDI_2026, 46_667, 7), Range::Above);
    }
}
