//! Year-to-date figures as people see and enter them: `get-ytd` shows an employee's
//! figures per tax year; `set-opening-ytd` enters the figures an employee brings
//! when joining the payroll mid-year: a UK starter's P45 (previous pay and tax,
//! which cumulative PAYE needs), or the totals of the payroll system the company
//! used before this one.
//!
//! Opening figures are stored as the tax year's figures, as if a run had posted
//! them; the next run starts from them. They can be replaced until the first run of
//! the year is approved; after that they are history (kept in `opening`).

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{CalcInput, v0_2 as payroll};
use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::caller_name;
use crate::employees::employee_as_of;
use crate::runs::{Ytd, ytd_key};

/// Marks [`Ytd::run`] of figures entered by `set-opening-ytd`, followed by a number
/// that changes with each entry (so a draft computed before a change is caught at
/// approval like one computed before a posted run).
pub const OPENING_MARK: &str = "opening-";

/// Gross pay for the one calculation that checks opening figures: the rules only
/// need to accept it (German rules refuse Midijob amounts up to 2,000 EUR) to say
/// which tax year the pay date is in and whether they know every code.
const CHECK_GROSS: i64 = 1_000_000;

/// Who entered opening figures, when and from what.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Opening {
    figures: BTreeMap<String, i64>,
    note: String,
    set_by: String,
    set_at: String,
}

impl Opening {
    /// The figures entered.
    pub(crate) fn figures(&self) -> &BTreeMap<String, i64> {
        &self.figures
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SetOpening {
    employee: String,
    /// Any pay date in the tax year the figures belong to; the country's rules say
    /// which year that is.
    pay_date: Date,
    figures: BTreeMap<String, i64>,
    /// Where the figures come from, e.g. "P45 from Previous Ltd, leaving 2026-08-31".
    note: String,
}

/// One employee's figures of one tax year.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct YtdOut {
    employee: String,
    country: String,
    tax_year: String,
    figures: BTreeMap<String, i64>,
    /// The approved run that last added to them; `null` while only opening figures
    /// are there.
    run: Option<String>,
    /// The opening figures the year started from, if any were entered.
    opening: Option<Opening>,
}

impl YtdOut {
    fn new(employee: &str, country: &str, y: Ytd) -> YtdOut {
        YtdOut {
            employee: employee.to_string(),
            country: country.to_string(),
            tax_year: y.tax_year,
            figures: y.figures,
            run: (!y.run.starts_with(OPENING_MARK)).then_some(y.run),
            opening: y.opening,
        }
    }
}

/// `set-opening-ytd`: enter or replace the figures an employee starts a tax year
/// with, before the first approved run of that year.
pub fn set_opening(input: SetOpening) -> Result<YtdOut> {
    let note = input.note.trim();
    if note.is_empty() {
        return Err(Error::invalid(
            "note: say where the figures come from (e.g. \"P45 from Previous Ltd\")",
        ));
    }
    // The record in force on the pay date, or the latest one for a starter whose
    // first day is after it.
    let emp = match employee_as_of(&input.employee, Some(input.pay_date))? {
        Some(e) => e,
        None => employee_as_of(&input.employee, None)?.ok_or_else(|| {
            Error::not_found(format!(
                "employee {} does not exist; add them with set-employee first",
                input.employee
            ))
        })?,
    };
    // The country's rules check the codes and amounts and name the tax year.
    let check = CalcInput {
        country: emp.country.clone(),
        pay_date: input.pay_date.to_string(),
        frequency: emp.frequency,
        gross: CHECK_GROSS,
        currency: emp.currency.clone(),
        ytd: input.figures.clone(),
        profile: emp.profile.clone(),
    };
    let tax_year = payroll::calculate(&check)
        .map_err(|e| match e {
            Error::InvalidInput(m) => Error::invalid(format!("opening figures: {m}")),
            other => other,
        })?
        .tax_year;
    let key = ytd_key(&emp.id, &emp.country, &tax_year);
    if let Some(current) = storage::get::<Ytd>(&key)?
        && !current.run.starts_with(OPENING_MARK)
    {
        return Err(Error::conflict(format!(
            "employee {} already has {} figures of tax year {tax_year} from approved run {}; opening figures are entered before the first run of the year",
            emp.id, emp.country, current.run
        )));
    }
    let number = storage::get::<u64>("seq/opening")?.unwrap_or(0) + 1;
    storage::put("seq/opening", &number)?;
    let ytd = Ytd {
        tax_year,
        figures: input.figures.clone(),
        run: format!("{OPENING_MARK}{number}"),
        opening: Some(Opening {
            figures: input.figures,
            note: note.to_string(),
            set_by: caller_name(),
            set_at: context::now().to_rfc3339(),
        }),
    };
    storage::put(&key, &ytd)?;
    Ok(YtdOut::new(&emp.id, &emp.country, ytd))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GetYtd {
    employee: String,
}

#[derive(Debug, Serialize)]
pub struct YtdList {
    years: Vec<YtdOut>,
}

/// `get-ytd`: an employee's figures of every tax year and country, oldest first.
pub fn get_ytd(input: GetYtd) -> Result<YtdList> {
    if employee_as_of(&input.employee, None)?.is_none() {
        return Err(Error::not_found(format!(
            "employee {} does not exist",
            input.employee
        )));
    }
    let years = storage::scan_prefix(&format!("ytd/{}/", input.employee))
        .collect::<Ytd>()?
        .into_iter()
        .map(|(key, y)| {
            // ytd/<employee>/<country>/<tax-year>
            let country = key.split('/').nth(2).unwrap_or_default().to_string();
            YtdOut::new(&input.employee, &country, y)
        })
        .collect();
    Ok(YtdList { years })
}
