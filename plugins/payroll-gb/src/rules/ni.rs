//! Class 1 National Insurance by HMRC's exact percentage method.
//!
//! Social Security (Contributions) Regulations 2001 (SI 2001/1004) reg. 12(1): primary
//! and secondary Class 1 contributions "shall be calculated to the nearest penny and
//! any amount of a halfpenny or less shall be disregarded"; HMRC National Insurance
//! Manual NIM11002: employers using the exact percentage method calculate employee and
//! employer contributions separately and round each calculation to the nearest penny.
//! So each side sums its bands exactly and rounds once, half a penny going down.
//!
//! Employer contributions are due on all earnings above the secondary threshold even
//! where, as from 6 April 2025, the ST is below the lower earnings limit (HMRC National
//! Insurance Manual NIM01230; SSCBA 1992 s. 6(1)(b)).

use super::params::{NiRates, NiThresholds};

/// The National Insurance category letters these rules compute.
pub const CATEGORIES: &str = "A, B, C, H, J, M, X, Z";

/// A category letter and what it means for the rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// A: standard.
    A,
    /// B: married women and widows with the right to pay the reduced rate.
    B,
    /// C: over State Pension age (no employee contributions).
    C,
    /// H: apprentice under 25 (employer 0% up to the AUST).
    H,
    /// J: deferment (employee 2% above the PT).
    J,
    /// M: under 21 (employer 0% up to the UST).
    M,
    /// X: not liable to National Insurance (e.g. under 16).
    X,
    /// Z: under 21 with deferment.
    Z,
}

impl Category {
    /// Parse a category letter.
    pub fn parse(s: &str) -> Option<Category> {
        Some(match s {
            "A" => Category::A,
            "B" => Category::B,
            "C" => Category::C,
            "H" => Category::H,
            "J" => Category::J,
            "M" => Category::M,
            "X" => Category::X,
            "Z" => Category::Z,
            _ => return None,
        })
    }

    /// The letter.
    pub fn letter(self) -> char {
        match self {
            Category::A => 'A',
            Category::B => 'B',
            Category::C => 'C',
            Category::H => 'H',
            Category::J => 'J',
            Category::M => 'M',
            Category::X => 'X',
            Category::Z => 'Z',
        }
    }
}

/// Round an amount in 1/10000 of a penny to the nearest penny, an exact half penny
/// (or less) going down (reg. 12(1) SSCR 2001).
pub fn round_half_down(scaled: i128) -> i64 {
    let pence = scaled.div_euclid(10_000);
    let rest = scaled.rem_euclid(10_000);
    (pence + i128::from(rest > 5_000)) as i64
}

/// Employee (primary) and employer (secondary) contributions in pence for earnings
/// `gross` (pence) in one earnings period with thresholds `t` (pounds).
pub fn contributions(gross: i64, t: &NiThresholds, rates: &NiRates, cat: Category) -> (i64, i64) {
    let g = i128::from(gross.max(0));
    let pence = |pounds: i64| i128::from(pounds) * 100;
    // Earnings strictly above `from` up to and including `to` (CWG2 bands).
    let band = |from: i128, to: Option<i128>| -> i128 {
        let top = match to {
            Some(to) => g.min(to),
            None => g,
        };
        (top - from).max(0)
    };
    let (pt, uel) = (pence(t.pt), pence(t.uel));
    let (main, above) = match cat {
        Category::A | Category::H | Category::M => (rates.main, rates.additional),
        Category::B => (rates.reduced, rates.additional),
        Category::J | Category::Z => (rates.deferred, rates.additional),
        Category::C | Category::X => (0, 0),
    };
    let employee = band(pt, Some(uel)) * i128::from(main) + band(uel, None) * i128::from(above);
    let employer_from = match cat {
        Category::A | Category::B | Category::C | Category::J => Some(pence(t.st)),
        Category::H => Some(pence(t.aust)),
        Category::M | Category::Z => Some(pence(t.ust)),
        Category::X => None,
    };
    let employer = match employer_from {
        Some(from) => band(from, None) * i128::from(rates.employer),
        None => 0,
    };
    (round_half_down(employee), round_half_down(employer))
}

/// The earnings of one earnings period split into the bands an FPS reports, pence.
///
/// HMRC "RTI Data Items Guide" (Full Payment Submission, NI letter and values
/// group: "Earnings at the LEL", "Earnings above the LEL up to the PT" and "Earnings
/// above the PT up to the UEL", each year to date). Earnings below the LEL are not
/// reported, so every band is 0; from the LEL on, the whole LEL is "at the LEL", the
/// part above it up to and including the PT is the second band, the part above the
/// PT up to and including the UEL the third; earnings above the UEL are in no band.
/// A category X employee (not liable) has no bands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bands {
    /// `ni-at-lel`: the LEL when the earnings reach it, else 0.
    pub at_lel: i64,
    /// `ni-lel-pt`: earnings above the LEL up to the PT.
    pub lel_pt: i64,
    /// `ni-pt-uel`: earnings above the PT up to the UEL.
    pub pt_uel: i64,
}

impl Bands {
    /// The bands of `gross` pence in an earnings period with thresholds `t` (pounds).
    pub fn of(gross: i64, t: &NiThresholds, cat: Category) -> Bands {
        let (lel, pt, uel) = (t.lel * 100, t.pt * 100, t.uel * 100);
        if cat == Category::X || gross < lel {
            return Bands::default();
        }
        Bands {
            at_lel: lel,
            lel_pt: gross.min(pt) - lel,
            pt_uel: (gross.min(uel) - pt).max(0),
        }
    }

    /// What `self` adds to `earlier`: the part of a period's bands that a further
    /// payment in the same earnings period brings.
    pub fn minus(self, earlier: Bands) -> Bands {
        Bands {
            at_lel: self.at_lel - earlier.at_lel,
            lel_pt: self.lel_pt - earlier.lel_pt,
            pt_uel: self.pt_uel - earlier.pt_uel,
        }
    }
}
