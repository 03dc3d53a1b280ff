//! Sonstige Bezüge (Einmalzahlungen): a bonus paid on its own, computed when payroll
//! passes `"payment": "bonus"` in the profile (issue 22, item 1).
//!
//! # Lohnsteuer, Solidaritätszuschlag, Kirchensteuer
//! § 39b Absatz 3 EStG: the Lohnsteuer on a sonstiger Bezug is the annual tax on the
//! voraussichtlicher Jahresarbeitslohn plus the sonstiger Bezug minus the annual tax
//! on the voraussichtlicher Jahresarbeitslohn alone, computed by the PAP's MSONST
//! ([`super::pap::run_sonstig`]) with `SONSTB` = the bonus and `JRE4` = the
//! voraussichtlicher Jahresarbeitslohn. The Fünftelregelung (§ 34 EStG, MVMT) does not
//! apply to an ordinary bonus and is not implemented.
//!
//! **JRE4, our assumption.** § 39b Absatz 3 Satz 2 EStG: the Arbeitslohn of the
//! periods already paid plus the sonstige Bezüge already paid this year, plus the
//! laufender Arbeitslohn expected for the rest of the year. We take the first two
//! from the year to date (`ytd.gross`, which includes earlier bonuses) and the third
//! by extrapolating the laufender Arbeitslohn paid so far: `ytd.laufend-gross` per
//! Sozialversicherungstag (`ytd.sv-tage`, 30 a month) times the days of the year
//! after the bonus's pay period (monthly: the months after the pay date's month;
//! weekly: the 30-day months after the pay date, counting the rest of its month).
//! Pay the bonus with or after the regular run of its month, so that month's pay is
//! in the year to date; a bonus before any regular pay of the year is refused (there
//! is nothing to extrapolate). Future sonstige Bezüge are not counted (they are not
//! known), as the law says.
//!
//! # Social insurance: § 23a SGB IV
//! An Einmalzahlung is charged to the contributions as far as the anteilige
//! Jahresbeitragsbemessungsgrenze is not yet used up by the pay charged so far this
//! year (§ 23a Absatz 3 SGB IV): the annual BBG × the Sozialversicherungstage from
//! the start of the year to the end of the bonus's pay period (`ytd.sv-tage`, at most
//! 30 × the pay date's month) / 360, minus the pay already charged (`ytd.kv-entgelt`
//! for KV/PV, `ytd.rv-entgelt` for RV/AV). Contributions on that part at the full
//! rates, rounded per BVV § 1 as for laufendes Arbeitsentgelt. The Märzklausel
//! (§ 23a Absatz 4: a bonus paid January to March above the pro-rata BBG belongs to
//! the previous December) is not implemented: such a bonus is refused with an
//! explanation.
//!
//! Umlagen: U1 and U2 are not levied on einmalig gezahltes Arbeitsentgelt (§ 7
//! Absatz 2 Satz 1 AAG: the base is the laufendes Arbeitsentgelt); the
//! Insolvenzgeldumlage U3 is (§ 358 Absatz 2 SGB III: the RV base), on the part
//! charged to RV.
//!
//! Midijobs and Minijobs: an Einmalzahlung changes the regelmäßiges Arbeitsentgelt
//! that decides the kind of employment; refused.

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{CalcInput, Frequency, Line, LineKind, Payslip};
use backoffice_sdk::{Error, Result};

use super::fixed::div_down;
use super::pap::{self, Lzz, Params};
use super::sv::{self, Insured, SvParams};
use super::umlagen::{self, Umlagen};
use super::{Kind, LAENDER, LOW_PAY, Profile, euro, pap_input};

/// The tax year's figures.
pub struct Year<'a> {
    pub year: i32,
    pub pap: &'a Params,
    pub sv: &'a SvParams,
    /// Kirchensteuer rate in percent.
    pub kist_rate: i128,
}

