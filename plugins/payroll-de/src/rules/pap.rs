//! The BMF "Programmablaufplan für die maschinelle Berechnung der vom Arbeitslohn
//! einzubehaltenden Lohnsteuer, des Solidaritätszuschlags und der Maßstabsteuer für
//! die Kirchenlohnsteuer" (PAP), for laufender Arbeitslohn, 2025 and 2026.
//!
//! Sources (the BMF publishes each PAP as a PDF and as XML pseudocode on
//! <https://www.bmf-steuerrechner.de/interface/pseudocodes.xhtml>; the XML is the
//! normative pseudocode this module follows step by step):
//! - 2025: PAP 2025 (BMF-Schreiben of November 2024, Anlage 1; the date and file
//!   number of the letter were not verified offline), with the tariff,
//!   Kinderfreibetrag and SolZ-Freigrenze of the Steuerfortentwicklungsgesetz marked
//!   "geändert für 2025" in the pseudocode `Lohnsteuer2025.xml`, "Stand 2025-09-17"
//!   (ITZBund Berlin).
//! - 2026: BMF-Schreiben vom 12. November 2025 (IV C 5 - S 2361/00025/016/028),
//!   Anlage 1; pseudocode `Lohnsteuer2026.xml`, "Stand 2025-10-23" (ITZBund Berlin).
//!
//! Money is held in cents (`i128`, two decimals, as the PAP's "Euro, Cent
//! (2 Dezimalstellen)" fields), whole-euro fields (ST, LSTJAHR, JBMG, ANP ...) in
//! euros, rates in millionths. Each `setScale`/`divide` of the PAP is reproduced by a
//! helper of [`super::fixed`] with the same rounding mode, commented at its place.
//!
//! Not implemented (the caller never sets them): Versorgungsbezüge (VBEZ ..., so FVB,
//! FVBZ, ZVBEZ stay 0), Freibetrag/Hinzurechnungsbetrag (LZZFREIB, LZZHINZU), the
//! Fünftelregelung for Vergütungen für mehrjährige Tätigkeit and Entschädigungen
//! (MVMT, VMT, ENTSCH), Vermögensbeteiligungen (MBV), the DBA outputs, and the daily
//! LZZ 4. Sonstige Bezüge (MSONST with SONSTB and JRE4, JVBEZ = VBS = 0) are in
//! [`run_sonstig`].

use super::fixed::{div_down, div_up};

/// Which version of the PAP's algorithm a year follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// PAP 2025: Vorsorgepauschale with Mindestvorsorgepauschale (UPEVP/MVSP,
    /// VSP1..VSP3), X in UP5_6 kept with 2 decimals.
    Y2025,
    /// PAP 2026: Vorsorgepauschale with the Teilbetrag für die Arbeitslosenversicherung
    /// (UPEVP/MVSPKVPV/MVSPHB), no Mindestvorsorgepauschale, X in UP5_6 whole euros.
    Y2026,
}

/// The figures of one year's PAP (all in euros unless stated).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub variant: Variant,
    /// MPARA: BBGRV (2025) / BBGRVALV (2026).
    pub bbg_rv: i128,
    /// MPARA: BBGKVPV.
    pub bbg_kvpv: i128,
    /// MPARA: GFB, Grundfreibetrag.
    pub gfb: i128,
    /// MPARA: SOLZFREI, Freigrenze for the Solidaritätszuschlag.
    pub solzfrei: i128,
    /// MPARA: W1STKL5, W2STKL5, W3STKL5.
    pub w1stkl5: i128,
    pub w2stkl5: i128,
    pub w3stkl5: i128,
    /// MZTABFB: Kinderfreibetrag per child in classes I-III, and in class IV.
    pub kfb: i128,
    pub kfb_iv: i128,
    /// UPTAB: end of zone 2 (X < this), its coefficient (in cents).
    pub tab_z2_end: i128,
    pub tab_z2_a: i128,
    /// UPTAB: start (subtracted from X) and end of zone 3, coefficient a and
    /// constant c (in cents).
    pub tab_z3_start: i128,
    pub tab_z3_end: i128,
    pub tab_z3_a: i128,
    pub tab_z3_c: i128,
    /// UPTAB: the amounts subtracted in zones 4 (42 %) and 5 (45 %) (in cents).
    pub tab_z4_sub: i128,
    pub tab_z5_sub: i128,
}

/// PAP 2025 (Lohnsteuer2025.xml): MPARA (PAP Seite 14), MZTABFB (Seite 22),
/// UPTAB25 (Seite 38).
pub const PAP_2025: Params = Params {
    variant: Variant::Y2025,
    bbg_rv: 96_600,
    bbg_kvpv: 66_150,
    gfb: 12_096,
    solzfrei: 19_950,
    w1stkl5: 13_785,
    w2stkl5: 34_240,
    w3stkl5: 222_260,
    kfb: 9_600,
    kfb_iv: 4_800,
    tab_z2_end: 17_444,
    tab_z2_a: 93_230,
    tab_z3_start: 17_443,
    tab_z3_end: 68_481,
    tab_z3_a: 17_664,
    tab_z3_c: 101_513,
    tab_z4_sub: 1_091_192,
    tab_z5_sub: 1_924_667,
};

