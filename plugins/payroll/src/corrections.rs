//! Correction filings (issue 22, items 1 and 6): what was filed is recorded, and a
//! correction compares it with the figures the approved runs give today (after
//! adjustment runs changed a period already filed).
//!
//! - `record-filing` stores a snapshot of a filing as it was sent (Form 941 of a
//!   quarter, the W-2s of a year, the Lohnsteuer-Anmeldung of a month) with the date
//!   it was filed. Recording again once the figures changed records the correction as
//!   filed: the latest snapshot is always "what the authority has".
//! - `form-941-x`: Form 941-X, Part 3, for a quarter: the lines whose figures
//!   changed, with the corrected amount (column 1), the amount as filed (column 2),
//!   the difference (column 3) and the tax correction (column 4).
//!   Parts 1, 2 and 4 (process, certifications, date discovered, explanation) are
//!   inputs checked against Part 3 ([`check_parts`]); a quarter of an earlier
//!   calendar year carries [`notes_941x`].
//! - `form-w2c`: Form W-2c per employee: each box that changed, previously reported
//!   and correct.
//! - `lohnsteuer-anmeldung-berichtigung`: the month's Lohnsteuer-Anmeldung in full,
//!   marked as a berichtigte Anmeldung, with the difference to the one filed.
//!
//! Storage: `filing/941/<year>-Q<quarter>`, `filing/lsta/<year>-<month>` and
//! `filing/w2/<year>/<employee>` each hold the list of [`Recorded`] snapshots of that
//! filing, oldest first.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::caller_name;
use crate::filings::{
    self, Form941Lines, Form941Sum, MAX_FILING_PAGE, MonthInput, QuarterInput, Record, W2,
    check_found, for_each_employee_records, runs_paid, w2_of,
};
use crate::model::div_round;
use crate::runs::Slip;

/// One filing as it was sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Recorded {
    /// The date the filing was sent to the authority.
    pub(crate) filed_on: Date,
    pub(crate) recorded_by: String,
    pub(crate) recorded_at: String,
    /// The figures as filed (the form's lines, Kennzahlen or boxes).
    pub(crate) figures: Value,
    /// The approved runs they were made from.
    pub(crate) runs: Vec<String>,
}

// ---------------------------------------------------------------------------
// Differences (pure, tested natively)
// ---------------------------------------------------------------------------

/// `corrected - reported`, figure by figure: numbers are subtracted, objects are
/// compared key by key (a key only one side has counts as 0 on the other), anything
/// else is taken from `corrected`.
pub fn difference(reported: &Value, corrected: &Value) -> Value {
    match (reported, corrected) {
        (Value::Object(r), Value::Object(c)) => {
            let mut out = Map::new();
            for key in r.keys().chain(c.keys()) {
                if out.contains_key(key) {
                    continue;
                }
                let zero = zero_like(r.get(key).or(c.get(key)).unwrap_or(&Value::Null));
                let (a, b) = (r.get(key).unwrap_or(&zero), c.get(key).unwrap_or(&zero));
                out.insert(key.clone(), difference(a, b));
            }
            Value::Object(out)
        }
        (Value::Number(r), Value::Number(c)) => {
            json!(c.as_i64().unwrap_or(0) - r.as_i64().unwrap_or(0))
        }
        (Value::Null, Value::Number(c)) => json!(c.as_i64().unwrap_or(0)),
        (Value::Number(r), Value::Null) => json!(-r.as_i64().unwrap_or(0)),
        _ => corrected.clone(),
    }
}

/// A value of the same shape as `v` with every number 0.
fn zero_like(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), zero_like(v))).collect())
        }
        Value::Number(_) => json!(0),
        other => other.clone(),
    }
}

/// Whether every number of a [`difference`] is 0.
pub fn all_zero(diff: &Value) -> bool {
    match diff {
        Value::Object(m) => m.values().all(all_zero),
        Value::Number(n) => n.as_i64() == Some(0),
        _ => true,
    }
}

/// One line of Form 941-X, Part 3 (cents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Line941X {
    /// The Form 941-X line number.
    pub line: &'static str,
    pub description: &'static str,
    /// The Form 941 line it corrects.
    pub form_941_line: &'static str,
    /// Column 1: total corrected amount (for all employees).
    pub column_1: i64,
    /// Column 2: amount originally reported or as previously corrected.
    pub column_2: i64,
    /// Column 3: difference, column 1 less column 2 (negative for a decrease).
    pub column_3: i64,
    /// Column 4: tax correction; none for line 6 (wages carry no tax of their own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_4: Option<i64>,
}

/// A Form 941-X line to fill: its number, description, the Form 941 line, columns 1
/// and 2, and column 4's rate per 1000 (none for wages).
type Row941X = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    Option<i128>,
);

/// Form 941-X, Part 3, from the Form 941 lines as filed and as corrected: the lines
/// whose column 3 is not 0. Line numbers, the Form 941 lines they correct and the
/// column 4 rates as on Form 941-X (Rev. April 2025, Part 3) and in the Instructions
/// for Form 941-X (Rev. April 2025), lines 6 to 13: line 6 wages (no tax column),
/// line 7 federal income tax withheld (column 4 = column 3), line 8 taxable social
/// security wages (x 0.124), line 11 taxable social security tips (x 0.124), line
/// 12 taxable Medicare wages and tips (x 0.029), line 13 wages subject to Additional
/// Medicare Tax withholding (x 0.009). Column 4 is rounded to the cent. Lines 9 and
/// 10 (COVID-19 qualified sick and family leave wages, 2020 and 2021) never apply.
pub fn form_941x_lines(reported: &Form941Lines, corrected: &Form941Lines) -> Vec<Line941X> {
    let rows: [Row941X; 6] = [
        (
            "6",
            "Wages, tips, and other compensation",
            "2",
            corrected.line_2,
            reported.line_2,
            None,
        ),
        (
            "7",
            "Federal income tax withheld from wages, tips, and other compensation",
            "3",
            corrected.line_3,
            reported.line_3,
            Some(1000),
        ),
        (
            "8",
            "Taxable social security wages",
            "5a",
            corrected.line_5a.column_1,
            reported.line_5a.column_1,
            Some(124),
        ),
        (
            "11",
            "Taxable social security tips",
            "5b",
            corrected.line_5b.column_1,
            reported.line_5b.column_1,
            Some(124),
        ),
        (
            "12",
            "Taxable Medicare wages & tips",
            "5c",
            corrected.line_5c.column_1,
            reported.line_5c.column_1,
            Some(29),
        ),
        (
            "13",
            "Taxable wages & tips subject to Additional Medicare Tax withholding",
            "5d",
            corrected.line_5d.column_1,
            reported.line_5d.column_1,
            Some(9),
        ),
    ];
    rows.into_iter()
        .filter(|r| r.3 != r.4)
        .map(|(line, description, form_941_line, c1, c2, rate)| {
            let c3 = c1 - c2;
            Line941X {
                line,
                description,
                form_941_line,
                column_1: c1,
                column_2: c2,
                column_3: c3,
                column_4: rate.map(|per_mille| div_round(i128::from(c3) * per_mille, 1000)),
            }
        })
        .collect()
}

/// One W-2 box as Form W-2c shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Corrected {
    pub previously_reported: i64,
    pub correct: i64,
}

/// Boxes 15 to 17 of one state on Form W-2c.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StateCorrection {
    pub state: String,
    /// Box 16, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wages: Option<Corrected>,
    /// Box 17, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax: Option<Corrected>,
}

