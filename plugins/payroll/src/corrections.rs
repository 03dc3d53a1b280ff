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
    self, Form941Lines, MAX_FILING_PAGE, MonthInput, QuarterInput, W2, check_found,
    for_each_employee_records, runs_paid, w2_of,
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
struct CurrentW2s {
    w2s: Vec<W2>,
}

fn current_w2s(year: u16, employee: Option<&str>) -> Result<CurrentW2s> {
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Form941XOut {
    form: &'static str,
    year: u16,
    quarter: u8,
    currency: &'static str,
    /// When the return being corrected (the Form 941, or the last 941-X recorded)
    /// was filed.
    corrects_filing_of: Date,
    /// Part 3: the lines that changed.
    lines: Vec<Line941X>,
    /// The sum of column 4: positive, tax underreported (to pay); negative,
    /// overreported (to adjust or claim).
    total_tax_correction: i64,
    /// `underreported`, `overreported` or `none` (only wages changed).
    correction: &'static str,
    /// Form 941 as filed, as corrected, and the difference, line by line.
    reported: Form941Lines,
    corrected: Form941Lines,
    difference: Value,
    /// The approved runs of the quarter since the filing was recorded.
    runs_since_filing: Vec<String>,
}

pub(crate) fn form_941x_op(input: QuarterInput) -> Result<Form941XOut> {
    let (year, quarter) = (input.year, input.quarter);
    filings::quarter_dates(year, quarter)?;
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
    let total: i64 = lines.iter().filter_map(|l| l.column_4).sum();
    Ok(Form941XOut {
        form: "941-X",
        year,
        quarter,
        currency: "USD",
        corrects_filing_of: filed.filed_on,
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
    year: u16,
    #[serde(default)]
    employee: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct W2cOut {
    form: &'static str,
    year: u16,
    currency: &'static str,
    employees: Vec<W2c>,
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
    runs: Vec<String>,
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
}