/// PAP 2026 (Lohnsteuer2026.xml): MPARA (PAP Seite 14), MZTABFB (Seite 22),
/// UPTAB26 (Seite 38).
pub const PAP_2026: Params = Params {
    variant: Variant::Y2026,
    bbg_rv: 101_400,
    bbg_kvpv: 69_750,
    gfb: 12_348,
    solzfrei: 20_350,
    w1stkl5: 14_071,
    w2stkl5: 34_939,
    w3stkl5: 222_260,
    kfb: 9_756,
    kfb_iv: 4_878,
    tab_z2_end: 17_800,
    tab_z2_a: 91_451,
    tab_z3_start: 17_799,
    tab_z3_end: 69_879,
    tab_z3_a: 17_310,
    tab_z3_c: 103_487,
    tab_z4_sub: 1_113_563,
    tab_z5_sub: 1_947_038,
};

/// TAB4 (percent of the Altersentlastungsbetrag, in thousandths) and TAB5 (its
/// maximum in euros), index K = AJAHR - 2004 (1 for AJAHR < 2006, 54 from 2058):
/// PAP 2025 and 2026, CONSTANTS (identical in both years).
const TAB4: [i128; 55] = [
    0, 400, 384, 368, 352, 336, 320, 304, 288, 272, 256, 240, 224, 208, 192, 176, 160, 152, 144,
    140, 136, 132, 128, 124, 120, 116, 112, 108, 104, 100, 96, 92, 88, 84, 80, 76, 72, 68, 64, 60,
    56, 52, 48, 44, 40, 36, 32, 28, 24, 20, 16, 12, 8, 4, 0,
];
const TAB5: [i128; 55] = [
    0, 1900, 1824, 1748, 1672, 1596, 1520, 1444, 1368, 1292, 1216, 1140, 1064, 988, 912, 836, 760,
    722, 684, 665, 646, 627, 608, 589, 570, 551, 532, 513, 494, 475, 456, 437, 418, 399, 380, 361,
    342, 323, 304, 285, 266, 247, 228, 209, 190, 171, 152, 133, 114, 95, 76, 57, 38, 19, 0,
];

/// Lohnzahlungszeitraum (PAP input LZZ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lzz {
    /// LZZ = 1
    Jahr,
    /// LZZ = 2
    Monat,
    /// LZZ = 3
    Woche,
}

/// The PAP inputs this crate uses (names as in the PAP, amounts in cents).
#[derive(Debug, Clone, Copy)]
pub struct Input {
    pub lzz: Lzz,
    /// RE4: Arbeitslohn of the period, cents.
    pub re4: i128,
    /// STKL 1..=6.
    pub stkl: u8,
    /// f: Faktor in thousandths (1000 = 1.0); af = 1 only in class IV.
    pub f_milli: i128,
    /// ZKF in tenths (one decimal).
    pub zkf_tenths: i128,
    /// R > 0: member of a church that levies Kirchensteuer.
    pub r: bool,
    /// KRV = 1 (true): not compulsorily insured in the gesetzliche Rentenversicherung.
    pub krv: bool,
    /// ALV = 1 (true): not insured in the Arbeitslosenversicherung (PAP 2026 only).
    pub alv: bool,
    /// KVZ in hundredths of a percent (2.50 % = 250).
    pub kvz: i128,
    /// PKV: 0 gesetzlich; 2025: 1 privat without, 2 privat with Arbeitgeberzuschuss;
    /// 2026: 1 privat.
    pub pkv: u8,
    /// PKPV: monthly private Basis-KV/PV premium, cents.
    pub pkpv: i128,
    /// PKPVAGZ: monthly employer subsidy to it, cents (PAP 2026 only).
    pub pkpvagz: i128,
    /// PVS = 1: Saxony's split of the Pflegeversicherung.
    pub pvs: bool,
    /// PVZ = 1: childless surcharge.
    pub pvz: bool,
    /// PVA: number of child reductions (0..=4).
    pub pva: i128,
    /// ALTER1 and AJAHR for the Altersentlastungsbetrag.
    pub alter1: bool,
    pub ajahr: i32,
}

/// The PAP outputs (cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Output {
    /// LSTLZZ: Lohnsteuer of the period.
    pub lstlzz: i128,
    /// SOLZLZZ: Solidaritätszuschlag of the period.
    pub solzlzz: i128,
    /// BK: Bemessungsgrundlage (Maßstabsteuer) for the Kirchenlohnsteuer.
    pub bk: i128,
}