/// One employee's Form W-2c: only the boxes that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct W2c {
    pub employee: String,
    pub name: String,
    /// The date the W-2 (or the last W-2c) being corrected was filed.
    pub filed_on: Date,
    /// Boxes 1 to 6 and 12 (code D) that changed, keyed `box-1` ... `box-12-d`.
    pub boxes: BTreeMap<String, Corrected>,
    /// States whose box 16 or 17 changed.
    pub states: Vec<StateCorrection>,
}

/// The W-2c of an employee from the W-2 as filed and as it stands now; `None` when
/// no box changed. Per the General Instructions for Forms W-2 and W-3 (2025), "Form
/// W-2c" and the Instructions for Form W-2c: for each box being corrected, the
/// amount previously reported and the correct amount; boxes that do not change are
/// left blank.
pub fn w2c(reported: &W2, correct: &W2, filed_on: Date) -> Option<W2c> {
    let mut boxes = BTreeMap::new();
    for (name, was, now) in [
        ("box-1", reported.box_1, correct.box_1),
        ("box-2", reported.box_2, correct.box_2),
        ("box-3", reported.box_3, correct.box_3),
        ("box-4", reported.box_4, correct.box_4),
        ("box-5", reported.box_5, correct.box_5),
        ("box-6", reported.box_6, correct.box_6),
        ("box-12-d", reported.box_12_d, correct.box_12_d),
    ] {
        if was != now {
            boxes.insert(
                name.to_string(),
                Corrected {
                    previously_reported: was,
                    correct: now,
                },
            );
        }
    }
    let mut states: Vec<String> = reported
        .states
        .iter()
        .chain(&correct.states)
        .map(|s| s.state.clone())
        .collect();
    states.sort();
    states.dedup();
    let find = |w: &W2, state: &str| {
        w.states
            .iter()
            .find(|s| s.state == state)
            .map_or((0, 0), |s| (s.wages, s.tax))
    };
    let changed = |was: i64, now: i64| {
        (was != now).then_some(Corrected {
            previously_reported: was,
            correct: now,
        })
    };
    let states: Vec<StateCorrection> = states
        .into_iter()
        .filter_map(|state| {
            let (was, now) = (find(reported, &state), find(correct, &state));
            let c = StateCorrection {
                wages: changed(was.0, now.0),
                tax: changed(was.1, now.1),
                state,
            };
            (c.wages.is_some() || c.tax.is_some()).then_some(c)
        })
        .collect();
    if boxes.is_empty() && states.is_empty() {
        return None;
    }
    Some(W2c {
        employee: correct.employee.clone(),
        name: correct.name.clone(),
        filed_on,
        boxes,
        states,
    })
}

// ---------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------

fn key_941(year: u16, quarter: u8) -> String {
    format!("filing/941/{year}-Q{quarter}")
}

fn key_lsta(year: u16, month: u8) -> String {
    format!("filing/lsta/{year}-{month:02}")
}

fn key_w2(year: u16, employee: &str) -> String {
    format!("filing/w2/{year}/{employee}")
}

fn history(key: &str) -> Result<Vec<Recorded>> {
    Ok(storage::get::<Vec<Recorded>>(key)?.unwrap_or_default())
}

/// A W-2's boxes as recorded: everything but the runs (kept beside them).
fn w2_figures(w: &W2) -> Result<Value> {
    let mut v = serde_json::to_value(w).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(obj) = v.as_object_mut() {
        obj.remove("runs");
    }
    Ok(v)
}

fn w2_from(recorded: &Recorded) -> Result<W2> {
    let mut v = recorded.figures.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("runs".into(), json!(recorded.runs));
    }
    serde_json::from_value(v).map_err(|e| Error::internal(format!("a recorded W-2: {e}")))
}

