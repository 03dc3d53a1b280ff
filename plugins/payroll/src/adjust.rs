//! Adjustment runs (issue 22, item 1): correcting an approved run after the fact.
//!
//! `create-adjustment` recomputes, for each chosen employee of an approved run, the
//! payslip of the same pay date and period with the employee's current records (a
//! corrected salary or tax profile, recorded with `set-employee` from an effective
//! date in or before the period) and the year-to-date figures as they stood before
//! the original payslip. It stores a draft run linked to the original whose payslips
//! hold the difference, line by line, against the latest payslip of the employee for
//! that run (the original, or the corrected slip of the last approved adjustment);
//! the corrected slip is kept beside it. `approve-run` then posts the difference as
//! one balanced entry and moves the year-to-date figures to the corrected ones,
//! exactly as a regular run does; the original run and payslips stay unchanged.
//!
//! Storage: `adj/<original-run>/<adjustment-run>` lists the employees an adjustment
//! corrects (the link from an original to its adjustments).
//!
//! An employee whose run is followed by a later approved run of the same tax year
//! is refused: the later run's payslip was computed from the figures the adjustment
//! would change, and this version does not recompute it (see
//! docs/plugins/payroll.md, "create-adjustment").

use std::collections::{BTreeMap, BTreeSet};

use backoffice_sdk::payroll::{CalcInput, Line, Payslip};
use backoffice_sdk::prelude::*;
use serde::Deserialize;

use crate::caller_name;
use crate::employees::{all_employees, employee_as_of};
use crate::model;
use crate::runs::{Kind, Run, Slip, Status, Ytd, load_run, run_key, ytd_key};
use crate::settings::settings;
use crate::ytd::OPENING_MARK;

/// The difference `corrected - previous`, line by line: gross, each line by code
/// (in the corrected slip's order, then lines only the previous slip had), and net.
/// Lines whose amount does not change are left out. The year-to-date figures and
/// everything else are the corrected slip's: they are what the employee stands at
/// once the adjustment is approved.
/// The sum of a slip's lines of `code`.
fn code_total(slip: &Payslip, code: &str) -> i64 {
    slip.lines
        .iter()
        .filter(|l| l.code == code)
        .map(|l| l.amount)
        .sum()
}

pub fn difference(previous: &Payslip, corrected: &Payslip) -> Payslip {
    let mut lines: Vec<Line> = Vec::new();
    for line in &corrected.lines {
        // A code seen twice in the corrected slip is compared once, in total.
        if lines.iter().any(|l| l.code == line.code) {
            continue;
        }
        lines.push(Line {
            amount: code_total(corrected, &line.code) - code_total(previous, &line.code),
            ..line.clone()
        });
    }
    for line in &previous.lines {
        if corrected.lines.iter().any(|l| l.code == line.code)
            || lines.iter().any(|l| l.code == line.code)
        {
            continue;
        }
        lines.push(Line {
            amount: -code_total(previous, &line.code),
            ..line.clone()
        });
    }
    lines.retain(|l| l.amount != 0);
    Payslip {
        gross: corrected.gross - previous.gross,
        lines,
        net: corrected.net - previous.net,
        ..corrected.clone()
    }
}

/// Whether recomputing changed nothing: no amount and no year-to-date figure.
pub fn unchanged(previous: &Payslip, corrected: &Payslip) -> bool {
    let diff = difference(previous, corrected);
    diff.gross == 0 && diff.net == 0 && diff.lines.is_empty() && previous.ytd == corrected.ytd
}

/// The link key from an original run to one of its adjustments.
fn link_key(original: &str, adjustment: &str) -> String {
    format!("adj/{original}/{adjustment}")
}

/// The adjustments of run `original`, oldest first, with the employees each corrects.
pub(crate) fn adjustments_of(original: &str) -> Result<Vec<(String, Vec<String>)>> {
    let prefix = format!("adj/{original}/");
    Ok(storage::scan_prefix(&prefix)
        .collect::<Vec<String>>()?
        .into_iter()
        .map(|(k, employees)| (k[prefix.len()..].to_string(), employees))
        .collect())
}