/// Rates in millionths.
const MIO: i128 = 1_000_000;

/// Run the PAP for laufender Arbeitslohn: MAIN without MSONST (PAP Seite 13).
pub fn run(p: &Params, input: &Input) -> Output {
    let mut s = State::new(p, input);
    s.mpara();
    s.mre4jl();
    s.mre4alte();
    s.mre4abz();
    s.mberech();
    Output {
        lstlzz: s.lstlzz,
        solzlzz: s.solzlzz,
        bk: s.bk,
    }
}

/// Run the PAP for a sonstiger Bezug: MSONST of PAP 2025 and 2026 (called from MAIN
/// after MBERECH) with its sub-steps MOSONST, MRE4SONST, STSMIN and MSOLZSTS, as
/// named in `Lohnsteuer2025.xml` / `Lohnsteuer2026.xml` (the PDF page numbers of
/// these steps, between MSOLZ on Seite 31 and UPTAB on Seite 38, were not verified
/// offline), with JVBEZ = VBS = STERBE = MBV = JFREIB = JHINZU =
/// JRE4ENT = SONSTENT = 0 (no Versorgungsbezüge, Freibeträge or
/// Entschädigungen). `jre4` is the voraussichtlicher Jahresarbeitslohn without the
/// sonstiger Bezug and `sonstb` the sonstiger Bezug, both in cents; `input.re4` and
/// `input.lzz` are not used (MSONST sets LZZ = 1).
///
/// Returns STS (Lohnsteuer on the sonstiger Bezug), SOLZS and BKS in the fields
/// `lstlzz`, `solzlzz` and `bk`.
pub fn run_sonstig(p: &Params, input: &Input, jre4: i128, sonstb: i128) -> Output {
    if sonstb <= 0 {
        // MSONST: SONSTB = 0 (and MBV = 0): STS = SOLZS = BKS = 0.
        return Output::default();
    }
    // MOSONST: the annual tax on JRE4 (ZRE4J = JRE4 / 100, 2 decimals: cents),
    // through MRE4 (MRE4ALTE), MRE4ABZ, MZTABFB and MLSTJAHR; LSTOSO = ST * 100.
    let without = Input {
        lzz: Lzz::Jahr,
        re4: jre4,
        ..*input
    };
    let mut o = State::new(p, &without);
    o.annual_tax();
    let lstoso = o.st * 100;
    // MRE4SONST: the same with ZRE4J = (JRE4 + SONSTB) / 100; the Vorsorgepauschale
    // is figured on it too (ZRE4VP = ZRE4J, MBV = JRE4ENT = SONSTENT = 0);
    // LSTSO = ST * 100.
    let with = Input {
        lzz: Lzz::Jahr,
        re4: jre4 + sonstb,
        ..*input
    };
    let mut s = State::new(p, &with);
    s.annual_tax();
    let lstso = s.st * 100;
    // STS = ((LSTSO - LSTOSO) * f).divide(100, 0, ROUND_DOWN) * 100: whole euros.
    // STSMIN: STS < 0 (only possible with MBV) becomes 0.
    let sts = (div_down((lstso - lstoso) * s.i.f_milli, 1000 * 100) * 100).max(0);
    // MSOLZSTS: the Freigrenze of the Solidaritätszuschlag is tested on the annual
    // tax including the sonstiger Bezug, with the Kinderfreibeträge.
    // SOLZSZVE = ZVE - KFB (ZKF > 0), else ZVE.
    let solzszve = if s.i.zkf_tenths > 0 {
        s.zve - s.kfb * 100
    } else {
        s.zve
    };
    // SOLZSZVE < 1: X = 0; else X = (SOLZSZVE / KZTAB).setScale(0, ROUND_DOWN).
    s.x = if solzszve < 100 {
        0
    } else {
        div_down(solzszve, 100 * s.kztab) * 100
    };
    if s.i.stkl < 5 {
        s.uptab();
    } else {
        s.mst5_6();
    }
    // SOLZSBMG = (ST * f).setScale(0, ROUND_DOWN), compared with SOLZFREI * KZTAB
    // (MSOLZ of MAIN multiplied it before MSONST runs).
    let solzsbmg = div_down(s.st * s.i.f_milli, 1000);
    // SOLZS = (STS * 5.5).divide(100, 0, ROUND_DOWN): no Milderungszone for sonstige
    // Bezüge (§ 3 Absatz 4a SolZG 1995), 5.5 % once the Freigrenze is exceeded.
    let solzs = if solzsbmg > p.solzfrei * s.kztab {
        div_down(sts * 55, 1000)
    } else {
        0
    };
    // BKS = STS when R > 0: the Maßstabsteuer of a sonstiger Bezug is its Lohnsteuer
    // (no Kinderfreibeträge).
    let bks = if s.i.r { sts } else { 0 };
    Output {
        lstlzz: sts,
        solzlzz: solzs,
        bk: bks,
    }
}