// ---------------------------------------------------------------------------
// record-filing
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum FormName {
    #[serde(rename = "941")]
    F941,
    #[serde(rename = "w-2")]
    W2,
    #[serde(rename = "lohnsteuer-anmeldung")]
    Lsta,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RecordInput {
    form: FormName,
    year: u16,
    #[serde(default)]
    quarter: Option<u8>,
    #[serde(default)]
    month: Option<u8>,
    /// W-2 only: one employee's W-2; all when left out.
    #[serde(default)]
    employee: Option<String>,
    /// When the filing was sent; today when left out.
    #[serde(default)]
    filed_on: Option<Date>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RecordOut {
    form: &'static str,
    period: String,
    filed_on: Date,
    /// A correction: an earlier filing of the period was recorded before.
    correction: bool,
    /// Form 941 and the Lohnsteuer-Anmeldung: the figures recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    figures: Option<Value>,
    /// W-2: the employees whose W-2 was recorded (first filing or correction).
    #[serde(skip_serializing_if = "Option::is_none")]
    employees: Option<Vec<String>>,
    /// W-2: employees already recorded with the same boxes, left as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    unchanged: Option<u64>,
    runs: Vec<String>,
}

/// Append `figures` to the filing's history unless the latest entry already holds
/// them; whether it was a correction.
fn append(key: &str, filed_on: Date, figures: Value, runs: Vec<String>) -> Result<Option<bool>> {
    let mut list = history(key)?;
    if list.last().is_some_and(|last| last.figures == figures) {
        return Ok(None);
    }
    if let Some(last) = list.last()
        && filed_on < last.filed_on
    {
        return Err(Error::invalid(format!(
            "filed-on {filed_on} is before {}, when the filing it corrects was recorded as filed; give the date the correction was sent",
            last.filed_on
        )));
    }
    let correction = !list.is_empty();
    list.push(Recorded {
        filed_on,
        recorded_by: caller_name(),
        recorded_at: context::now().to_rfc3339(),
        figures,
        runs,
    });
    storage::put(key, &list)?;
    Ok(Some(correction))
}

fn already(what: &str, key: &str) -> Result<Error> {
    let on = history(key)?
        .last()
        .map(|r| r.filed_on.to_string())
        .unwrap_or_default();
    Ok(Error::conflict(format!(
        "{what} is already recorded as filed on {on} with these figures; nothing changed since, so there is nothing to record"
    )))
}

pub(crate) fn record_filing(input: RecordInput) -> Result<RecordOut> {
    let filed_on = input.filed_on.unwrap_or_else(context::today);
    let unwanted = |field: &str, value: bool| -> Result<()> {
        if value {
            return Err(Error::invalid(format!(
                "{field} does not apply to this form: give year and quarter for form 941, year (and optionally employee) for w-2, year and month for lohnsteuer-anmeldung"
            )));
        }
        Ok(())
    };
    match input.form {
        FormName::F941 => {
            unwanted("month", input.month.is_some())?;
            unwanted("employee", input.employee.is_some())?;
            let quarter = input.quarter.ok_or_else(|| {
                Error::invalid("form 941 is quarterly: give the quarter (1 to 4) it was filed for")
            })?;
            let out = filings::form_941_op(QuarterInput {
                year: input.year,
                quarter,
            })?;
            let label = format!("{}-Q{quarter}", input.year);
            let (from, _) = filings::quarter_dates(input.year, quarter)?;
            check_filed_on(filed_on, from, &label)?;
            let figures =
                serde_json::to_value(&out.lines).map_err(|e| Error::internal(e.to_string()))?;
            let key = key_941(input.year, quarter);
            let Some(correction) = append(&key, filed_on, figures.clone(), out.runs.clone())?
            else {
                return Err(already(&format!("Form 941 of {label}"), &key)?);
            };
            Ok(RecordOut {
                form: "941",
                period: label,
                filed_on,
                correction,
                figures: Some(figures),
                employees: None,
                unchanged: None,
                runs: out.runs,
            })
        }
        FormName::Lsta => {
            unwanted("quarter", input.quarter.is_some())?;
            unwanted("employee", input.employee.is_some())?;
            let month = input.month.ok_or_else(|| {
                Error::invalid(
                    "the Lohnsteuer-Anmeldung is monthly: give the month (1 to 12) it was filed for",
                )
            })?;
            let out = filings::lohnsteuer_anmeldung_op(MonthInput {
                year: input.year,
                month,
            })?;
            let label = format!("{}-{month:02}", input.year);
            let from = Date::new(input.year, month, 1)
                .ok_or_else(|| Error::invalid(format!("month {label} does not exist")))?;
            check_filed_on(filed_on, from, &label)?;
            let figures = lsta_figures(&out)?;
            let key = key_lsta(input.year, month);
            let Some(correction) = append(&key, filed_on, figures.clone(), out.runs.clone())?
            else {
                return Err(already(
                    &format!("the Lohnsteuer-Anmeldung of {label}"),
                    &key,
                )?);
            };
            Ok(RecordOut {
                form: "lohnsteuer-anmeldung",
                period: label,
                filed_on,
                correction,
                figures: Some(figures),
                employees: None,
                unchanged: None,
                runs: out.runs,
            })
        }
        FormName::W2 => {
            unwanted("quarter", input.quarter.is_some())?;
            unwanted("month", input.month.is_some())?;
            let label = input.year.to_string();
            let from = Date::new(input.year, 1, 1)
                .ok_or_else(|| Error::invalid(format!("year {label}: give 2000 to 2100")))?;
            check_filed_on(filed_on, from, &label)?;
            let current = current_w2s(input.year, input.employee.as_deref())?;
            let (mut recorded, mut unchanged, mut any_correction) = (Vec::new(), 0u64, false);
            let mut runs: Vec<String> = Vec::new();
            for w in current.w2s {
                let figures = w2_figures(&w)?;
                match append(
                    &key_w2(input.year, &w.employee),
                    filed_on,
                    figures,
                    w.runs.clone(),
                )? {
                    None => unchanged += 1,
                    Some(correction) => {
                        any_correction |= correction;
                        recorded.push(w.employee.clone());
                        for r in w.runs {
                            if !runs.contains(&r) {
                                runs.push(r);
                            }
                        }
                    }
                }
            }
            if recorded.is_empty() {
                return Err(Error::conflict(format!(
                    "the W-2s of {label} ({unchanged} employees) are already recorded as filed with these boxes; nothing changed since, so there is nothing to record"
                )));
            }
            runs.sort();
            Ok(RecordOut {
                form: "w-2",
                period: label,
                filed_on,
                correction: any_correction,
                figures: None,
                employees: Some(recorded),
                unchanged: Some(unchanged),
                runs,
            })
        }
    }
}

fn check_filed_on(filed_on: Date, from: Date, label: &str) -> Result<()> {
    if filed_on < from {
        return Err(Error::invalid(format!(
            "filed-on {filed_on} is before {label} begins ({from}); give the date the filing was sent to the authority"
        )));
    }
    Ok(())
}

fn lsta_figures(out: &filings::LstaOut) -> Result<Value> {
    Ok(json!({
        "kennzahlen": out.kennzahlen,
        "kirchensteuer-nach-konfession": out.kirchensteuer_nach_konfession,
        "kirchensteuer-ohne-konfession": out.kirchensteuer_ohne_konfession.amount,
    }))
}

/// The W-2s of a year as the approved runs give them now (one employee's, or all).
pub(crate) struct CurrentW2s {
    pub(crate) w2s: Vec<W2>,
}

pub(crate) fn current_w2s(year: u16, employee: Option<&str>) -> Result<CurrentW2s> {
    let bad = || Error::invalid(format!("year {year}: give a year from 2000 to 2100"));
    let from = Date::new(year, 1, 1).ok_or_else(bad)?;
    let to = Date::new(year, 12, 31).ok_or_else(bad)?;
    let period = runs_paid(from, to)?;
    check_found("US", &period, (from, to), "Form W-2", &year.to_string())?;
    let mut w2s = Vec::new();
    match employee {
        Some(id) => {
            let mut records = Vec::new();
            for run in &period.posted {
                if !run.countries.contains_key("US") {
                    continue;
                }
                if let Some(slip) = storage::get::<Slip>(&format!("slip/{}/{id}", run.id))?
                    && slip.payslip.country == "US"
                {
                    records.push(filings::record(run, slip)?);
                }
            }
            let w = w2_of(&records).ok_or_else(|| {
                Error::not_found(format!(
                    "employee {id} has no US payslip in an approved run paid in {year}"
                ))
            })?;
            w2s.push(w);
        }
        None => {
            for_each_employee_records(&period.posted, "US", None, |records| {
                w2s.extend(w2_of(&records));
                Ok(true)
            })?;
        }
    }
    Ok(CurrentW2s { w2s })
}

// ---------------------------------------------------------------------------
// form-941-x
// ---------------------------------------------------------------------------

/// Part 1 of Form 941-X: the one process chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Process {
    /// Line 1, adjusted employment tax return: for underreported amounts, and for
    /// overreported ones the employer wants credited on the return of the quarter
    /// the 941-X is filed in.
    AdjustedReturn,
    /// Line 2, claim for refund or abatement: overreported amounts only.
    Claim,
}

/// Part 2 as given: line 3, and the boxes of line 4 (adjusted return of
/// overreported amounts) or line 5 (claim).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Certifications {
    #[serde(default)]
    pub line_3: bool,
    #[serde(default)]
    pub line_4: Vec<String>,
    #[serde(default)]
    pub line_5: Vec<String>,
}

/// What Parts 1, 2 and 4 of Form 941-X are given in a call.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    pub process: Option<Process>,
    pub certifications: Option<Certifications>,
    pub date_discovered: Option<Date>,
    pub both_underreported_and_overreported: bool,
    pub reclassified_workers: bool,
    pub explanation: Option<String>,
}

/// One certification box checked, with what it certifies (in our words; the
/// form's own text is on Form 941-X, Rev. April 2025, Part 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Certified {
    pub line: String,
    pub certifies: &'static str,
}

/// Parts 1, 2 and 4 as they go on the form, once checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Parts124 {
    /// Part 1: `"1"` (adjusted employment tax return) or `"2"` (claim).
    pub part_1_line: &'static str,
    pub process: Process,
    /// Part 2: the boxes checked (line 3 always; 4a to 4c or 5a to 5d).
    pub part_2: Vec<Certified>,
    /// The date the errors were discovered (page 1, beside the quarter).
    pub date_discovered: Date,
    /// Part 4, line 41: a line's correction includes both underreported and
    /// overreported amounts.
    pub line_41: bool,
    /// Part 4, line 42: corrections involve reclassified workers (never: refused).
    pub line_42: bool,
    /// Part 4, line 43: the explanation of the corrections.
    pub line_43: String,
}

