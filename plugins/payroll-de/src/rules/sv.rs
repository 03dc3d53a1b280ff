//! Social insurance contributions (Gesamtsozialversicherungsbeitrag) for laufendes
//! Arbeitsentgelt above the Übergangsbereich: Krankenversicherung (KV),
//! Pflegeversicherung (PV), Rentenversicherung (RV), Arbeitslosenversicherung (AV).
//!
//! Rounding follows the Beitragsverfahrensverordnung (BVV):
//! - § 1 Absatz 1: contributions and Beitragsbemessungsgrenzen are computed per
//!   Sozialversicherungstag; a full month counts 30 days (so a year 360, a week 7),
//!   the ceiling of a period is annual BBG × days / 360.
//! - § 1 Absatz 2: no rounding of intermediate results; the result is rounded to two
//!   decimals commercially (third decimal 5 to 9 rounds up).
//! - § 2 Absatz 1 Satz 1: contributions shared half and half (KV incl. the
//!   Zusatzbeitrag, RV, AV) are the half rate applied to the pay and rounded; the
//!   employer's share equals the employee's.
//! - § 2 Absatz 1 Satz 3 and 4: shares that are not equal (PV with the childless
//!   surcharge, the child reductions or Saxony's split) are each computed with their
//!   own rate and rounded separately.

use super::fixed::div_half_up;

const MIO: i128 = 1_000_000;

/// The social insurance figures of one year (rates in millionths, BBG in cents).
#[derive(Debug, Clone, Copy)]
pub struct SvParams {
    /// Beitragsbemessungsgrenze RV/AV per year, uniform East and West from 2025.
    pub bbg_rv_year: i128,
    /// Beitragsbemessungsgrenze KV/PV per year.
    pub bbg_kv_year: i128,
    /// RV rate, shared half and half (§ 168 SGB VI).
    pub rv_rate: i128,
    /// AV rate, shared half and half (§ 346 SGB III).
    pub av_rate: i128,
    /// KV general rate (§ 241 SGB V), shared half and half with the
    /// kassenindividueller Zusatzbeitrag (§ 249 Absatz 1 SGB V).
    pub kv_rate: i128,
    /// PV shares (§ 55 Absatz 1, § 58 SGB XI): employee and employer, and in Saxony
    /// (§ 58 Absatz 3 SGB XI, the employee carries one point more).
    pub pv_an: i128,
    pub pv_ag: i128,
    pub pv_an_sn: i128,
    pub pv_ag_sn: i128,
    /// Childless surcharge, employee only, from age 23 (§ 55 Absatz 3 SGB XI).
    pub pv_kinderlos: i128,
    /// Reduction per child from the 2nd to the 5th child under 25, employee only
    /// (§ 55 Absatz 3 Satz 4 ff. SGB XI).
    pub pv_abschlag: i128,
}

/// 2025: BBG from the Sozialversicherungsrechengrößen-Verordnung 2025 (RV/AV
/// 96,600 EUR = 8,050 EUR a month; KV/PV 66,150 EUR = 5,512.50 EUR a month), the same
/// figures the PAP 2025 uses in MPARA (BBGRV, BBGKVPV); rates: RV 18.6 %
/// (Beitragssatzverordnung 2025), AV 2.6 % (§ 341 Absatz 2 SGB III), KV 14.6 %
/// (§ 241 SGB V), PV 3.6 % from 1 January 2025 (§ 55 Absatz 1 SGB XI), Saxony 2.3/1.3
/// (as PAP 2025 MPARA: PVSATZAN 0.023, PVSATZAG 0.013), surcharge 0.6, reduction 0.25.
pub const SV_2025: SvParams = SvParams {
    bbg_rv_year: 9_660_000,
    bbg_kv_year: 6_615_000,
    rv_rate: 186_000,
    av_rate: 26_000,
    kv_rate: 146_000,
    pv_an: 18_000,
    pv_ag: 18_000,
    pv_an_sn: 23_000,
    pv_ag_sn: 13_000,
    pv_kinderlos: 6_000,
    pv_abschlag: 2_500,
};

/// 2026: BBG from the Sozialversicherungsrechengrößen-Verordnung 2026 (RV/AV
/// 101,400 EUR = 8,450 EUR a month; KV/PV 69,750 EUR = 5,812.50 EUR a month), the same
/// figures the PAP 2026 uses in MPARA (BBGRVALV, BBGKVPV); rates unchanged from 2025
/// (RV 18.6 %, AV 2.6 %, KV 14.6 %, PV 3.6 %).
pub const SV_2026: SvParams = SvParams {
    bbg_rv_year: 10_140_000,
    bbg_kv_year: 6_975_000,
    ..SV_2025
};

/// What the employee's insurance looks like.
#[derive(Debug, Clone, Copy)]
pub struct Insured {
    /// Gesetzlich krankenversichert (KV and PV lines), with the kassenindividueller
    /// Zusatzbeitrag in hundredths of a percent.
    pub gkv: bool,
    pub kvz: i128,
    /// Saxony.
    pub sachsen: bool,
    /// Childless surcharge applies.
    pub kinderlos: bool,
    /// Number of PV child reductions (0..=4).
    pub pv_abschlaege: i128,
    /// Compulsorily insured in RV / AV.
    pub rv: bool,
    pub av: bool,
}