/// The PAP's internal fields. Suffix-free names follow the PAP; units in comments.
struct State<'a> {
    p: &'a Params,
    i: &'a Input,
    // MPARA
    kvsatzan: i128, // millionths
    kvsatzag: i128, // millionths (2025)
    pvsatzan: i128, // millionths
    pvsatzag: i128, // millionths (2025)
    rvsatzan: i128, // millionths
    avsatzan: i128, // millionths (2026)
    solzfrei: i128, // euros
    // MRE4JL / MRE4ABZ
    zre4j: i128,  // cents
    alte: i128,   // euros
    zre4: i128,   // cents
    zre4vp: i128, // cents
    // MZTABFB
    anp: i128, // euros
    efa: i128, // euros
    sap: i128, // euros
    kfb: i128, // euros
    kztab: i128,
    ztabfb: i128, // cents
    // UPEVP
    vsp: i128, // cents (whole euros)
    zve: i128, // cents
    x: i128,   // cents (2025 UP5_6 keeps 2 decimals; otherwise whole euros)
    st: i128,  // euros
    // outputs
    lstjahr: i128, // euros
    jbmg: i128,    // euros
    lstlzz: i128,  // cents
    solzlzz: i128, // cents
    bk: i128,      // cents
}

impl<'a> State<'a> {
    fn new(p: &'a Params, i: &'a Input) -> Self {
        State {
            p,
            i,
            kvsatzan: 0,
            kvsatzag: 0,
            pvsatzan: 0,
            pvsatzag: 0,
            rvsatzan: 0,
            avsatzan: 0,
            solzfrei: p.solzfrei,
            zre4j: 0,
            alte: 0,
            zre4: 0,
            zre4vp: 0,
            anp: 0,
            efa: 0,
            sap: 0,
            kfb: 0,
            kztab: 1,
            ztabfb: 0,
            vsp: 0,
            zve: 0,
            x: 0,
            st: 0,
            lstjahr: 0,
            jbmg: 0,
            lstlzz: 0,
            solzlzz: 0,
            bk: 0,
        }
    }

    /// MPARA (PAP Seite 14): social insurance rates for the Vorsorgepauschale.
    fn mpara(&mut self) {
        self.rvsatzan = 93_000; // 0.093
        self.avsatzan = 13_000; // 0.013 (2026 only)
        // KVSATZAN = KVZ / 2 / 100 + 0.07: KVZ has 2 decimals, so the quotient is
        // exact in millionths (1/20000 = 50 millionths).
        self.kvsatzan = self.i.kvz * 50 + 70_000;
        // KVSATZAG (2025) = 0.0125 + 0.07 (average Zusatzbeitrag 2.5 % / 2).
        self.kvsatzag = 12_500 + 70_000;
        if self.i.pvs {
            self.pvsatzan = 23_000;
            self.pvsatzag = 13_000;
        } else {
            self.pvsatzan = 18_000;
            self.pvsatzag = 18_000;
        }
        if self.i.pvz {
            self.pvsatzan += 6_000;
        } else {
            self.pvsatzan -= self.i.pva * 2_500;
        }
    }

    /// The annual tax ST of MOSONST and MRE4SONST (LZZ = 1): MPARA, MRE4JL, MRE4
    /// (MRE4ALTE), MRE4ABZ, MZTABFB and MLSTJAHR.
    fn annual_tax(&mut self) {
        self.mpara();
        self.mre4jl();
        self.mre4alte();
        self.mre4abz();
        self.mztabfb();
        self.mlstjahr();
    }

    /// MRE4JL (PAP Seite 15): ZRE4J = RE4 scaled to a year, divide(…, 2, ROUND_DOWN).
    fn mre4jl(&mut self) {
        // ZRE4J in cents: RE4 (cents) * factor / 100 euros = RE4 * factor cents.
        self.zre4j = match self.i.lzz {
            Lzz::Jahr => self.i.re4,
            Lzz::Monat => self.i.re4 * 12,
            // (RE4 * 360).divide(700, 2, ROUND_DOWN): in cents RE4 * 360 / 7.
            Lzz::Woche => div_down(self.i.re4 * 360, 7),
        };
    }

    /// MRE4ALTE (PAP Seite 17), with ZVBEZJ = 0 (no Versorgungsbezüge).
    fn mre4alte(&mut self) {
        if !self.i.alter1 {
            self.alte = 0;
            return;
        }
        let k = if self.i.ajahr < 2006 {
            1
        } else if self.i.ajahr < 2058 {
            (self.i.ajahr - 2004) as usize
        } else {
            54
        };
        // BMG = ZRE4J - ZVBEZJ; ALTE = (BMG * TAB4[K]).setScale(0, ROUND_UP).
        let bmg = self.zre4j;
        self.alte = div_up(bmg * TAB4[k], 100 * 1000);
        // ALTE is capped at HBALTE = TAB5[K].
        if self.alte > TAB5[k] {
            self.alte = TAB5[k];
        }
    }