/// Line 4's boxes (adjusting overreported amounts): Form 941-X (Rev. April 2025),
/// Part 2, line 4, and the Instructions for Form 941-X (Rev. April 2025), "4.
/// Certifying Overreporting Adjustments".
const LINE_4: [(&str, &str); 3] = [
    (
        "a",
        "each affected employee was repaid or reimbursed the overcollected tax (for employee social security and Medicare tax of prior years, with each employee's written statement that they have not claimed and will not claim it back)",
    ),
    (
        "b",
        "the social security and Medicare adjustments are of the employer's share only (employees not found, or without their written statement)",
    ),
    (
        "c",
        "the adjustment is of tax that was not withheld from employees' wages",
    ),
];

/// Line 5's boxes (claim for refund or abatement): Form 941-X (Rev. April 2025),
/// Part 2, line 5, and the Instructions, "5. Certifying Claims".
const LINE_5: [(&str, &str); 4] = [
    (
        "a",
        "each affected employee was repaid or reimbursed the overcollected social security and Medicare tax (for prior years, with their written statement)",
    ),
    (
        "b",
        "each affected employee consented in writing to the claim of their share of social security and Medicare tax (for prior years, with their written statement)",
    ),
    (
        "c",
        "the claim of social security and Medicare tax is for the employer's share only (employees not found, or without their consent or statement)",
    ),
    (
        "d",
        "the claim is of tax that was not withheld from employees' wages",
    ),
];

/// The boxes of one certification line, each known and given once.
fn boxes(line: &str, given: &[String], known: &[(&str, &'static str)]) -> Result<Vec<Certified>> {
    let mut out: Vec<Certified> = Vec::new();
    for letter in given {
        let Some((_, text)) = known.iter().find(|(l, _)| *l == letter.as_str()) else {
            let names: Vec<&str> = known.iter().map(|(l, _)| *l).collect();
            return Err(Error::invalid(format!(
                "certifications.line-{line}: there is no box {letter:?} on line {line}; the boxes are {}",
                names.join(", ")
            )));
        };
        let name = format!("{line}{letter}");
        if out.iter().any(|c| c.line == name) {
            return Err(Error::invalid(format!(
                "certifications.line-{line}: box {letter} is given twice"
            )));
        }
        out.push(Certified {
            line: name,
            certifies: text,
        });
    }
    Ok(out)
}

/// Part 4, line 41 of Form 941-X (Rev. April 2025): "Check here if any corrections
/// you entered on a line include both underreported and overreported amounts". The
/// Instructions for Form 941-X (Rev. April 2025), line 41: a line's correction is the
/// net of each employee's; the box is checked when, on one line, some employees'
/// amounts were underreported and others' overreported. From each employee's Form
/// 941 figures as filed and as corrected, the Part 3 lines on which the employees'
/// differences (column 3) have both signs, in form order.
pub fn line_41_lines(per_employee: &[(Form941Lines, Form941Lines)]) -> Vec<&'static str> {
    let mut acc = Line41::default();
    for (filed, corrected) in per_employee {
        acc.add(filed, corrected);
    }
    acc.lines()
}

/// The Part 3 lines on which some employee's difference was positive and some
/// negative, gathered one employee at a time.
#[derive(Debug, Default)]
struct Line41 {
    up: Vec<&'static str>,
    down: Vec<&'static str>,
}

impl Line41 {
    fn add(&mut self, filed: &Form941Lines, corrected: &Form941Lines) {
        for l in form_941x_lines(filed, corrected) {
            let side = if l.column_3 > 0 {
                &mut self.up
            } else {
                &mut self.down
            };
            if l.column_3 != 0 && !side.contains(&l.line) {
                side.push(l.line);
            }
        }
    }

    fn lines(&self) -> Vec<&'static str> {
        ["6", "7", "8", "11", "12", "13"]
            .into_iter()
            .filter(|l| self.up.contains(l) && self.down.contains(l))
            .collect()
    }
}

/// One employee's Form 941 lines of the quarter from `records`.
fn employee_941(year: u16, quarter: u8, records: &[Record]) -> Form941Lines {
    let mut sum = Form941Sum::new(year, quarter);
    sum.add_employee(records);
    sum.lines()
}

/// [`line_41_lines`] of a quarter: each US employee's payslips in the runs the
/// filing was made from (`filed_runs`) against their payslips in all approved runs
/// of the quarter now. One employee at a time.
pub(crate) fn line_41_of_quarter(
    year: u16,
    quarter: u8,
    filed_runs: &[String],
) -> Result<Vec<&'static str>> {
    let (from, to) = filings::quarter_dates(year, quarter)?;
    let period = runs_paid(from, to)?;
    let mut acc = Line41::default();
    for_each_employee_records(&period.posted, "US", None, |records| {
        let filed: Vec<Record> = records
            .iter()
            .filter(|r| filed_runs.contains(&r.run))
            .cloned()
            .collect();
        acc.add(
            &employee_941(year, quarter, &filed),
            &employee_941(year, quarter, &records),
        );
        Ok(true)
    })?;
    Ok(acc.lines())
}

/// Check Parts 1, 2 and 4 against the corrections of Part 3 (`lines`) per the
/// Instructions for Form 941-X (Rev. April 2025): one process; a claim only for
/// overreported tax and never with an underreported amount; line 3 always
/// certified; line 4 (at least one box) when an adjusted return corrects
/// overreported tax, line 5 (at least one box) for a claim, neither otherwise; the
/// date the errors were discovered, not in the future nor before the quarter began;
/// an explanation on line 43. `None` when no part is given (the answer then lists
/// what is left to complete).
pub fn check_parts(
    parts: &Parts,
    lines: &[Line941X],
    quarter_start: Date,
    today: Date,
) -> Result<Option<Parts124>> {
    let Some(process) = parts.process else {
        if parts.certifications.is_some()
            || parts.date_discovered.is_some()
            || parts.explanation.is_some()
            || parts.reclassified_workers
        {
            return Err(Error::invalid(
                "give the process of Part 1 (\"process\": \"adjusted-return\" or \"claim\") with the certifications and explanation",
            ));
        }
        return Ok(None);
    };
    let under = lines.iter().any(|l| l.column_4.is_some_and(|c| c > 0));
    let over = lines.iter().any(|l| l.column_4.is_some_and(|c| c < 0));
    if process == Process::Claim && under {
        return Err(Error::invalid(
            "process claim (Part 1, line 2) is for overreported tax only, and this correction underreports tax (a column 4 is positive); choose \"adjusted-return\" (line 1), which must be used whenever any amount is underreported",
        ));
    }
    if process == Process::Claim && !over {
        return Err(Error::invalid(
            "process claim (Part 1, line 2) asks for a refund or abatement of overreported tax, and no tax is overreported here (no column 4 is negative); choose \"adjusted-return\" (line 1)",
        ));
    }
    let c = parts.certifications.clone().unwrap_or_default();
    if !c.line_3 {
        return Err(Error::invalid(
            "certifications.line-3 must be true: every filer of Form 941-X certifies on line 3 that the Forms W-2 or W-2c were or will be filed as required (form-w2c gives the W-2c)",
        ));
    }
    let mut part_2 = vec![Certified {
        line: "3".into(),
        certifies: "Forms W-2 or W-2c were filed or will be filed as required",
    }];
    match process {
        Process::AdjustedReturn => {
            if !c.line_5.is_empty() {
                return Err(Error::invalid(
                    "certifications.line-5 is for a claim (Part 1, line 2); with an adjusted return certify on line 4",
                ));
            }
            if over && c.line_4.is_empty() {
                return Err(Error::invalid(
                    "certifications.line-4: an adjusted return that corrects overreported tax certifies at least one of boxes a, b and c of line 4",
                ));
            }
            if !over && !c.line_4.is_empty() {
                return Err(Error::invalid(
                    "certifications.line-4 applies only to overreported tax; this correction overreports none, so lines 4 and 5 are skipped: leave line-4 out",
                ));
            }
            part_2.extend(boxes("4", &c.line_4, &LINE_4)?);
        }
        Process::Claim => {
            if !c.line_4.is_empty() {
                return Err(Error::invalid(
                    "certifications.line-4 is for an adjusted return (Part 1, line 1); with a claim certify on line 5",
                ));
            }
            if c.line_5.is_empty() {
                return Err(Error::invalid(
                    "certifications.line-5: a claim certifies at least one of boxes a, b, c and d of line 5",
                ));
            }
            part_2.extend(boxes("5", &c.line_5, &LINE_5)?);
        }
    }
    let Some(discovered) = parts.date_discovered else {
        return Err(Error::invalid(
            "give date-discovered: the date the errors were discovered goes on page 1 of Form 941-X (the earliest, when several)",
        ));
    };
    if discovered > today {
        return Err(Error::invalid(format!(
            "date-discovered {discovered} is in the future (today is {today})"
        )));
    }
    if discovered < quarter_start {
        return Err(Error::invalid(format!(
            "date-discovered {discovered} is before the quarter corrected began ({quarter_start})"
        )));
    }
    if parts.reclassified_workers {
        return Err(Error::invalid(
            "reclassified-workers (Part 4, line 42): payroll does not compute the section 3509 rates of reclassified workers; prepare that correction by hand",
        ));
    }
    let explanation = parts
        .explanation
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                "give explanation: Part 4, line 43 must explain in detail how each correction was determined (for example the adjustment runs' reasons)",
            )
        })?;
    if explanation.chars().count() > MAX_EXPLANATION {
        return Err(Error::invalid(format!(
            "explanation is longer than {MAX_EXPLANATION} characters; attach further sheets to the form and summarise here"
        )));
    }
    Ok(Some(Parts124 {
        part_1_line: match process {
            Process::AdjustedReturn => "1",
            Process::Claim => "2",
        },
        process,
        part_2,
        date_discovered: discovered,
        line_41: parts.both_underreported_and_overreported,
        line_42: false,
        line_43: explanation.to_string(),
    }))
}

