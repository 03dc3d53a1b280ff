//! Parameters per tax year: PAYE bands and rates (rest of UK, Scotland, Wales) and
//! Class 1 National Insurance thresholds and rates.
//!
//! Every table cites the publication it comes from. Amounts are in whole pounds unless
//! the name says otherwise; rates are in basis points (1/100 of a percent), so 20% is
//! `2000` and the married women's reduced rate 1.85% is `185`.

use super::loans::{self, LoanThresholds};

/// One income tax band: the rate applies to taxable pay up to `upper` (cumulative,
/// annual, whole pounds above the PAYE threshold); `None` for the top band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    /// Cumulative annual upper limit of the band in pounds (the spec's sum of the
    /// bandwidths B1..Bi), `None` for the open top band.
    pub upper: Option<i64>,
    /// Rate in basis points.
    pub rate_bp: i64,
}

/// The income tax rates one tax code prefix uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Regime {
    /// The name shown in notes: "rest of UK", "Scottish", "Welsh".
    pub name: &'static str,
    /// Bands in ascending order; the last one is open.
    pub bands: &'static [Band],
    /// Index in `bands` of the basic rate (the spec's pointer G / G1 / G2), used by
    /// code BR; code Dx uses the band at `basic + 1 + x`.
    pub basic: usize,
}

/// Class 1 National Insurance thresholds for one earnings period, in whole pounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NiThresholds {
    /// Lower earnings limit.
    pub lel: i64,
    /// Primary threshold (employee contributions start above it).
    pub pt: i64,
    /// Secondary threshold (employer contributions start above it).
    pub st: i64,
    /// Upper earnings limit (employee main rate stops, additional rate above it).
    pub uel: i64,
    /// Upper secondary threshold for employees under 21 (categories M, Z).
    pub ust: i64,
    /// Apprentice upper secondary threshold for apprentices under 25 (category H).
    pub aust: i64,
}

impl NiThresholds {
    /// The thresholds multiplied by `k`: the prescribed equivalent for an earnings
    /// period of `k` weeks is the weekly figure times `k` (Social Security
    /// (Contributions) Regulations 2001, reg. 11(2)(a) and (3)(c); the same multiples
    /// are HMRC's fortnightly and four-weekly figures).
    pub fn times(self, k: i64) -> NiThresholds {
        NiThresholds {
            lel: self.lel * k,
            pt: self.pt * k,
            st: self.st * k,
            uel: self.uel * k,
            ust: self.ust * k,
            aust: self.aust * k,
        }
    }
}

/// Class 1 National Insurance rates, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NiRates {
    /// Employee main rate between PT and UEL (categories A, H, M).
    pub main: i64,
    /// Employee married women's / widows' reduced rate between PT and UEL (category B).
    pub reduced: i64,
    /// Employee deferment rate between PT and UEL (categories J, Z).
    pub deferred: i64,
    /// Employee additional rate above the UEL (every liable category but C).
    pub additional: i64,
    /// Employer (secondary) rate above the ST (or above the UST/AUST for M, Z, H).
    pub employer: i64,
}

/// Everything that depends on the tax year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearParams {
    /// The tax year as HMRC names it, e.g. `2025-26`.
    pub name: &'static str,
    /// The calendar year the tax year starts in (6 April).
    pub start_year: i32,
    /// Rest of UK (England and Northern Ireland) rates: codes without prefix.
    pub ruk: Regime,
    /// Scottish rates: prefix S.
    pub scotland: Regime,
    /// Welsh rates: prefix C.
    pub wales: Regime,
    /// The overriding (regulatory) limit for K codes, in basis points of the pay in
    /// the period.
    pub overriding_limit_bp: i64,
    /// NI thresholds per week.
    pub ni_weekly: NiThresholds,
    /// NI thresholds per month.
    pub ni_monthly: NiThresholds,
    /// NI rates.
    pub ni_rates: NiRates,
    /// Student and postgraduate loan thresholds (see [`super::loans`]).
    pub loans: LoanThresholds,
}

// ---------------------------------------------------------------------------------
// Income tax bands.
//
// Rest of UK and Wales, 2025-26 and 2026-27: HMRC, "Rates and thresholds for employers
// 2025 to 2026" (published 31 January 2025), section "PAYE tax and Class 1 National
// Insurance contributions" > "Tax thresholds, rates and codes", tables "England and
// Northern Ireland" and "Wales": basic 20% up to £37,700, higher 40% from £37,701 to
// £125,140, additional 45% above £125,140 (annual earnings above the PAYE threshold);
// unchanged in "Rates and thresholds for employers 2026 to 2027", same section. The
// same bandwidths (B = 37,700 and 87,440) are the parameters of Appendix A/C of HMRC's
// "Specification for PAYE Tax Table Routines" v24.0 (February 2026).
// ---------------------------------------------------------------------------------

/// rUK/Welsh bands 2025-26 and 2026-27 (unchanged; see the comment above).
const RUK_BANDS: &[Band] = &[
    Band {
        upper: Some(37_700),
        rate_bp: 2000,
    },
    Band {
        upper: Some(125_140),
        rate_bp: 4000,
    },
    Band {
        upper: None,
        rate_bp: 4500,
    },
];