    /// MRE4ABZ (PAP Seite 20), with FVB = JLFREIB = JLHINZU = 0.
    fn mre4abz(&mut self) {
        // ZRE4 = (ZRE4J - FVB - ALTE - JLFREIB + JLHINZU).setScale(2, ROUND_DOWN):
        // every term already has 2 decimals.
        self.zre4 = (self.zre4j - self.alte * 100).max(0);
        self.zre4vp = self.zre4j;
    }

    /// MBERECH (PAP Seite 21).
    fn mberech(&mut self) {
        self.mztabfb();
        self.mlstjahr();
        // LSTJAHR = (ST * f).setScale(0, ROUND_DOWN)
        self.lstjahr = div_down(self.st * self.i.f_milli, 1000);
        // UPLSTLZZ (Seite 24): JW = LSTJAHR * 100; LSTLZZ = UPANTEIL.
        self.lstlzz = self.upanteil(self.lstjahr * 100);
        if self.i.zkf_tenths > 0 {
            self.ztabfb += self.kfb * 100;
            self.mre4abz();
            self.mlstjahr();
            // JBMG = (ST * f).setScale(0, ROUND_DOWN)
            self.jbmg = div_down(self.st * self.i.f_milli, 1000);
        } else {
            self.jbmg = self.lstjahr;
        }
        self.msolz();
    }

    /// MZTABFB (PAP Seite 22), with ZVBEZ = FVBZ = 0.
    fn mztabfb(&mut self) {
        self.anp = 0;
        if self.i.stkl < 6 && self.zre4 > 0 {
            // ZRE4 - ZVBEZ < 1230: ANP = (ANP + ZRE4 - ZVBEZ).setScale(0, ROUND_UP)
            if self.zre4 < 1230 * 100 {
                self.anp = div_up(self.zre4, 100);
            } else {
                self.anp = 1230;
            }
        }
        self.kztab = 1;
        // KFB = (ZKF * Kinderfreibetrag).setScale(0, ROUND_DOWN); ZKF has 1 decimal.
        match self.i.stkl {
            1 => {
                self.sap = 36;
                self.kfb = div_down(self.i.zkf_tenths * self.p.kfb, 10);
            }
            2 => {
                self.efa = 4260;
                self.sap = 36;
                self.kfb = div_down(self.i.zkf_tenths * self.p.kfb, 10);
            }
            3 => {
                self.kztab = 2;
                self.sap = 36;
                self.kfb = div_down(self.i.zkf_tenths * self.p.kfb, 10);
            }
            4 => {
                self.sap = 36;
                self.kfb = div_down(self.i.zkf_tenths * self.p.kfb_iv, 10);
            }
            5 => {
                self.sap = 36;
                self.kfb = 0;
            }
            _ => {
                self.kfb = 0;
            }
        }
        // ZTABFB = (EFA + ANP + SAP + FVBZ).setScale(2, ROUND_DOWN): whole euros.
        self.ztabfb = (self.efa + self.anp + self.sap) * 100;
    }

    /// MLSTJAHR (PAP Seite 23).
    fn mlstjahr(&mut self) {
        match self.p.variant {
            Variant::Y2025 => self.upevp_2025(),
            Variant::Y2026 => self.upevp_2026(),
        }
        // ZVE = ZRE4 - ZTABFB - VSP (2 decimals, exact).
        self.zve = self.zre4 - self.ztabfb - self.vsp;
        self.upmlst();
    }

    /// UPMLST (PAP 2025 Seite 26, 2026 Seite 25).
    fn upmlst(&mut self) {
        if self.zve < 100 {
            // ZVE < 1: ZVE = 0, X = 0
            self.zve = 0;
            self.x = 0;
        } else {
            // X = (ZVE / KZTAB).setScale(0, ROUND_DOWN), kept in cents.
            self.x = div_down(self.zve, 100 * self.kztab) * 100;
        }
        if self.i.stkl < 5 {
            self.uptab();
        } else {
            self.mst5_6();
        }
    }