/// The longest explanation taken (line 43 continues on attached sheets).
const MAX_EXPLANATION: usize = 4000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct Form941XInput {
    year: u16,
    quarter: u8,
    #[serde(default)]
    process: Option<Process>,
    #[serde(default)]
    certifications: Option<Certifications>,
    #[serde(default)]
    date_discovered: Option<Date>,
    /// Part 4, line 41: derived from the payslips; when given, it must agree.
    #[serde(default)]
    both_underreported_and_overreported: Option<bool>,
    #[serde(default)]
    reclassified_workers: bool,
    #[serde(default)]
    explanation: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Form941XOut {
    form: &'static str,
    /// The form revision the line numbers follow.
    revision: &'static str,
    year: u16,
    quarter: u8,
    currency: &'static str,
    /// When the return being corrected (the Form 941, or the last 941-X recorded)
    /// was filed.
    corrects_filing_of: Date,
    /// Parts 1, 2 and 4 as given and checked; none when not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    parts: Option<Parts124>,
    /// What is left to complete when Parts 1, 2 and 4 were not given.
    to_complete: Vec<String>,
    /// Part 4, line 41, derived: a Part 3 line nets employees' underreported and
    /// overreported amounts.
    line_41: bool,
    /// The Part 3 lines that do (explain them on line 43).
    line_41_lines: Vec<&'static str>,
    /// Part 3: the lines that changed.
    lines: Vec<Line941X>,
    /// The sum of column 4: positive, tax underreported (to pay); negative,
    /// overreported (to adjust or claim).
    total_tax_correction: i64,
    /// `underreported`, `overreported` or `none` (only wages changed).
    correction: &'static str,
    /// Rules that apply to this correction (a prior year's quarter, ...).
    notes: Vec<String>,
    /// Form 941 as filed, as corrected, and the difference, line by line.
    reported: Form941Lines,
    corrected: Form941Lines,
    difference: Value,
    /// The approved runs of the quarter since the filing was recorded.
    runs_since_filing: Vec<String>,
}

/// Notes on a 941-X of `year` filed in `today`'s year: federal income tax withheld
/// of an earlier calendar year may be corrected only for an administrative error
/// (Instructions for Form 941-X, Rev. April 2025, line 7, and Treas. Reg.
/// 31.6413(a)-2(c)); the W-2c goes with it.
pub fn notes_941x(year: u16, lines: &[Line941X], today: Date) -> Vec<String> {
    let mut notes = Vec::new();
    if year < today.year() {
        if lines.iter().any(|l| l.line == "7") {
            notes.push(format!(
                "line 7 corrects federal income tax withheld in {year}, an earlier calendar year: allowed only for an administrative error (the amount reported differs from the amount actually withheld); an employer that withholds more or less after the year does not correct the withholding of {year} (Instructions for Form 941-X, Rev. April 2025, line 7)"
            ));
        }
        notes.push(format!(
            "the W-2s of {year} were due by 31 January {}: file Form W-2c for the employees corrected (form-w2c with \"year\": {year})",
            year + 1
        ));
    }
    notes
}

pub(crate) fn form_941x_op(input: Form941XInput) -> Result<Form941XOut> {
    let (year, quarter) = (input.year, input.quarter);
    let (quarter_start, _) = filings::quarter_dates(year, quarter)?;
    let label = format!("{year}-Q{quarter}");
    let filed = history(&key_941(year, quarter))?.pop().ok_or_else(|| {
        Error::not_found(format!(
            "no Form 941 of {label} is recorded as filed; Form 941-X corrects a filed return: record the 941 when it is filed (record-filing with \"form\": \"941\", \"year\": {year}, \"quarter\": {quarter})"
        ))
    })?;
    let reported: Form941Lines = serde_json::from_value(filed.figures.clone())
        .map_err(|e| Error::internal(format!("the recorded Form 941 of {label}: {e}")))?;
    let now = filings::form_941_op(QuarterInput { year, quarter })?;
    let difference = difference(
        &filed.figures,
        &serde_json::to_value(&now.lines).map_err(|e| Error::internal(e.to_string()))?,
    );
    if all_zero(&difference) {
        return Err(Error::invalid(format!(
            "Form 941 of {label} as filed on {} matches the approved runs of the quarter: there is nothing to correct (adjust a run first with create-adjustment)",
            filed.filed_on
        )));
    }
    let lines = form_941x_lines(&reported, &now.lines);
    let today = context::today();
    let line_41_lines = line_41_of_quarter(year, quarter, &filed.runs)?;
    let line_41 = !line_41_lines.is_empty();
    if let Some(given) = input.both_underreported_and_overreported {
        if input.process.is_none() {
            return Err(Error::invalid(
                "give the process of Part 1 (\"process\": \"adjusted-return\" or \"claim\") with the certifications and explanation",
            ));
        }
        if given != line_41 {
            let why = if line_41 {
                format!(
                    "line {} nets employees' underreported and overreported amounts",
                    line_41_lines.join(", line ")
                )
            } else {
                "on every line the employees' corrections go the same way".to_string()
            };
            return Err(Error::invalid(format!(
                "both-underreported-and-overreported (Part 4, line 41) is {given}, but the payslips say {line_41}: {why}; leave it out (payroll derives it) or give {line_41}"
            )));
        }
    }
    let parts = check_parts(
        &Parts {
            process: input.process,
            certifications: input.certifications,
            date_discovered: input.date_discovered,
            both_underreported_and_overreported: line_41,
            reclassified_workers: input.reclassified_workers,
            explanation: input.explanation,
        },
        &lines,
        quarter_start,
        today,
    )?;
    let to_complete = if parts.is_some() {
        Vec::new()
    } else {
        vec![
            "Part 1: the process, line 1 (adjusted return) or line 2 (claim): give \"process\"".into(),
            "Part 2: the certifications of line 3 and, for overreported tax, line 4 or 5: give \"certifications\"".into(),
            "page 1: the date the errors were discovered: give \"date-discovered\"".into(),
            "Part 4: lines 41 to 43, the explanation of the corrections: give \"explanation\"".into(),
        ]
    };
    let total: i64 = lines.iter().filter_map(|l| l.column_4).sum();
    Ok(Form941XOut {
        form: "941-X",
        revision: "Rev. April 2025",
        year,
        quarter,
        currency: "USD",
        corrects_filing_of: filed.filed_on,
        parts,
        to_complete,
        line_41,
        line_41_lines,
        notes: notes_941x(year, &lines, today),
        lines,
        total_tax_correction: total,
        correction: match total {
            t if t > 0 => "underreported",
            t if t < 0 => "overreported",
            _ => "none",
        },
        reported,
        runs_since_filing: now
            .runs
            .iter()
            .filter(|r| !filed.runs.contains(r))
            .cloned()
            .collect(),
        corrected: now.lines,
        difference,
    })
}

// ---------------------------------------------------------------------------
// form-w2c
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct W2cInput {
    pub(crate) year: u16,
    #[serde(default)]
    pub(crate) employee: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct W2cOut {
    form: &'static str,
    year: u16,
    currency: &'static str,
    pub(crate) employees: Vec<W2c>,
    /// Employees paid in the year whose W-2 was never recorded as filed: they need a
    /// W-2, not a W-2c.
    not_recorded: Vec<String>,
}

pub(crate) fn w2c_op(input: W2cInput) -> Result<W2cOut> {
    let year = input.year;
    let current = current_w2s(year, input.employee.as_deref())?;
    let (mut employees, mut not_recorded) = (Vec::new(), Vec::new());
    let mut recorded_any = false;
    for w in current.w2s {
        let Some(filed) = history(&key_w2(year, &w.employee))?.pop() else {
            not_recorded.push(w.employee.clone());
            continue;
        };
        recorded_any = true;
        let reported = w2_from(&filed)?;
        if let Some(c) = w2c(&reported, &w, filed.filed_on) {
            if employees.len() as u32 == MAX_FILING_PAGE {
                return Err(Error::invalid(format!(
                    "Form W-2c of {year} corrects more than {MAX_FILING_PAGE} employees, more than one answer holds; ask for them one employee at a time (\"employee\"), the employees from the adjustment runs' payslips (list-payslips)"
                )));
            }
            employees.push(c);
        }
    }
    if !recorded_any {
        let whom = match &input.employee {
            Some(id) => format!("employee {id}'s W-2"),
            None => "no W-2".into(),
        };
        return Err(Error::not_found(format!(
            "{whom} of {year} is recorded as filed; Form W-2c corrects a filed W-2: record the W-2s when they are filed (record-filing with \"form\": \"w-2\", \"year\": {year})"
        )));
    }
    if employees.is_empty() {
        let whom = match &input.employee {
            Some(id) => format!("employee {id}'s W-2"),
            None => "every recorded W-2".into(),
        };
        return Err(Error::invalid(format!(
            "{whom} of {year} matches the approved runs of the year: there is nothing to correct (adjust a run first with create-adjustment)"
        )));
    }
    Ok(W2cOut {
        form: "W-2c",
        year,
        currency: "USD",
        employees,
        not_recorded,
    })
}

// ---------------------------------------------------------------------------
// lohnsteuer-anmeldung-berichtigung
// ---------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct BerichtigungOut {
    form: &'static str,
    year: u16,
    month: u8,
    currency: &'static str,
    /// Always true: Kz 10 "Berichtigte Anmeldung" is 1.
    berichtigte_anmeldung: bool,
    /// When the Anmeldung being corrected was filed.
    angemeldet_am: Date,
    /// The corrected Anmeldung in full (it replaces the one filed).
    kennzahlen: filings::LstaLines,
    kirchensteuer_nach_konfession: BTreeMap<String, i64>,
    kirchensteuer_ohne_konfession: i64,
    /// The figures as filed, in the same shape as the corrected ones.
    angemeldet: Value,
    /// Corrected less filed, figure by figure.
    differenz: Value,
    /// Rules that apply to this Berichtigung (a month of a year that has ended).
    hinweise: Vec<String>,
    runs: Vec<String>,
}

/// Notes on a berichtigte Anmeldung of a month of `year` made on `today`: after the
/// calendar year the Lohnsteuerabzug may be changed only until the
/// Lohnsteuerbescheinigung is transmitted (§ 41c Abs. 3 Satz 1 EStG, as in force
/// for 2025 and 2026), which is due by the last day of February of the following
/// year (§ 41b Abs. 1 Satz 2 EStG).
pub fn hinweise_berichtigung(year: u16, today: Date) -> Vec<String> {
    if year >= today.year() {
        return Vec::new();
    }
    let february = Date::new(year + 1, 3, 1)
        .and_then(Date::pred)
        .map(|d| d.to_string())
        .unwrap_or_default();
    vec![format!(
        "{year} ist abgelaufen: der Lohnsteuerabzug für {year} darf nur bis zur Übermittlung der Lohnsteuerbescheinigung {year} geändert werden (§ 41c Abs. 3 Satz 1 EStG; übermittelt bis {february}, § 41b Abs. 1 Satz 2 EStG); wurde sie übermittelt, ändert der Arbeitgeber den Abzug nicht mehr und der Unterschied wird in der Einkommensteuerveranlagung des Arbeitnehmers ausgeglichen; sonst mit der berichtigten Anmeldung eine berichtigte Lohnsteuerbescheinigung übermitteln"
    )]
}

pub(crate) fn berichtigung_op(input: MonthInput) -> Result<BerichtigungOut> {
    let (year, month) = (input.year, input.month);
    let label = format!("{year}-{month:02}");
    if !(1..=12).contains(&month) {
        return Err(Error::invalid(format!(
            "month {label}: give a year from 2000 to 2100 and a month from 1 to 12"
        )));
    }
    let filed = history(&key_lsta(year, month))?.pop().ok_or_else(|| {
        Error::not_found(format!(
            "no Lohnsteuer-Anmeldung of {label} is recorded as filed; a berichtigte Anmeldung corrects a filed one: record it when it is filed (record-filing with \"form\": \"lohnsteuer-anmeldung\", \"year\": {year}, \"month\": {month})"
        ))
    })?;
    let now = filings::lohnsteuer_anmeldung_op(MonthInput { year, month })?;
    let figures = lsta_figures(&now)?;
    let differenz = difference(&filed.figures, &figures);
    if all_zero(&differenz) {
        return Err(Error::invalid(format!(
            "the Lohnsteuer-Anmeldung of {label} as filed on {} matches the approved runs of the month: there is nothing to correct (adjust a run first with create-adjustment)",
            filed.filed_on
        )));
    }
    Ok(BerichtigungOut {
        form: "Lohnsteuer-Anmeldung",
        year,
        month,
        currency: "EUR",
        berichtigte_anmeldung: true,
        angemeldet_am: filed.filed_on,
        kennzahlen: now.kennzahlen,
        kirchensteuer_nach_konfession: now.kirchensteuer_nach_konfession,
        kirchensteuer_ohne_konfession: now.kirchensteuer_ohne_konfession.amount,
        angemeldet: filed.figures,
        differenz,
        hinweise: hinweise_berichtigung(year, context::today()),
        runs: now.runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filings::{Columns, StateBoxes};

    fn lines(wages: i64, fit: i64, ss: i64, medicare: i64, additional: i64) -> Form941Lines {
        let col = |w: i64, r: i64| Columns {
            column_1: w,
            column_2: div_round(i128::from(w) * i128::from(r), 1000),
        };
        let (a, c, d) = (col(ss, 124), col(medicare, 29), col(additional, 9));
        let e = a.column_2 + c.column_2 + d.column_2;
        Form941Lines {
            line_1: 1,
            line_2: wages,
            line_3: fit,
            line_5a: a,
            line_5b: Columns::default(),
            line_5c: c,
            line_5d: d,
            line_5e: e,
            line_6: fit + e,
            line_7: 0,
            line_10: fit + e,
            line_12: fit + e,
        }
    }

    /// A $1,000 raise paid by an adjustment: wages, FIT, social security and Medicare
    /// wages change; the tax correction of each line is its difference at the
    /// line's rate, and unchanged lines (tips, Additional Medicare) are left out.
    #[test]
    fn form_941x_lists_changed_lines_with_the_tax_correction() {
        let filed = lines(3_000_000, 425_000, 3_000_000, 3_000_000, 0);
        let now = lines(3_100_000, 448_700, 3_100_000, 3_100_000, 0);
        let x = form_941x_lines(&filed, &now);
        let got: Vec<_> = x
            .iter()
            .map(|l| {
                (
                    l.line,
                    l.form_941_line,
                    l.column_1,
                    l.column_2,
                    l.column_3,
                    l.column_4,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("6", "2", 3_100_000, 3_000_000, 100_000, None),
                ("7", "3", 448_700, 425_000, 23_700, Some(23_700)),
                // $1,000 x 0.124 = $124.00; x 0.029 = $29.00.
                ("8", "5a", 3_100_000, 3_000_000, 100_000, Some(12_400)),
                ("12", "5c", 3_100_000, 3_000_000, 100_000, Some(2_900)),
            ]
        );
        // A decrease: negative columns 3 and 4, rounded half away from zero
        // ($0.05 x 0.124 = $0.0062 -> 1 cent).
        let x = form_941x_lines(&now, &lines(3_100_000, 448_700, 3_099_995, 3_100_000, 50));
        assert_eq!(x.len(), 2);
        assert_eq!(
            (x[0].line, x[0].column_3, x[0].column_4),
            ("8", -5, Some(-1))
        );
        // $0.50 x 0.009 = $0.0045 -> 0 cents.
        assert_eq!(
            (x[1].line, x[1].column_3, x[1].column_4),
            ("13", 50, Some(0))
        );
        assert!(form_941x_lines(&now, &now).is_empty());
    }

    /// Instructions for Form 941-X (Rev. April 2025), line 41: one employee's wages
    /// raised and another's lowered in the same quarter make line 6 (and the lines
    /// that move with it) a net of both; two raises do not.
    #[test]
    fn line_41_is_checked_when_a_line_nets_raises_and_cuts() {
        let a_filed = lines(1_000_000, 100_000, 1_000_000, 1_000_000, 0);
        let a_now = lines(1_100_000, 120_000, 1_100_000, 1_100_000, 0);
        let b_filed = lines(800_000, 80_000, 800_000, 800_000, 0);
        let b_cut = lines(750_000, 80_000, 750_000, 750_000, 0);
        let b_raise = lines(850_000, 90_000, 850_000, 850_000, 0);
        // A raise and a cut: lines 6, 8 and 12 net both; line 7 changed for A only.
        assert_eq!(
            line_41_lines(&[(a_filed.clone(), a_now.clone()), (b_filed.clone(), b_cut)]),
            vec!["6", "8", "12"]
        );
        // Two raises: every line goes one way.
        assert!(
            line_41_lines(&[(a_filed.clone(), a_now.clone()), (b_filed.clone(), b_raise)])
                .is_empty()
        );
        // One employee alone never nets two signs on a line.
        assert!(line_41_lines(&[(a_filed, a_now)]).is_empty());
        assert!(line_41_lines(&[]).is_empty());
    }

    #[test]
    fn difference_subtracts_figure_by_figure_with_missing_keys_as_zero() {
        let filed =
            json!({"kennzahlen": {"42": 10_000, "86": 2}, "k": {"ev": 500, "rk": 0}, "x": 7});
        let now =
            json!({"kennzahlen": {"42": 12_500, "86": 2}, "k": {"ev": 600, "rk": 0, "ak": 30}});
        let d = difference(&filed, &now);
        assert_eq!(
            d,
            json!({"kennzahlen": {"42": 2_500, "86": 0}, "k": {"ev": 100, "rk": 0, "ak": 30}, "x": -7})
        );
        assert!(!all_zero(&d));
        assert!(all_zero(&difference(&now, &now)));
    }

    fn w2(box_1: i64, box_2: i64, states: Vec<(&str, i64, i64)>) -> W2 {
        W2 {
            employee: "U1".into(),
            name: "Employee U1".into(),
            box_1,
            box_2,
            box_3: box_1,
            box_4: div_round(i128::from(box_1) * 62, 1000),
            box_5: box_1,
            box_6: div_round(i128::from(box_1) * 145, 10_000),
            box_12_d: 50_000,
            states: states
                .into_iter()
                .map(|(s, w, t)| StateBoxes {
                    state: s.into(),
                    wages: w,
                    tax: t,
                })
                .collect(),
            runs: vec!["r-000001".into()],
        }
    }

    #[test]
    fn w2c_shows_only_the_boxes_that_changed() {
        let on = Date::parse("2027-01-29").unwrap();
        let filed = w2(1_000_000, 100_000, vec![("PA", 1_000_000, 30_700)]);
        let mut now = w2(1_100_000, 100_000, vec![("PA", 1_100_000, 33_770)]);
        now.runs.push("r-000002".into());
        let c = w2c(&filed, &now, on).unwrap();
        assert_eq!(c.filed_on, on);
        let boxes: Vec<(&str, i64, i64)> = c
            .boxes
            .iter()
            .map(|(k, v)| (k.as_str(), v.previously_reported, v.correct))
            .collect();
        assert_eq!(
            boxes,
            vec![
                ("box-1", 1_000_000, 1_100_000),
                ("box-3", 1_000_000, 1_100_000),
                ("box-4", 62_000, 68_200),
                ("box-5", 1_000_000, 1_100_000),
                ("box-6", 14_500, 15_950),
            ]
        );
        assert_eq!(
            c.states,
            vec![StateCorrection {
                state: "PA".into(),
                wages: Some(Corrected {
                    previously_reported: 1_000_000,
                    correct: 1_100_000
                }),
                tax: Some(Corrected {
                    previously_reported: 30_700,
                    correct: 33_770
                }),
            }]
        );
        // A state that appears only now is corrected from 0.
        let moved = w2(
            1_000_000,
            100_000,
            vec![("PA", 1_000_000, 30_700), ("NY", 0, 1)],
        );
        let c = w2c(&filed, &moved, on).unwrap();
        assert!(c.boxes.is_empty());
        assert_eq!(c.states.len(), 1);
        assert_eq!(c.states[0].state, "NY");
        assert_eq!(c.states[0].wages, None);
        // Same boxes (whatever the runs): nothing to correct.
        let mut same = now.clone();
        same.runs.push("r-000003".into());
        assert_eq!(w2c(&now, &same, on), None);
    }

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn err(r: Result<Option<Parts124>>) -> String {
        match r {
            Err(Error::InvalidInput(m)) => m,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    /// Parts 1, 2 and 4 of Form 941-X are checked against the corrections of Part
    /// 3, by the Instructions for Form 941-X (Rev. April 2025), and echoed.
    #[test]
    fn form_941x_parts_1_2_and_4_follow_the_instructions() {
        let filed = lines(3_000_000, 425_000, 3_000_000, 3_000_000, 0);
        let up = form_941x_lines(&filed, &lines(3_100_000, 448_700, 3_100_000, 3_100_000, 0));
        let down = form_941x_lines(&filed, &lines(2_900_000, 401_300, 2_900_000, 2_900_000, 0));
        let wages_only =
            form_941x_lines(&filed, &lines(3_100_000, 425_000, 3_000_000, 3_000_000, 0));
        let (q_start, today) = (d("2026-01-01"), d("2026-07-20"));
        let cert = |l4: &[&str], l5: &[&str]| Certifications {
            line_3: true,
            line_4: l4.iter().map(|s| s.to_string()).collect(),
            line_5: l5.iter().map(|s| s.to_string()).collect(),
        };
        let parts = |process: Process, c: Certifications| Parts {
            process: Some(process),
            certifications: Some(c),
            date_discovered: Some(d("2026-07-10")),
            explanation: Some("  March raise recorded late; adjustment run r-000004  ".into()),
            ..Parts::default()
        };
        // Nothing given: nothing checked (the answer lists what to complete).
        assert_eq!(
            check_parts(&Parts::default(), &up, q_start, today).unwrap(),
            None
        );
        // Underreported: an adjusted return, line 3 only.
        let p = check_parts(
            &parts(Process::AdjustedReturn, cert(&[], &[])),
            &up,
            q_start,
            today,
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.part_1_line, p.process), ("1", Process::AdjustedReturn));
        assert_eq!(
            p.part_2.iter().map(|c| c.line.as_str()).collect::<Vec<_>>(),
            vec!["3"]
        );
        assert_eq!(
            p.line_43,
            "March raise recorded late; adjustment run r-000004"
        );
        assert_eq!(p.date_discovered, d("2026-07-10"));
        assert!(!p.line_41 && !p.line_42);
        // A claim can't correct underreported tax, nor a correction of wages only.
        assert!(
            err(check_parts(
                &parts(Process::Claim, cert(&[], &["a"])),
                &up,
                q_start,
                today
            ))
            .contains("overreported tax only")
        );
        assert!(
            err(check_parts(
                &parts(Process::Claim, cert(&[], &["a"])),
                &wages_only,
                q_start,
                today
            ))
            .contains("no tax is overreported")
        );
        // Overreported: line 4 with an adjusted return, line 5 with a claim.
        assert!(
            err(check_parts(
                &parts(Process::AdjustedReturn, cert(&[], &[])),
                &down,
                q_start,
                today
            ))
            .contains("at least one of boxes a, b and c of line 4")
        );
        let p = check_parts(
            &parts(Process::AdjustedReturn, cert(&["a", "c"], &[])),
            &down,
            q_start,
            today,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            p.part_2.iter().map(|c| c.line.as_str()).collect::<Vec<_>>(),
            vec!["3", "4a", "4c"]
        );
        let p = check_parts(
            &parts(Process::Claim, cert(&[], &["b"])),
            &down,
            q_start,
            today,
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.part_1_line, "2");
        assert_eq!(p.part_2[1].line, "5b");
        assert!(
            err(check_parts(
                &parts(Process::Claim, cert(&["a"], &["b"])),
                &down,
                q_start,
                today
            ))
            .contains("line-4 is for an adjusted return")
        );
        assert!(
            err(check_parts(
                &parts(Process::Claim, cert(&[], &[])),
                &down,
                q_start,
                today
            ))
            .contains("at least one of boxes a, b, c and d of line 5")
        );
        assert!(
            err(check_parts(
                &parts(Process::Claim, cert(&[], &["e"])),
                &down,
                q_start,
                today
            ))
            .contains("no box \"e\" on line 5")
        );
        assert!(
            err(check_parts(
                &parts(Process::AdjustedReturn, cert(&["a", "a"], &[])),
                &down,
                q_start,
                today
            ))
            .contains("given twice")
        );
        assert!(
            err(check_parts(
                &parts(Process::AdjustedReturn, cert(&["a"], &[])),
                &up,
                q_start,
                today
            ))
            .contains("leave line-4 out")
        );
        // Line 3, the date, the explanation, reclassified workers.
        let mut no_3 = parts(Process::AdjustedReturn, cert(&[], &[]));
        no_3.certifications.as_mut().unwrap().line_3 = false;
        assert!(err(check_parts(&no_3, &up, q_start, today)).contains("line-3 must be true"));
        let mut p = parts(Process::AdjustedReturn, cert(&[], &[]));
        p.date_discovered = Some(d("2026-07-21"));
        assert!(err(check_parts(&p, &up, q_start, today)).contains("in the future"));
        p.date_discovered = Some(d("2025-12-31"));
        assert!(err(check_parts(&p, &up, q_start, today)).contains("before the quarter"));
        p.date_discovered = None;
        assert!(err(check_parts(&p, &up, q_start, today)).contains("give date-discovered"));
        let mut p = parts(Process::AdjustedReturn, cert(&[], &[]));
        p.explanation = Some("   ".into());
        assert!(err(check_parts(&p, &up, q_start, today)).contains("line 43"));
        let mut p = parts(Process::AdjustedReturn, cert(&[], &[]));
        p.reclassified_workers = true;
        assert!(err(check_parts(&p, &up, q_start, today)).contains("section 3509"));
        // Parts without the process.
        let stray = Parts {
            explanation: Some("x".into()),
            ..Parts::default()
        };
        assert!(err(check_parts(&stray, &up, q_start, today)).contains("give the process"));
    }

    #[test]
    fn prior_year_corrections_carry_their_notes() {
        let filed = lines(3_000_000, 425_000, 3_000_000, 3_000_000, 0);
        let up = form_941x_lines(&filed, &lines(3_100_000, 448_700, 3_100_000, 3_100_000, 0));
        assert!(notes_941x(2026, &up, d("2026-12-04")).is_empty());
        let notes = notes_941x(2025, &up, d("2026-12-04"));
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("line 7") && notes[0].contains("administrative error"));
        assert!(notes[1].contains("31 January 2026") && notes[1].contains("form-w2c"));
        assert!(hinweise_berichtigung(2026, d("2026-12-04")).is_empty());
        let h = hinweise_berichtigung(2025, d("2026-12-04"));
        assert!(
            h[0].contains("§ 41c Abs. 3") && h[0].contains("2026-02-28"),
            "{h:?}"
        );
        let h = hinweise_berichtigung(2027, d("2028-01-15"));
        assert!(h[0].contains("2028-02-29"), "{h:?}");
    }
}
