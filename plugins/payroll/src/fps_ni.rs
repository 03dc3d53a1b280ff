//! The FPS "NI letter and values" group of one employee: per National Insurance
//! category letter, the year-to-date gross earnings for NICs, the earnings bands
//! (at the LEL, above the LEL up to the PT, above the PT up to the UEL) and the
//! employee's and employer's contributions. Field names as in HMRC's RTI Data Items
//! Guide for 2026-27 (Full Payment Submission); the bands come from the year-to-date
//! codes `ni-at-lel`, `ni-lel-pt` and `ni-pt-uel` of `payroll-gb` 0.2.0.
//!
//! Year to date means the approved payslips this one was computed from, followed
//! back through their `ytd-after-run` links to the first of the tax year:
//!
//! ```text
//! FPS of r-000003 ─ slip r-000003/G1 ─ built on ─> r-000002/G1 ─> r-000001/G1 ─> (none or opening figures)
//!                   each payslip's part = its year-to-date figure − the one it was built on
//! ```
//!
//! Each payslip's part is added under the letter it was computed with (its stored
//! profile), so an employee who changed letter in the year has one group per
//! letter. Opening figures (another payroll system's) are in no group, as in every
//! filing.

use std::collections::{BTreeMap, BTreeSet};

use backoffice_sdk::prelude::*;
use serde::Serialize;

use crate::filings::{Record, record};
use crate::runs::{Run, Slip, load_run};

/// One NI letter's year-to-date figures of an employee, pence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NiLetter {
    /// National Insurance category letter.
    pub ni_category: String,
    /// Gross earnings for NICs year to date (gross less salary sacrifice).
    pub gross_earnings_for_nics_year_to_date: i64,
    /// Earnings at the LEL year to date (`ni-at-lel`).
    pub earnings_at_lel_year_to_date: i64,
    /// Earnings above the LEL up to the PT year to date (`ni-lel-pt`).
    pub earnings_above_lel_up_to_pt_year_to_date: i64,
    /// Earnings above the PT up to the UEL year to date (`ni-pt-uel`).
    pub earnings_above_pt_up_to_uel_year_to_date: i64,
    /// Employee's contributions year to date (`gb-ni-employee` lines).
    pub employee_nics_year_to_date: i64,
    /// Employer NICs year to date (`gb-ni-employer` lines).
    pub employer_nics_year_to_date: i64,
}

/// The most payslips one employee's tax year is followed back through: 53 weekly
/// payments with a bonus and an adjustment each, with room to spare. A longer
/// chain means damaged links and is refused rather than followed forever.
const MAX_CHAIN: usize = 400;

/// The letter a payslip was computed with (its profile's, `A` by default).
fn letter(r: &Record) -> String {
    r.profile
        .get("ni-category")
        .and_then(|v| v.as_str())
        .unwrap_or("A")
        .trim()
        .to_ascii_uppercase()
}

/// Whether the rules returned the bands for this payslip (`payroll-gb` 0.2.0 and
/// later do; earlier payslips have none).
pub fn has_bands(r: &Record) -> bool {
    r.payslip.ytd.contains_key("ni-at-lel")
}

/// The NI letter groups of the payslips of one employee's tax year, in letter order.
pub fn ni_letters(chain: &[Record]) -> Vec<NiLetter> {
    let mut by_letter: BTreeMap<String, NiLetter> = BTreeMap::new();
    for r in chain {
        let l = letter(r);
        let g = by_letter.entry(l.clone()).or_insert_with(|| NiLetter {
            ni_category: l,
            ..NiLetter::default()
        });
        g.gross_earnings_for_nics_year_to_date +=
            r.payslip.gross - r.lines(&["gb-salary-sacrifice"]);
        g.earnings_at_lel_year_to_date += r.period("ni-at-lel");
        g.earnings_above_lel_up_to_pt_year_to_date += r.period("ni-lel-pt");
        g.earnings_above_pt_up_to_uel_year_to_date += r.period("ni-pt-uel");
        g.employee_nics_year_to_date += r.lines(&["gb-ni-employee"]);
        g.employer_nics_year_to_date += r.lines(&["gb-ni-employer"]);
    }
    by_letter.into_values().collect()
}

/// `first` and the approved payslips it was built on, latest first. `runs` caches
/// the runs read, shared by the employees of one FPS.
pub(crate) fn chain(first: Record, runs: &mut BTreeMap<String, Run>) -> Result<Vec<Record>> {
    let mut seen = BTreeSet::new();
    let mut out = vec![first];
    while let Some(prev) = out.last().and_then(|r| r.previous.clone()) {
        let employee = out.last().map(|r| r.employee.clone()).unwrap_or_default();
        if !seen.insert(prev.clone()) || out.len() > MAX_CHAIN {
            return Err(Error::internal(format!(
                "employee {employee}: the payslips of the tax year do not lead back to its first run (stopped at run {prev}); the year-to-date links are damaged"
            )));
        }
        if !runs.contains_key(&prev) {
            runs.insert(prev.clone(), load_run(&prev)?);
        }
        let Some(run) = runs.get(&prev) else {
            break;
        };
        let slip = storage::get::<Slip>(&format!("slip/{prev}/{employee}"))?.ok_or_else(|| {
            Error::internal(format!(
                "employee {employee}: the payslip of run {prev} that a later payslip was computed from is missing"
            ))
        })?;
        out.push(record(run, slip)?);
    }
    Ok(out)
}