    /// UPEVP and MVSP of PAP 2025 (Seiten 27, 28): Vorsorgepauschale.
    fn upevp_2025(&mut self) {
        let bbgrv = self.p.bbg_rv * 100;
        let bbgkvpv = self.p.bbg_kvpv * 100;
        // VSP1: Teilbetrag Rentenversicherung.
        let vsp1 = if self.i.krv {
            0
        } else {
            // ZRE4VP is capped at BBGRV in place (the PAP overwrites ZRE4VP).
            if self.zre4vp > bbgrv {
                self.zre4vp = bbgrv;
            }
            // VSP1 = (ZRE4VP * RVSATZAN).setScale(2, ROUND_DOWN)
            div_down(self.zre4vp * self.rvsatzan, MIO)
        };
        // VSP2 = (ZRE4VP * 0.12).setScale(2, ROUND_DOWN), Mindestvorsorgepauschale.
        let mut vsp2 = div_down(self.zre4vp * 12, 100);
        let vhb = if self.i.stkl == 3 {
            3000 * 100
        } else {
            1900 * 100
        };
        if vsp2 > vhb {
            vsp2 = vhb;
        }
        // VSPN = (VSP1 + VSP2).setScale(0, ROUND_UP)
        let vspn = div_up(vsp1 + vsp2, 100) * 100;
        // MVSP (Seite 28)
        if self.zre4vp > bbgkvpv {
            self.zre4vp = bbgkvpv;
        }
        let vsp3 = if self.i.pkv > 0 {
            if self.i.stkl == 6 {
                0
            } else {
                // VSP3 = PKPV * 12 / 100 (euros with 2 decimals: exact in cents).
                let v = self.i.pkpv * 12;
                if self.i.pkv == 2 {
                    // VSP3 = (VSP3 - ZRE4VP * (KVSATZAG + PVSATZAG)).setScale(2, ROUND_DOWN)
                    div_down(v * MIO - self.zre4vp * (self.kvsatzag + self.pvsatzag), MIO)
                } else {
                    v
                }
            }
        } else {
            // VSP3 = (ZRE4VP * (KVSATZAN + PVSATZAN)).setScale(2, ROUND_DOWN)
            div_down(self.zre4vp * (self.kvsatzan + self.pvsatzan), MIO)
        };
        // VSP = (VSP3 + VSP1).setScale(0, ROUND_UP)
        self.vsp = div_up(vsp3 + vsp1, 100) * 100;
        // UPEVP: if VSPN > VSP then VSP = VSPN.
        if vspn > self.vsp {
            self.vsp = vspn;
        }
    }

    /// UPEVP, MVSPKVPV and MVSPHB of PAP 2026 (Seiten 26 to 28): Vorsorgepauschale.
    fn upevp_2026(&mut self) {
        let bbgrvalv = self.p.bbg_rv * 100;
        let bbgkvpv = self.p.bbg_kvpv * 100;
        // VSPR: Teilbetrag Rentenversicherung.
        let vspr = if self.i.krv {
            0
        } else {
            let zre4vpr = self.zre4vp.min(bbgrvalv);
            // VSPR = (ZRE4VPR * RVSATZAN).setScale(2, ROUND_DOWN)
            div_down(zre4vpr * self.rvsatzan, MIO)
        };
        // MVSPKVPV (Seite 27)
        let zre4vpr = self.zre4vp.min(bbgkvpv);
        let vspkvpv = if self.i.pkv > 0 {
            if self.i.stkl == 6 {
                0
            } else {
                // PKPVAGZJ = (PKPVAGZ * 12 / 100).setScale(2, ROUND_DOWN): exact in cents.
                let pkpvagzj = self.i.pkpvagz * 12;
                // VSPKVPV = (PKPV * 12 / 100).setScale(2, ROUND_DOWN) - PKPVAGZJ, >= 0.
                (self.i.pkpv * 12 - pkpvagzj).max(0)
            }
        } else {
            // VSPKVPV = (ZRE4VPR * (KVSATZAN + PVSATZAN)).setScale(2, ROUND_DOWN)
            div_down(zre4vpr * (self.kvsatzan + self.pvsatzan), MIO)
        };
        // VSP = (VSPKVPV + VSPR).setScale(0, ROUND_UP)
        self.vsp = div_up(vspkvpv + vspr, 100) * 100;
        if !self.i.alv && self.i.stkl != 6 {
            // MVSPHB (Seite 28)
            let zre4vpr = self.zre4vp.min(bbgrvalv);
            // VSPALV = (AVSATZAN * ZRE4VPR).setScale(2, ROUND_DOWN)
            let vspalv = div_down(self.avsatzan * zre4vpr, MIO);
            // VSPHB = (VSPALV + VSPKVPV).setScale(2, ROUND_DOWN), at most 1900.
            let vsphb = (vspalv + vspkvpv).min(1900 * 100);
            // VSPN = (VSPR + VSPHB).setScale(0, ROUND_UP)
            let vspn = div_up(vspr + vsphb, 100) * 100;
            if vspn > self.vsp {
                self.vsp = vspn;
            }
        }
    }