/// The ids of the adjustments of `original` that correct `employee`.
pub(crate) fn adjustments_of_employee(original: &str, employee: &str) -> Result<Vec<String>> {
    Ok(adjustments_of(original)?
        .into_iter()
        .filter(|(_, e)| e.iter().any(|x| x == employee))
        .map(|(id, _)| id)
        .collect())
}

/// Forget the link of a deleted draft adjustment.
pub(crate) fn unlink(run: &Run) -> Result<()> {
    if let Some(original) = &run.adjusts {
        storage::delete(&link_key(original, &run.id))?;
    }
    Ok(())
}

/// The link from a run to its adjustments, filled in for readers.
pub(crate) fn with_links(mut run: Run) -> Result<Run> {
    run.adjustments = adjustments_of(&run.id)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    Ok(run)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct CreateAdjustment {
    /// The approved run to correct.
    run: String,
    /// Only these employees of the run; all of them when left out.
    #[serde(default)]
    employees: Option<Vec<String>>,
    /// Hours of the period per hourly employee (as in `create-run`), which the
    /// original payslip does not keep.
    #[serde(default)]
    hours: BTreeMap<String, String>,
    /// Why the run is corrected; shown as the adjustment run's description.
    #[serde(default)]
    reason: Option<String>,
}

/// `create-adjustment`: a draft run correcting an approved one.
pub(crate) fn create_adjustment(input: CreateAdjustment) -> Result<Run> {
    let original = load_run(&input.run)?;
    if let Some(first) = &original.adjusts {
        return Err(Error::invalid(format!(
            "run {} is itself an adjustment of run {first}; adjust run {first} (the adjustment compares against the latest corrected payslip)",
            original.id
        )));
    }
    if original.status != Status::Posted {
        return Err(Error::conflict(format!(
            "run {} is a draft: correct a draft by deleting it and creating it again (delete-run, create-run); adjustments correct approved runs",
            original.id
        )));
    }
    let mut hours = BTreeMap::new();
    for (id, text) in &input.hours {
        let h =
            model::parse_hours(text).map_err(|e| Error::invalid(format!("hours of {id}: {e}")))?;
        hours.insert(id.clone(), h);
    }
    let slips: BTreeMap<String, Slip> = crate::runs::run_slips(&original.id)?
        .into_iter()
        .map(|s| (s.employee.id.clone(), s))
        .collect();
    let chosen: Vec<String> = match &input.employees {
        Some(list) => {
            for id in list {
                if employee_as_of(id, None)?.is_none() {
                    return Err(Error::not_found(format!("employee {id} does not exist")));
                }
                if !slips.contains_key(id) {
                    return Err(Error::invalid(format!(
                        "employee {id} is not in run {}; adjust the run that paid them (list-payslips shows a run's employees)",
                        original.id
                    )));
                }
            }
            list.iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        }
        None => slips.keys().cloned().collect(),
    };
    if let Some(stray) = hours.keys().find(|id| !chosen.contains(id)) {
        return Err(Error::invalid(format!(
            "hours are given for {stray}, who is not adjusted by this run"
        )));
    }
    let links = adjustments_of(&original.id)?;
    let settings = settings()?;
    // A whole run reads every record in one pass, as create-run does; a few
    // employees are looked up one by one.
    let records: Option<BTreeMap<String, model::Employee>> = match input.employees {
        Some(_) => None,
        None => Some(
            all_employees(Some(original.period_end))?
                .into_iter()
                .map(|e| (e.id.clone(), e))
                .collect(),
        ),
    };
    let mut corrected_slips = Vec::new();
    let mut unchanged_ids = Vec::new();
    for id in &chosen {
        let orig = &slips[id];
        let latest = latest_slip(&original, orig, &links)?;
        let emp = current_employee(&original, orig, records.as_ref())?;
        let gross = match original.kind {
            // A bonus is a fixed amount: recomputed as paid, with the current profile.
            Kind::Bonus => latest.1.gross,
            Kind::Regular => model::gross_for_period(
                &emp,
                original.period_start,
                original.period_end,
                hours.get(id).copied(),
            )?,
        };
        let mut profile = model::rules_profile(&settings, &emp.country, &emp.profile);
        if let (Kind::Bonus, Some(obj)) = (original.kind, profile.as_object_mut()) {
            obj.insert("payment".into(), "bonus".into());
        }
        let calc = CalcInput {
            country: emp.country.clone(),
            pay_date: original.pay_date.to_string(),
            frequency: emp.frequency,
            gross,
            currency: emp.currency.clone(),
            ytd: ytd_before(orig)?,
            profile,
        };
        let (corrected, rules) = crate::provenance::calculate(&calc).map_err(|e| match e {
            Error::InvalidInput(m) => Error::invalid(format!("employee {id}: {m}")),
            other => other,
        })?;
        if corrected.tax_year != latest.1.tax_year {
            return Err(Error::invalid(format!(
                "employee {id}: the rules now place pay date {} in tax year {}, not {} as when run {} was computed; an adjustment corrects within the same tax year",
                original.pay_date, corrected.tax_year, latest.1.tax_year, original.id
            )));
        }
        // The employee's figures must still be those the latest slip left: no later
        // run of the tax year was approved on top of them.
        let ytd = storage::get::<Ytd>(&ytd_key(id, &emp.country, &corrected.tax_year))?;
        let current = ytd.as_ref().map(|y| y.run.clone());
        if current.as_deref() != Some(latest.0.as_str()) {
            let later = current.unwrap_or_else(|| "none".into());
            return Err(Error::conflict(format!(
                "employee {id}: run {later} was approved after run {} and its year-to-date figures of tax year {} build on it; an adjustment corrects only the employee's latest approved run of the tax year (this version does not recompute the later runs): correct the amounts in the employee's next run instead, or leave {id} out",
                latest.0, corrected.tax_year
            )));
        }
        if unchanged(&latest.1, &corrected) {
            unchanged_ids.push(id.clone());
            continue;
        }
        let diff = difference(&latest.1, &corrected);
        corrected_slips.push(Slip {
            kind: orig.kind,
            employee: emp,
            payslip: diff,
            ytd_after_run: Some(latest.0.clone()),
            rules: Some(rules),
            corrected: Some(corrected),
            replaces: Some(latest.0),
        });
    }
    if corrected_slips.is_empty() {
        return Err(Error::invalid(format!(
            "nothing to adjust: recomputing run {} for {} with the current employee records gives the same payslips; record the correction first (set-employee with an effective-date in or before {} to {}), then create the adjustment",
            original.id,
            chosen.join(", "),
            original.period_start,
            original.period_end
        )));
    }
    let number = storage::get::<u64>("seq/run")?.unwrap_or(0) + 1;
    storage::put("seq/run", &number)?;
    let run_id = format!("r-{number:06}");
    let reason = input
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let mut run = Run {
        id: run_id.clone(),
        status: Status::Draft,
        kind: original.kind,
        frequency: original.frequency,
        period_start: original.period_start,
        period_end: original.period_end,
        pay_date: original.pay_date,
        description: Some(match reason {
            Some(r) => format!("Adjustment of run {}: {r}", original.id),
            None => format!("Adjustment of run {}", original.id),
        }),
        created_by: caller_name(),
        created_at: context::now().to_rfc3339(),
        approved_by: None,
        approved_at: None,
        ledger_entry: None,
        totals: BTreeMap::new(),
        countries: BTreeMap::new(),
        payment_files: Vec::new(),
        adjusts: Some(original.id.clone()),
        adjustments: Vec::new(),
        unchanged: unchanged_ids,
    };
    let mut employees = Vec::new();
    for slip in corrected_slips {
        run.store_slip(&slip)?;
        employees.push(slip.employee.id.clone());
    }
    storage::put(&run_key(&run_id), &run)?;
    storage::put(&link_key(&original.id, &run_id), &employees)?;
    Ok(run)
}

/// The employee's latest payslip for the original run's period: the corrected slip
/// of the last approved adjustment that includes them, else the original. Refused
/// while a draft adjustment includes them.
fn latest_slip(
    original: &Run,
    orig: &Slip,
    links: &[(String, Vec<String>)],
) -> Result<(String, Payslip)> {
    let id = &orig.employee.id;
    let mut latest = (original.id.clone(), orig.payslip.clone());
    for (adj, employees) in links {
        if !employees.contains(id) {
            continue;
        }
        let run = load_run(adj)?;
        if run.status == Status::Draft {
            return Err(Error::conflict(format!(
                "employee {id}: draft adjustment {adj} of run {} already corrects them; approve it (approve-run) or delete it (delete-run) first",
                original.id
            )));
        }
        let slip = storage::get::<Slip>(&format!("slip/{adj}/{id}"))?
            .ok_or_else(|| Error::internal(format!("adjustment {adj} lost the slip of {id}")))?;
        if let Some(corrected) = slip.corrected {
            latest = (adj.clone(), corrected);
        }
    }
    Ok(latest)
}

/// The employee's record in force at the end of the run's period, as recorded now
/// (from `records` when read in one pass); it must still be paid under the same
/// country and frequency.
fn current_employee(
    original: &Run,
    orig: &Slip,
    records: Option<&BTreeMap<String, model::Employee>>,
) -> Result<model::Employee> {
    let id = &orig.employee.id;
    let emp = match records {
        Some(all) => all.get(id).cloned(),
        None => employee_as_of(id, Some(original.period_end))?,
    }
    .ok_or_else(|| Error::not_found(format!("employee {id} does not exist")))?;
    if emp.country != orig.employee.country || emp.currency != orig.employee.currency {
        return Err(Error::invalid(format!(
            "employee {id} is now paid under the {} rules in {}, but run {} paid them under the {} rules in {}; an adjustment recomputes under the same rules",
            emp.country, emp.currency, original.id, orig.employee.country, orig.employee.currency
        )));
    }
    if original.kind == Kind::Regular && emp.frequency != original.frequency {
        return Err(Error::invalid(format!(
            "employee {id} is now paid {}, but run {} paid them {}; an adjustment recomputes the same period",
            emp.frequency, original.id, original.frequency
        )));
    }
    Ok(emp)
}

/// The year-to-date figures the original payslip was computed from: those the
/// previous run (or the opening figures) left, none when there were none.
fn ytd_before(orig: &Slip) -> Result<BTreeMap<String, i64>> {
    Ok(match &orig.ytd_after_run {
        None => BTreeMap::new(),
        Some(mark) if mark.starts_with(OPENING_MARK) => {
            let key = ytd_key(
                &orig.employee.id,
                &orig.employee.country,
                &orig.payslip.tax_year,
            );
            storage::get::<Ytd>(&key)?
                .and_then(|y| y.opening)
                .map(|o| o.figures().clone())
                .unwrap_or_default()
        }
        Some(prev) => storage::get::<Slip>(&format!("slip/{prev}/{}", orig.employee.id))?
            .map(|s| s.payslip.ytd)
            .ok_or_else(|| {
                Error::internal(format!(
                    "the payslip of {} in run {prev}, whose year-to-date figures the adjusted payslip started from, is missing",
                    orig.employee.id
                ))
            })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use backoffice_sdk::payroll::LineKind;

    fn line(code: &str, amount: i64, kind: LineKind) -> Line {
        Line {
            code: code.into(),
            description: format!("{code} line"),
            amount,
            kind,
        }
    }

    fn slip(gross: i64, lines: Vec<Line>, ytd: &[(&str, i64)]) -> Payslip {
        let net = gross
            - lines
                .iter()
                .filter(|l| l.kind.reduces_net())
                .map(|l| l.amount)
                .sum::<i64>();
        Payslip {
            country: "GB".into(),
            tax_year: "2026-27".into(),
            period: Some(1),
            currency: "GBP".into(),
            gross,
            lines,
            net,
            ytd: ytd.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            notes: vec!["corrected".into()],
        }
    }

    #[test]
    fn a_raise_is_the_difference_of_every_line_and_net() {
        use LineKind::*;
        let before = slip(
            400_000,
            vec![
                line("gb-paye", 59_020, EmployeeTax),
                line("gb-ni-employee", 23_616, EmployeeContribution),
                line("gb-ni-employer", 53_745, EmployerContribution),
            ],
            &[("taxable-pay", 400_000)],
        );
        let after = slip(
            450_000,
            vec![
                line("gb-paye", 69_020, EmployeeTax),
                line("gb-ni-employee", 27_616, EmployeeContribution),
                line("gb-ni-employer", 61_245, EmployerContribution),
            ],
            &[("taxable-pay", 450_000)],
        );
        let d = difference(&before, &after);
        assert_eq!(d.gross, 50_000);
        assert_eq!(
            d.lines,
            vec![
                line("gb-paye", 10_000, EmployeeTax),
                line("gb-ni-employee", 4_000, EmployeeContribution),
                line("gb-ni-employer", 7_500, EmployerContribution),
            ]
        );
        assert_eq!(d.net, 50_000 - 10_000 - 4_000);
        assert_eq!(d.net, after.net - before.net);
        // The figures are where the employee stands after the correction.
        assert_eq!(d.ytd, after.ytd);
        assert_eq!(d.tax_year, "2026-27");
        assert!(!unchanged(&before, &after));
        // The difference balances like a payslip: gross = employee lines + net.
        let taken: i64 = d
            .lines
            .iter()
            .filter(|l| l.kind.reduces_net())
            .map(|l| l.amount)
            .sum();
        assert_eq!(d.gross, taken + d.net);
    }

    #[test]
    fn a_cut_reverses_lines_and_vanished_or_new_lines_count_in_full() {
        use LineKind::*;
        let before = slip(
            500_000,
            vec![
                line("us-fit", 80_000, EmployeeTax),
                line("us-ss", 31_000, EmployeeContribution),
                line("us-addl-medicare", 900, EmployeeContribution),
            ],
            &[],
        );
        let after = slip(
            450_000,
            vec![
                line("us-fit", 70_000, EmployeeTax),
                line("us-ss", 27_900, EmployeeContribution),
                line("us-pa-income-tax", 13_815, EmployeeTax),
            ],
            &[],
        );
        let d = difference(&before, &after);
        assert_eq!(d.gross, -50_000);
        assert_eq!(
            d.lines,
            vec![
                line("us-fit", -10_000, EmployeeTax),
                line("us-ss", -3_100, EmployeeContribution),
                line("us-pa-income-tax", 13_815, EmployeeTax),
                line("us-addl-medicare", -900, EmployeeContribution),
            ]
        );
        assert_eq!(d.net, after.net - before.net);
        assert_eq!(d.net, -50_000 + 10_000 + 3_100 - 13_815 + 900);
    }

    #[test]
    fn unchanged_lines_are_left_out_and_an_identical_slip_is_no_adjustment() {
        use LineKind::*;
        let a = slip(
            300_000,
            vec![
                line("de-lst", 40_000, EmployeeTax),
                line("de-kv", 25_000, EmployeeContribution),
            ],
            &[("lst", 40_000)],
        );
        assert!(unchanged(&a, &a.clone()));
        let d = difference(&a, &a);
        assert!(d.lines.is_empty());
        assert_eq!((d.gross, d.net), (0, 0));
        // Only the tax changes: the contribution line is left out.
        let b = slip(
            300_000,
            vec![
                line("de-lst", 35_000, EmployeeTax),
                line("de-kv", 25_000, EmployeeContribution),
            ],
            &[("lst", 35_000)],
        );
        let d = difference(&a, &b);
        assert_eq!(d.lines, vec![line("de-lst", -5_000, EmployeeTax)]);
        assert_eq!(d.net, 5_000);
        // Same amounts, different figures (a cumulative basis moved): still an
        // adjustment, so the figures are corrected.
        let c = slip(
            300_000,
            vec![
                line("de-lst", 40_000, EmployeeTax),
                line("de-kv", 25_000, EmployeeContribution),
            ],
            &[("lst", 40_001)],
        );
        assert!(!unchanged(&a, &c));
    }
}