/// Scottish bands 2025-26: HMRC, "Rates and thresholds for employers 2025 to 2026",
/// "Tax thresholds, rates and codes" > table "Scotland": starter 19% up to £2,827,
/// basic 20% £2,828 to £14,921, intermediate 21% £14,922 to £31,092, higher 42%
/// £31,093 to £62,430, advanced 45% £62,431 to £125,140, top 48% above £125,140.
const SCOTLAND_BANDS_2025: &[Band] = &[
    Band {
        upper: Some(2_827),
        rate_bp: 1900,
    },
    Band {
        upper: Some(14_921),
        rate_bp: 2000,
    },
    Band {
        upper: Some(31_092),
        rate_bp: 2100,
    },
    Band {
        upper: Some(62_430),
        rate_bp: 4200,
    },
    Band {
        upper: Some(125_140),
        rate_bp: 4500,
    },
    Band {
        upper: None,
        rate_bp: 4800,
    },
];

/// Scottish bands 2026-27: HMRC, "Rates and thresholds for employers 2026 to 2027",
/// "Tax thresholds, rates and codes" > table "Scotland" (Scottish Rate Resolution
/// following the Scottish Budget of 13 January 2026): starter 19% up to £3,967, basic
/// 20% £3,968 to £16,956, intermediate 21% £16,957 to £31,092, higher 42% £31,093 to
/// £62,430, advanced 45% £62,431 to £125,140, top 48% above £125,140 (Appendix B of
/// the PAYE tax table routines spec v24.0 has the same bandwidths 3,967 / 12,989 /
/// 14,136 / 31,338 / 62,710).
const SCOTLAND_BANDS_2026: &[Band] = &[
    Band {
        upper: Some(3_967),
        rate_bp: 1900,
    },
    Band {
        upper: Some(16_956),
        rate_bp: 2000,
    },
    Band {
        upper: Some(31_092),
        rate_bp: 2100,
    },
    Band {
        upper: Some(62_430),
        rate_bp: 4200,
    },
    Band {
        upper: Some(125_140),
        rate_bp: 4500,
    },
    Band {
        upper: None,
        rate_bp: 4800,
    },
];

// ---------------------------------------------------------------------------------
// National Insurance.
//
// 2025-26: HMRC, "Rates and thresholds for employers 2025 to 2026", sections "Class 1
// National Insurance thresholds" (weekly / monthly / annual: LEL £125 / £542 / £6,500;
// PT £242 / £1,048 / £12,570; ST £96 / £417 / £5,000; UST, AUST and UEL £967 / £4,189 /
// £50,270) and "Class 1 National Insurance rates" (employee: A, H, M 8% PT..UEL and 2%
// above; B 1.85% and 2%; C nil; J, Z 2% and 2%; employer: 15% above ST for A, B, C, J;
// 0% up to the AUST for H and up to the UST for M, Z, 15% above).
// 2026-27: HMRC, "Rates and thresholds for employers 2026 to 2027", same sections: the
// LEL rises to £129 / £559 / £6,708 (announced at the Autumn Budget 2025); every other
// threshold and every rate is unchanged.
// ---------------------------------------------------------------------------------

const NI_RATES: NiRates = NiRates {
    main: 800,
    reduced: 185,
    deferred: 200,
    additional: 200,
    employer: 1500,
};

/// The tax years these rules support, oldest first.
pub const YEARS: &[YearParams] = &[
    YearParams {
        name: "2025-26",
        start_year: 2025,
        ruk: Regime {
            name: "rest of UK",
            bands: RUK_BANDS,
            basic: 0,
        },
        scotland: Regime {
            name: "Scottish",
            bands: SCOTLAND_BANDS_2025,
            basic: 1,
        },
        wales: Regime {
            name: "Welsh",
            bands: RUK_BANDS,
            basic: 0,
        },
        // PAYE tax table routines spec, Appendix A parameter M (regulatory limit) =
        // 50%; PAYE Regulations 2003 (SI 2003/2682) reg. 2 "overriding limit".
        overriding_limit_bp: 5000,
        ni_weekly: NiThresholds {
            lel: 125,
            pt: 242,
            st: 96,
            uel: 967,
            ust: 967,
            aust: 967,
        },
        ni_monthly: NiThresholds {
            lel: 542,
            pt: 1_048,
            st: 417,
            uel: 4_189,
            ust: 4_189,
            aust: 4_189,
        },
        ni_rates: NI_RATES,
        loans: loans::THRESHOLDS_2025_26,
    },
    YearParams {
        name: "2026-27",
        start_year: 2026,
        ruk: Regime {
            name: "rest of UK",
            bands: RUK_BANDS,
            basic: 0,
        },
        scotland: Regime {
            name: "Scottish",
            bands: SCOTLAND_BANDS_2026,
            basic: 1,
        },
        wales: Regime {
            name: "Welsh",
            bands: RUK_BANDS,
            basic: 0,
        },
        overriding_limit_bp: 5000,
        ni_weekly: NiThresholds {
            lel: 129,
            pt: 242,
            st: 96,
            uel: 967,
            ust: 967,
            aust: 967,
        },
        ni_monthly: NiThresholds {
            lel: 559,
            pt: 1_048,
            st: 417,
            uel: 4_189,
            ust: 4_189,
            aust: 4_189,
        },
        ni_rates: NI_RATES,
        loans: loans::THRESHOLDS_2026_27,
    },
];