    /// MST5_6 (PAP Seite 29): Lohnsteuer for classes V and VI.
    fn mst5_6(&mut self) {
        let zzx = self.x; // cents, whole euros here
        let (w1, w2, w3) = (
            self.p.w1stkl5 * 100,
            self.p.w2stkl5 * 100,
            self.p.w3stkl5 * 100,
        );
        if zzx > w2 {
            self.up5_6(w2);
            if zzx > w3 {
                // ST = (ST + (W3 - W2) * 0.42).setScale(0, ROUND_DOWN)
                self.st = div_down(self.st * 10_000 + (w3 - w2) * 42, 10_000);
                // ST = (ST + (ZZX - W3) * 0.45).setScale(0, ROUND_DOWN)
                self.st = div_down(self.st * 10_000 + (zzx - w3) * 45, 10_000);
            } else {
                // ST = (ST + (ZZX - W2) * 0.42).setScale(0, ROUND_DOWN)
                self.st = div_down(self.st * 10_000 + (zzx - w2) * 42, 10_000);
            }
        } else {
            self.up5_6(zzx);
            if zzx > w1 {
                let vergl = self.st;
                self.up5_6(w1);
                // HOCH = (ST + (ZZX - W1) * 0.42).setScale(0, ROUND_DOWN)
                let hoch = div_down(self.st * 10_000 + (zzx - w1) * 42, 10_000);
                self.st = if hoch < vergl { hoch } else { vergl };
            }
        }
    }

    /// UP5_6 (PAP Seite 30), ZX in cents (whole euros).
    fn up5_6(&mut self, zx: i128) {
        // X = (ZX * 1.25).setScale(2, ROUND_DOWN) in 2025, setScale(0, ROUND_DOWN) in 2026.
        self.x = self.scale_x(zx * 125 / 100);
        self.uptab();
        let st1 = self.st;
        // X = (ZX * 0.75).setScale(…, ROUND_DOWN)
        self.x = self.scale_x(zx * 75 / 100);
        self.uptab();
        let st2 = self.st;
        // DIFF = (ST1 - ST2) * 2
        let diff = (st1 - st2) * 2;
        // MIST = (ZX * 0.14).setScale(0, ROUND_DOWN)
        let mist = div_down(zx * 14, 100 * 100);
        self.st = if mist > diff { mist } else { diff };
    }

    /// The rounding of X in UP5_6, in cents (ZX * 1.25 or 0.75 has at most 2
    /// decimals, so the cent value above is exact).
    fn scale_x(&self, x_cents: i128) -> i128 {
        match self.p.variant {
            Variant::Y2025 => x_cents,
            Variant::Y2026 => div_down(x_cents, 100) * 100,
        }
    }

    /// UPTAB25 / UPTAB26 (PAP Seite 38): tariff of § 32a EStG. X in cents, ST in euros.
    fn uptab(&mut self) {
        let p = self.p;
        let x = self.x;
        if x < (p.gfb + 1) * 100 {
            self.st = 0;
        } else if x < p.tab_z2_end * 100 {
            // Y = ((X - GFB) / 10000).divide(…, 6, ROUND_DOWN): with X in cents the
            // quotient in millionths is exactly X_cents - GFB_cents.
            let y = x - p.gfb * 100;
            // RW = Y * a + 1400, in 10^-8
            let rw = y * p.tab_z2_a + 1400 * 100_000_000;
            // ST = (RW * Y).setScale(0, ROUND_DOWN), RW * Y in 10^-14
            self.st = div_down(rw * y, 100_000_000_000_000);
        } else if x < p.tab_z3_end * 100 {
            // Y = ((X - start) / 10000) with 6 decimals, as above.
            let y = x - p.tab_z3_start * 100;
            // RW = Y * a + 2397, in 10^-8; RW = RW * Y, in 10^-14
            let rw = (y * p.tab_z3_a + 2397 * 100_000_000) * y;
            // ST = (RW + c).setScale(0, ROUND_DOWN)
            self.st = div_down(rw + p.tab_z3_c * 1_000_000_000_000, 100_000_000_000_000);
        } else if x < 277_826 * 100 {
            // ST = (X * 0.42 - sub).setScale(0, ROUND_DOWN), in 10^-4
            self.st = div_down(x * 42 - p.tab_z4_sub * 100, 10_000);
        } else {
            // ST = (X * 0.45 - sub).setScale(0, ROUND_DOWN), in 10^-4
            self.st = div_down(x * 45 - p.tab_z5_sub * 100, 10_000);
        }
        // ST = ST * KZTAB
        self.st *= self.kztab;
    }