/// One contribution line: (code, description, amount in cents, paid by the employer).
pub type Contribution = (&'static str, &'static str, i128, bool);

/// Contribution at `rate` (millionths) on `gross` (cents), capped at the annual
/// `bbg` (cents) × `days` / 360, rounded commercially to the cent (BVV § 1).
pub fn contribution(gross: i128, bbg_year: i128, days: i128, rate: i128) -> i128 {
    if gross * 360 > bbg_year * days {
        div_half_up(bbg_year * days * rate, 360 * MIO)
    } else {
        div_half_up(gross * rate, MIO)
    }
}

/// The period's ceilings (cents, rounded for display only): (RV/AV, KV/PV).
pub fn ceilings(p: &SvParams, days: i128) -> (i128, i128) {
    (
        div_half_up(p.bbg_rv_year * days, 360),
        div_half_up(p.bbg_kv_year * days, 360),
    )
}

/// The employee and employer contributions for one period of `days`
/// Sozialversicherungstage, in payslip order.
pub fn contributions(p: &SvParams, ins: &Insured, gross: i128, days: i128) -> Vec<Contribution> {
    let mut an = Vec::new();
    let mut ag = Vec::new();
    if ins.gkv {
        // Half of 14.6 % plus half of the Zusatzbeitrag (hundredths of a percent
        // -> millionths: x 100 / 2 = x 50).
        let half = p.kv_rate / 2 + ins.kvz * 50;
        let kv = contribution(gross, p.bbg_kv_year, days, half);
        an.push((
            "de-kv-an",
            "Krankenversicherung (Arbeitnehmeranteil)",
            kv,
            false,
        ));
        ag.push((
            "de-kv-ag",
            "Krankenversicherung (Arbeitgeberanteil)",
            kv,
            true,
        ));
        let (mut pv_an, pv_ag) = if ins.sachsen {
            (p.pv_an_sn, p.pv_ag_sn)
        } else {
            (p.pv_an, p.pv_ag)
        };
        if ins.kinderlos {
            pv_an += p.pv_kinderlos;
        } else {
            pv_an -= ins.pv_abschlaege * p.pv_abschlag;
        }
        an.push((
            "de-pv-an",
            "Pflegeversicherung (Arbeitnehmeranteil)",
            contribution(gross, p.bbg_kv_year, days, pv_an),
            false,
        ));
        ag.push((
            "de-pv-ag",
            "Pflegeversicherung (Arbeitgeberanteil)",
            contribution(gross, p.bbg_kv_year, days, pv_ag),
            true,
        ));
    }
    if ins.rv {
        let rv = contribution(gross, p.bbg_rv_year, days, p.rv_rate / 2);
        an.push((
            "de-rv-an",
            "Rentenversicherung (Arbeitnehmeranteil)",
            rv,
            false,
        ));
        ag.push((
            "de-rv-ag",
            "Rentenversicherung (Arbeitgeberanteil)",
            rv,
            true,
        ));
    }
    if ins.av {
        let av = contribution(gross, p.bbg_rv_year, days, p.av_rate / 2);
        an.push((
            "de-av-an",
            "Arbeitslosenversicherung (Arbeitnehmeranteil)",
            av,
            false,
        ));
        ag.push((
            "de-av-ag",
            "Arbeitslosenversicherung (Arbeitgeberanteil)",
            av,
            true,
        ));
    }
    an.extend(ag);
    an
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monthly_ceiling_is_a_twelfth() {
        // 2025 KV/PV: 66,150 / 12 = 5,512.50; 8.55 % of it = 471.31875 -> 471.32
        assert_eq!(contribution(1_000_000, 6_615_000, 30, 85_500), 47_132);
        assert_eq!(ceilings(&SV_2025, 30), (805_000, 551_250));
        assert_eq!(ceilings(&SV_2026, 30), (845_000, 581_250));
    }

    #[test]
    fn below_the_ceiling_the_gross_counts() {
        // 4,000.00 * 9.3 % = 372.00
        assert_eq!(contribution(400_000, 9_660_000, 30, 93_000), 37_200);
        // 3,333.33 * 1.3 % = 43.33329 -> 43.33
        assert_eq!(contribution(333_333, 9_660_000, 30, 13_000), 4_333);
        // 3,333.35 * 1.8 % = 60.0003 -> 60.00; 3,336.11 * 1.8 % = 60.04998 -> 60.05
        assert_eq!(contribution(333_611, 6_615_000, 30, 18_000), 6_005);
    }

    #[test]
    fn weekly_ceiling_is_seven_360ths() {
        // 96,600 * 7 / 360 = 1,878.3333 ; * 9.3 % = 174.685 -> 174.69
        assert_eq!(contribution(500_000, 9_660_000, 7, 93_000), 17_469);
    }
}