/// The Sozialversicherungstage (30 a month) of the year up to the end of the pay
/// period of `pay_date` (`YYYY-MM-DD`, already validated).
fn days_to_period_end(frequency: Frequency, pay_date: &str) -> i128 {
    let month: i128 = pay_date[5..7].parse().unwrap_or(12);
    let day: i128 = pay_date[8..10].parse().unwrap_or(30);
    match frequency {
        Frequency::Monthly => 30 * month,
        Frequency::Weekly => 30 * (month - 1) + day.min(30),
        _ => 360,
    }
}

/// The payslip of a sonstiger Bezug of `input.gross` cents.
pub fn calculate(
    input: &CalcInput,
    y: &Year,
    profile: &Profile,
    mut ytd: BTreeMap<String, i64>,
) -> Result<Payslip> {
    let year = y.year;
    if matches!(profile.kind, Kind::Midijob | Kind::Minijob) {
        return Err(Error::invalid(format!(
            "profile.payment: a bonus (sonstiger Bezug) for a {} is not supported; an Einmalzahlung changes the regelmäßiges Arbeitsentgelt that makes the employment a Minijob or Midijob (§ 8 and § 20 SGB IV), so pay it with the regular pay of the month instead",
            if profile.kind == Kind::Midijob {
                "Midijob"
            } else {
                "Minijob"
            }
        )));
    }
    let bonus = i128::from(input.gross);
    let got = |code: &str| i128::from(ytd.get(code).copied().unwrap_or(0));
    let sv_tage = got("sv-tage");
    let laufend = got("laufend-gross");
    if sv_tage == 0 {
        return Err(Error::invalid(format!(
            "ytd.sv-tage: no regular pay is on record for {year}, so the voraussichtlicher Jahresarbeitslohn of § 39b Absatz 3 EStG cannot be estimated; pay the bonus with or after the employee's first regular run of the year"
        )));
    }
    let period_end = days_to_period_end(input.frequency, &input.pay_date);
    let rest = (360 - period_end).max(0);
    let expected_rest = div_down(laufend * rest, sv_tage);
    let paid_so_far = got("gross");
    let jre4 = paid_so_far + expected_rest;

    let pap_in = pap_input(profile, year, y.pap, Lzz::Jahr, 0);
    let out = pap::run_sonstig(y.pap, &pap_in, jre4, bonus);
    let kist = if profile.kirche {
        div_down(out.bk * y.kist_rate, 100)
    } else {
        0
    };
    let mut raw: Vec<(&str, &str, i128, LineKind)> = vec![
        (
            "de-lohnsteuer",
            "Lohnsteuer (sonstiger Bezug)",
            out.lstlzz,
            LineKind::EmployeeTax,
        ),
        (
            "de-solidaritaetszuschlag",
            "Solidaritätszuschlag (sonstiger Bezug)",
            out.solzlzz,
            LineKind::EmployeeTax,
        ),
        (
            super::kirche::line(profile.konfession),
            "Kirchensteuer (sonstiger Bezug)",
            kist,
            LineKind::EmployeeTax,
        ),
    ];

    // § 23a Absatz 3 SGB IV: the anteilige Jahres-BBG up to the end of the period.
    let days = sv_tage.min(period_end);
    let share = |bbg_year: i128, charged: &str| {
        let anteilig = div_down(bbg_year * days, 360);
        (anteilig, bonus.min((anteilig - got(charged)).max(0)))
    };
    let (anteilig_kv, kv_base) = share(y.sv.bbg_kv_year, "kv-entgelt");
    let (anteilig_rv, rv_base) = share(y.sv.bbg_rv_year, "rv-entgelt");
    if period_end <= 90 && (kv_base < bonus || rv_base < bonus) {
        return Err(Error::invalid(format!(
            "gross: the bonus of {} paid by {} is above what is left of the anteilige Beitragsbemessungsgrenze for January to the pay date's month (KV/PV {} left, RV/AV {} left); the Märzklausel (§ 23a Absatz 4 SGB IV) attributes such a bonus to December {} and is not supported: pay it from April or with a smaller amount",
            euro(bonus),
            input.pay_date,
            euro(kv_base),
            euro(rv_base),
            year - 1
        )));
    }
    let sachsen = LAENDER[profile.land].0 == "SN";
    let kv_only = Insured {
        gkv: profile.gkv,
        kvz: profile.kvz,
        sachsen,
        kinderlos: profile.kinderlos,
        pv_abschlaege: (profile.pv_kinder - 1).clamp(0, 4),
        rv: false,
        av: false,
    };
    let rv_only = Insured {
        gkv: false,
        rv: profile.rv,
        av: profile.av,
        ..kv_only
    };
    // The bases are within the annual ceilings, so the yearly cap (360 days) never
    // bites: each contribution is base × rate, rounded commercially.
    let mut contributions = sv::contributions(y.sv, &kv_only, kv_base, 360);
    contributions.extend(sv::contributions(y.sv, &rv_only, rv_base, 360));
    contributions.sort_by_key(|(_, _, _, employer)| *employer);
    for (code, desc, amount, employer) in contributions {
        let kind = if employer {
            LineKind::EmployerContribution
        } else {
            LineKind::EmployeeContribution
        };
        raw.push((code, desc, amount, kind));
    }
    let (_, _, mj_umlagen) = LOW_PAY
        .iter()
        .find(|(ly, _, _)| *ly == year)
        .ok_or_else(|| Error::internal(format!("no Umlagen figures for {year}")))?;
    let u = umlagen::from_profile(profile.umlagen.as_ref(), false, mj_umlagen)?;
    let u3_only = Umlagen {
        u1: None,
        u2: None,
        u3: u.u3,
    };
    for (code, desc, amount) in umlagen::lines(&u3_only, rv_base, 360, y.sv.bbg_rv_year, false) {
        raw.push((code, desc, amount, LineKind::EmployerContribution));
    }

    let mut add = |code: &str, amount: i128| -> Result<()> {
        let amount = i64::try_from(amount)
            .map_err(|_| Error::internal(format!("{code}: amount {amount} out of range")))?;
        *ytd.entry(code.into()).or_insert(0) += amount;
        Ok(())
    };
    add("gross", bonus)?;
    add("sonstige-bezuege", bonus)?;
    add("kv-entgelt", kv_base)?;
    add("rv-entgelt", rv_base)?;
    let mut lines = Vec::new();
    for (code, desc, amount, kind) in raw {
        add(super::ytd_code(code), amount)?;
        if amount != 0 {
            lines.push(Line {
                code: code.into(),
                description: desc.into(),
                amount: i64::try_from(amount)
                    .map_err(|_| Error::internal(format!("{code}: {amount} out of range")))?,
                kind,
            });
        }
    }
    for code in super::YTD_CODES {
        ytd.entry(code.into()).or_insert(0);
    }
    let mut notes = vec![
        format!(
            "Sonstiger Bezug by the BMF Programmablaufplan {year} (MSONST, annual table, Steuerklasse {}): voraussichtlicher Jahresarbeitslohn JRE4 {} = paid so far {} + expected laufender Arbeitslohn {} for the {rest} remaining Sozialversicherungstage (extrapolated from {} over {sv_tage} days); Maßstabsteuer for the Kirchensteuer {}",
            profile.stkl,
            euro(jre4),
            euro(paid_so_far),
            euro(expected_rest),
            euro(laufend),
            euro(out.bk)
        ),
        format!(
            "Einmalzahlung (§ 23a SGB IV): anteilige Beitragsbemessungsgrenze for {days} Sozialversicherungstage KV/PV {}, RV/AV {}; charged to KV/PV {}, to RV/AV {}",
            euro(anteilig_kv),
            euro(anteilig_rv),
            euro(kv_base),
            euro(rv_base)
        ),
    ];
    if profile.kirche {
        notes.push(super::kirche::note(
            profile.konfession,
            y.kist_rate,
            LAENDER[profile.land].1,
        ));
    }
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
    use serde_json::json;

    use super::super::calculate;
    use super::super::pap::{PAP_2025, PAP_2026, run};
    use super::*;

    fn amounts(slip: &Payslip) -> BTreeMap<String, i64> {
        slip.lines
            .iter()
            .map(|l| (l.code.clone(), l.amount))
            .collect()
    }

    fn input(
        gross: i64,
        pay_date: &str,
        ytd: &[(&str, i64)],
        extra: serde_json::Value,
    ) -> CalcInput {
        let mut profile = json!({"steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.5",
                                 "kinderlos": true, "payment": "bonus"});
        for (k, v) in extra.as_object().expect("object") {
            profile[k] = v.clone();
        }
        serde_json::from_value(json!({
            "country": "DE", "pay-date": pay_date, "frequency": "monthly", "gross": gross,
            "currency": "EUR", "profile": profile,
            "ytd": ytd.iter().map(|(k, v)| ((*k).to_string(), *v)).collect::<BTreeMap<_, _>>()
        }))
        .expect("valid input")
    }

    /// January to April at 6,000.00 EUR a month, as the regular runs record them
    /// (KV/PV charged up to 5,812.50 EUR a month in 2026).
    const FOUR_MONTHS: [(&str, i64); 5] = [
        ("gross", 2_400_000),
        ("laufend-gross", 2_400_000),
        ("sv-tage", 120),
        ("kv-entgelt", 4 * 581_250),
        ("rv-entgelt", 2_400_000),
    ];

    /// Hand-computed (PAP 2026 steps MOSONST/MRE4SONST written out, labelled as
    /// such, not an official BMF figure): Steuerklasse I, KVZ 2.5 %, PVZ = 1.
    /// JRE4 60,000 EUR: ANP 1,230 + SAP 36; VSP = 60,000 × 9.3 % + 60,000 × (8.25 % +
    /// 2.4 %) = 5,580 + 6,390 = 11,970; ZVE 46,764; zone 3: Y = 2.8965, ST =
    /// (2.8965 × 173.10 + 2,397) × 2.8965 + 1,034.87 = 9,430.04 -> 9,430.
    /// JRE4 + SONSTB 65,000 EUR: VSP = 6,045 + 6,922.50 -> 12,968; ZVE 50,766; Y =
    /// 3.2967, ST = 10,818.35 -> 10,818. STS = 10,818 - 9,430 = 1,388.00 EUR; the
    /// annual tax 10,818 is below the Soli-Freigrenze 20,350: no Soli.
    #[test]
    fn hand_computed_case_2026() {
        let i = pap_in(1, 250, false);
        let o = pap::run_sonstig(&PAP_2026, &i, 6_000_000, 500_000);
        assert_eq!((o.lstlzz, o.solzlzz, o.bk), (138_800, 0, 0));
    }

    fn pap_in(stkl: u8, kvz: i128, r: bool) -> pap::Input {
        pap::Input {
            lzz: Lzz::Jahr,
            re4: 0,
            stkl,
            f_milli: 1000,
            zkf_tenths: 0,
            r,
            krv: false,
            alv: false,
            kvz,
            pkv: 0,
            pkpv: 0,
            pkpvagz: 0,
            pvs: false,
            pvz: true,
            pva: 0,
            alter1: false,
            ajahr: 0,
        }
    }

    /// Cross-check with the regular-tax code: without Faktor and children, STS is
    /// the annual Lohnsteuer (PAP MAIN with LZZ 1) on JRE4 + SONSTB minus that on
    /// JRE4, for every Steuerklasse, both years and incomes in every tariff zone.
    #[test]
    fn sts_is_the_difference_of_two_annual_tables() {
        for p in [&PAP_2025, &PAP_2026] {
            for stkl in 1..=6 {
                for (jre4, sonstb) in [
                    (1_000_000, 300_000),
                    (3_600_000, 250_000),
                    (6_000_000, 500_000),
                    (9_000_000, 2_000_000),
                    (25_000_000, 10_000_000),
                ] {
                    let i = pap_in(stkl, 290, true);
                    let annual = |re4| run(p, &pap::Input { re4, ..i }).lstlzz;
                    let o = pap::run_sonstig(p, &i, jre4, sonstb);
                    let want = annual(jre4 + sonstb) - annual(jre4);
                    assert_eq!(o.lstlzz, want, "stkl {stkl} jre4 {jre4} sonstb {sonstb}");
                    assert_eq!(o.bk, want, "BKS = STS");
                }
            }
        }
    }

    /// MSOLZSTS: 5.5 % of STS (no Milderungszone) once the annual tax including the
    /// bonus exceeds the Freigrenze (20,350 EUR in 2026, doubled in class III).
    #[test]
    fn soli_applies_above_the_annual_freigrenze_only() {
        let i = pap_in(1, 290, true);
        let high = pap::run_sonstig(&PAP_2026, &i, 10_000_000, 2_000_000);
        assert!(high.lstlzz > 0);
        assert_eq!(high.solzlzz, high.lstlzz * 55 / 1000);
        let low = pap::run_sonstig(&PAP_2026, &i, 4_000_000, 500_000);
        assert!(low.lstlzz > 0);
        assert_eq!(low.solzlzz, 0);
        // Class III: the same income stays under the doubled Freigrenze.
        let splitting = pap::run_sonstig(&PAP_2026, &pap_in(3, 290, true), 10_000_000, 2_000_000);
        assert_eq!(splitting.solzlzz, 0);
        assert!(splitting.lstlzz > 0);
    }

    /// Through `calculate`: a 5,000.00 EUR bonus in April 2026 after four regular
    /// months of 6,000.00 EUR: JRE4 = 24,000 + 48,000 (240 days extrapolated) =
    /// 72,000 EUR. Hand-computed (PAP 2026, not an official figure): without the
    /// bonus VSP = 6,696 + 69,750 × 10.65 % (7,428.37) -> 14,125, ZVE 56,609, Y =
    /// 3.881, ST = 12,944.89 -> 12,944; with it VSP = 7,161 + 7,428.37 -> 14,590, ZVE
    /// 61,144, Y = 4.3345, ST = 14,676.85 -> 14,676; STS = 1,732.00 EUR, below the
    /// Soli-Freigrenze. § 23a SGB IV: for 120 days KV/PV 6,975,000 × 120 / 360 =
    /// 23,250.00 EUR are used up by 4 × 5,812.50 (nothing charged); RV/AV 33,800.00
    /// EUR less 24,000.00 leaves 9,800.00, so all 5,000.00 are charged: RV 9.3 % =
    /// 465.00, AV 1.3 % = 65.00 each side.
    #[test]
    fn april_bonus_after_four_months() {
        let slip =
            calculate(&input(500_000, "2026-04-30", &FOUR_MONTHS, json!({}))).expect("computes");
        let want = BTreeMap::from([
            ("de-lohnsteuer".to_string(), 173_200),
            ("de-rv-an".to_string(), 46_500),
            ("de-av-an".to_string(), 6_500),
            ("de-rv-ag".to_string(), 46_500),
            ("de-av-ag".to_string(), 6_500),
        ]);
        assert_eq!(amounts(&slip), want);
        assert_eq!(slip.net, 500_000 - 173_200 - 46_500 - 6_500);
        assert_eq!(slip.ytd["gross"], 2_900_000);
        assert_eq!(slip.ytd["laufend-gross"], 2_400_000);
        assert_eq!(slip.ytd["sonstige-bezuege"], 500_000);
        assert_eq!(slip.ytd["sv-tage"], 120);
        assert_eq!(slip.ytd["kv-entgelt"], 4 * 581_250);
        assert_eq!(slip.ytd["rv-entgelt"], 2_900_000);
        assert_eq!(slip.ytd["lohnsteuer"], 173_200);
        assert_eq!(slip.ytd["rv-an"], 46_500);
    }

    /// The RV/AV room of § 23a Absatz 3 caps the charged part; U3 on it, U1/U2 not.
    #[test]
    fn rv_room_caps_the_bonus_and_only_u3_applies() {
        let ytd = [
            ("gross", 1_200_000),
            ("laufend-gross", 1_200_000),
            ("sv-tage", 60),
            ("kv-entgelt", 2 * 581_250),
            ("rv-entgelt", 1_200_000),
        ];
        let slip = calculate(&input(
            500_000,
            "2026-04-30",
            &ytd,
            json!({"umlagen": {"u1": "2.8", "u2": "0.5"}}),
        ))
        .expect("computes");
        // RV/AV for 60 days: 10,140,000 × 60 / 360 = 16,900.00 EUR, 4,900.00 left.
        let a = amounts(&slip);
        assert_eq!(a["de-rv-an"], 45_570);
        assert_eq!(a["de-av-an"], 6_370);
        // U3 0.15 % of 4,900.00 = 7.35; no U1, U2, KV or PV.
        assert_eq!(a["de-u3"], 735);
        for code in ["de-u1", "de-u2", "de-kv-an", "de-pv-an"] {
            assert!(!a.contains_key(code), "{code} in {a:?}");
        }
        assert_eq!(slip.ytd["rv-entgelt"], 1_690_000);
    }

    /// Below the pro-rata ceiling the whole bonus is charged to KV/PV too.
    #[test]
    fn low_earner_pays_kv_and_pv_on_the_whole_bonus() {
        let ytd = [
            ("gross", 1_200_000),
            ("laufend-gross", 1_200_000),
            ("sv-tage", 120),
            ("kv-entgelt", 1_200_000),
            ("rv-entgelt", 1_200_000),
        ];
        let slip = calculate(&input(100_000, "2026-04-30", &ytd, json!({}))).expect("computes");
        let a = amounts(&slip);
        // KV 7.3 % + 1.25 % = 8.55 % of 1,000.00 = 85.50; PV 1.8 % + 0.6 % = 24.00.
        assert_eq!(a["de-kv-an"], 8_550);
        assert_eq!(a["de-pv-an"], 2_400);
        assert_eq!(a["de-pv-ag"], 1_800);
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let msg = |i: &CalcInput| match calculate(i) {
            Err(Error::InvalidInput(m)) => m,
            other => panic!("expected invalid input, got {other:?}"),
        };
        let m = msg(&input(100_000, "2026-04-30", &[], json!({})));
        assert!(m.contains("no regular pay is on record for 2026"), "{m}");
        let jan = [
            ("gross", 600_000),
            ("laufend-gross", 600_000),
            ("sv-tage", 30),
            ("kv-entgelt", 581_250),
            ("rv-entgelt", 600_000),
        ];
        let m = msg(&input(500_000, "2026-01-31", &jan, json!({})));
        assert!(
            m.contains("Märzklausel") && m.contains("December 2025"),
            "{m}"
        );
        let m = msg(&input(
            10_000,
            "2026-04-30",
            &FOUR_MONTHS,
            json!({"beschaeftigung": "midijob"}),
        ));
        assert!(m.contains("Midijob is not supported"), "{m}");
        let m = msg(&input(
            10_000,
            "2026-04-30",
            &FOUR_MONTHS,
            json!({"payment": "extra"}),
        ));
        assert!(
            m.contains("profile.payment") && m.contains("\"bonus\""),
            "{m}"
        );
    }

    /// A regular payment records what a later bonus needs.
    #[test]
    fn regular_payments_record_days_and_charged_pay() {
        let mut i = input(600_000, "2026-01-31", &[], json!({"payment": "regular"}));
        let slip = calculate(&i).expect("computes");
        assert_eq!(slip.ytd["laufend-gross"], 600_000);
        assert_eq!(slip.ytd["sv-tage"], 30);
        assert_eq!(slip.ytd["kv-entgelt"], 581_250);
        assert_eq!(slip.ytd["rv-entgelt"], 600_000);
        assert_eq!(slip.ytd["sonstige-bezuege"], 0);
        // Without `payment` the payment is regular: the same payslip.
        i.profile.as_object_mut().expect("object").remove("payment");
        assert_eq!(calculate(&i).expect("computes"), slip);
    }
}