    /// MSOLZ (PAP Seite 31): Solidaritätszuschlag and Kirchensteuer base.
    fn msolz(&mut self) {
        // SOLZFREI = SOLZFREI * KZTAB
        self.solzfrei *= self.kztab;
        if self.jbmg > self.solzfrei {
            // SOLZJ = (JBMG * 5.5 / 100).setScale(2, ROUND_DOWN), in cents JBMG * 5.5
            let mut solzj = div_down(self.jbmg * 55, 10);
            // SOLZMIN = ((JBMG - SOLZFREI) * 11.9 / 100).setScale(2, ROUND_DOWN)
            let solzmin = div_down((self.jbmg - self.solzfrei) * 119, 10);
            if solzmin < solzj {
                solzj = solzmin;
            }
            // JW = (SOLZJ * 100).setScale(0, ROUND_DOWN): SOLZJ in cents.
            self.solzlzz = self.upanteil(solzj);
        } else {
            self.solzlzz = 0;
        }
        self.bk = if self.i.r {
            // JW = JBMG * 100; BK = UPANTEIL
            self.upanteil(self.jbmg * 100)
        } else {
            0
        };
    }

    /// UPANTEIL (PAP Seite 32): the share of an annual amount JW (cents) for the
    /// period, rounded down to whole cents.
    fn upanteil(&self, jw: i128) -> i128 {
        match self.i.lzz {
            Lzz::Jahr => jw,
            // JW.divide(12, 0, ROUND_DOWN)
            Lzz::Monat => div_down(jw, 12),
            // (JW * 7).divide(360, 0, ROUND_DOWN)
            Lzz::Woche => div_down(jw * 7, 360),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(lzz: Lzz, re4: i128, stkl: u8) -> Input {
        Input {
            lzz,
            re4,
            stkl,
            f_milli: 1000,
            zkf_tenths: 0,
            r: false,
            krv: false,
            alv: false,
            kvz: 0,
            pkv: 0,
            pkpv: 0,
            pkpvagz: 0,
            pvs: false,
            pvz: false,
            pva: 0,
            alter1: false,
            ajahr: 0,
        }
    }

    /// Tariff check points of § 32a EStG: zero up to the Grundfreibetrag.
    #[test]
    fn tariff_is_zero_up_to_the_grundfreibetrag() {
        for p in [&PAP_2025, &PAP_2026] {
            let i = input(Lzz::Jahr, 0, 1);
            let mut s = State::new(p, &i);
            s.x = p.gfb * 100;
            s.uptab();
            assert_eq!(s.st, 0);
            s.x = (p.gfb + 1) * 100;
            s.uptab();
            assert_eq!(s.st, 0, "1 euro above the GFB is taxed at 14 % -> 0");
            s.x = 300_000 * 100;
            s.uptab();
            // zone 5: (300000 * 0.45 - sub) rounded down to whole euros
            assert_eq!(s.st, (300_000 * 45 - p.tab_z5_sub) / 100);
        }
    }

    /// Reference points of the 2026 PAP, run with the raw PAP inputs.
    #[test]
    fn reference_points_2026() {
        let mut i = input(Lzz::Jahr, 2_500_000, 1);
        assert_eq!(run(&PAP_2026, &i).lstlzz, 137_600);
        i = input(Lzz::Monat, 500_000, 1);
        i.kvz = 250;
        i.pvz = true;
        assert_eq!(run(&PAP_2026, &i).lstlzz, 78_583);
        i.kvz = 290;
        i.r = true;
        i.zkf_tenths = 10;
        let o = run(&PAP_2026, &i);
        assert_eq!((o.lstlzz, o.solzlzz, o.bk), (78_241, 0, 52_008));
        // Prüftabelle 2026 at 50,000 EUR: allgemeine Tabelle (KVZ 2.90, PVZ = 1
        // except class II), besondere Tabelle (KRV = ALV = PKV = 1, PKPV 300 EUR,
        // III 500 EUR, VI 0).
        let allgemein = [6788, 5580, 2810, 6788, 12010, 12542];
        for (k, want) in allgemein.iter().enumerate() {
            let mut i = input(Lzz::Jahr, 5_000_000, k as u8 + 1);
            i.kvz = 290;
            i.pvz = k != 1;
            assert_eq!(run(&PAP_2026, &i).lstlzz, want * 100, "allgemein {}", k + 1);
        }
        for (stkl, pkpv, want) in [(1, 30_000, 8880), (3, 50_000, 3824), (6, 0, 16773)] {
            let mut i = input(Lzz::Jahr, 5_000_000, stkl);
            i.krv = true;
            i.alv = true;
            i.pkv = 1;
            i.pkpv = pkpv;
            assert_eq!(run(&PAP_2026, &i).lstlzz, want * 100, "besonders {stkl}");
        }
    }

    #[test]
    fn upanteil_rounds_down_to_cents() {
        let i = input(Lzz::Woche, 0, 1);
        let s = State::new(&PAP_2026, &i);
        // 1000.00 EUR * 7 / 360 = 19.4444 -> 19.44
        assert_eq!(s.upanteil(100_000), 1944);
        let i = input(Lzz::Monat, 0, 1);
        let s = State::new(&PAP_2026, &i);
        assert_eq!(s.upanteil(100_011), 8334);
    }
}
