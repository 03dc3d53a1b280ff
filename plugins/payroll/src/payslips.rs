//! Reading a run's payslips: pages of rows, one payslip as JSON, text or HTML, and
//! the run's summary per country, currency and line.

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{LineKind, Payslip, RulesProvider};
use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{self, Employee, SlipHeader};
use crate::provenance;
use crate::runs::{Kind, Run, RunId, Slip, Status, load_run};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct ListPayslips {
    run: String,
    #[serde(default)]
    after: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    100
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct PayslipRow {
    employee: String,
    name: String,
    country: String,
    department: Option<String>,
    currency: String,
    gross: i64,
    employee_taxes: i64,
    employee_contributions: i64,
    employer_contributions: i64,
    net: i64,
    /// The rules plugin that computed the payslip; left out for older payslips.
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<RulesProvider>,
    /// In an adjustment run (whose amounts are differences): the run it corrects.
    #[serde(skip_serializing_if = "Option::is_none")]
    adjusts: Option<String>,
    /// The adjustment runs that correct this employee's payslip, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    adjusted_by: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct PayslipPage {
    payslips: Vec<PayslipRow>,
    next: Option<String>,
}

pub(crate) fn list_payslips(input: ListPayslips) -> Result<PayslipPage> {
    let run = load_run(&input.run)?;
    let links = crate::adjust::adjustments_of(&run.id)?;
    let prefix = format!("slip/{}/", input.run);
    let mut scan = storage::scan_prefix(&prefix).limit(input.limit.clamp(1, 1000) as usize);
    if let Some(after) = &input.after {
        scan = scan.after(format!("{prefix}{after}"));
    }
    let page = scan.page::<Slip>()?;
    let payslips = page
        .entries
        .into_iter()
        .map(|(_, s)| PayslipRow {
            employee: s.employee.id.clone(),
            name: s.employee.name.clone(),
            country: s.payslip.country.clone(),
            department: s.employee.department.clone(),
            currency: s.payslip.currency.clone(),
            gross: s.payslip.gross,
            employee_taxes: s.payslip.total(LineKind::EmployeeTax),
            employee_contributions: s.payslip.total(LineKind::EmployeeContribution),
            employer_contributions: s.payslip.total(LineKind::EmployerContribution),
            net: s.payslip.net,
            rules: s.rules,
            adjusts: run.adjusts.clone(),
            adjusted_by: links
                .iter()
                .filter(|(_, e)| e.contains(&s.employee.id))
                .map(|(id, _)| id.clone())
                .collect(),
        })
        .collect();
    let next = page
        .next
        .and_then(|k| k.strip_prefix(&prefix).map(str::to_string));
    Ok(PayslipPage { payslips, next })
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Format {
    #[default]
    Json,
    Text,
    Html,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct GetPayslip {
    run: String,
    employee: String,
    #[serde(default)]
    format: Format,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct PayslipOut {
    run: String,
    status: Status,
    /// `bonus` for a bonus payslip; left out for a regular one.
    #[serde(skip_serializing_if = "Kind::is_regular")]
    kind: Kind,
    employee: Employee,
    payslip: Payslip,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<String>,
    /// The rules plugin that computed the payslip; left out for older payslips.
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<RulesProvider>,
    /// In an adjustment run, where `payslip` is the difference: the run it corrects.
    #[serde(skip_serializing_if = "Option::is_none")]
    adjusts: Option<String>,
    /// In an adjustment run: the run whose payslip this one corrects (the original
    /// or the adjustment approved before).
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<String>,
    /// In an adjustment run: the corrected payslip in full.
    #[serde(skip_serializing_if = "Option::is_none")]
    corrected: Option<Payslip>,
    /// The adjustment runs that correct this payslip, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    adjusted_by: Vec<String>,
}

pub(crate) fn get_payslip(input: GetPayslip) -> Result<PayslipOut> {
    let run = load_run(&input.run)?;
    let slip = storage::get::<Slip>(&format!("slip/{}/{}", input.run, input.employee))?
        .ok_or_else(|| {
            Error::not_found(format!(
                "employee {} has no payslip in run {}",
                input.employee, input.run
            ))
        })?;
    let company = context::caller().tenant;
    let exponent = u32::from(
        Currency::new(&slip.payslip.currency)
            .map(|c| c.exponent())
            .unwrap_or(2),
    );
    let header = SlipHeader {
        company: &company,
        employee: &slip.employee,
        run: &run.id,
        period_start: run.period_start,
        period_end: run.period_end,
        pay_date: run.pay_date,
        bonus: slip.kind == Kind::Bonus,
    };
    // A printed adjustment says what its amounts are.
    let mut printed = slip.payslip.clone();
    if let (Some(original), Some(replaces)) = (&run.adjusts, &slip.replaces) {
        printed.notes.insert(
            0,
            format!(
                "Adjustment of run {original}: every amount is the difference to the payslip of run {replaces}; net pay is what is paid (or recovered, when negative) in addition."
            ),
        );
    }
    let (text, html) = match input.format {
        Format::Json => (None, None),
        Format::Text => (Some(model::payslip_text(&header, &printed, exponent)), None),
        Format::Html => (None, Some(model::payslip_html(&header, &printed, exponent))),
    };
    let (text, html) = provenance::printed_in(text, html, slip.rules.as_ref());
    let adjusted_by = crate::adjust::adjustments_of_employee(&run.id, &input.employee)?;
    Ok(PayslipOut {
        adjusts: run.adjusts.clone(),
        replaces: slip.replaces,
        corrected: slip.corrected,
        adjusted_by,
        run: run.id,
        status: run.status,
        kind: slip.kind,
        employee: slip.employee.masked(),
        payslip: slip.payslip,
        text,
        html,
        rules: slip.rules,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct SummaryLine {
    code: String,
    description: String,
    kind: LineKind,
    country: String,
    currency: String,
    amount: i64,
    employees: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Summary {
    run: Run,
    lines: Vec<SummaryLine>,
}

pub(crate) fn run_summary(input: RunId) -> Result<Summary> {
    let run = crate::adjust::with_links(load_run(&input.id)?)?;
    let mut lines: BTreeMap<(String, String, String), SummaryLine> = BTreeMap::new();
    // One payslip in memory at a time: the summary keeps only its lines' sums.
    crate::runs::for_each_slip(&run.id, |s| {
        for l in &s.payslip.lines {
            let key = (
                s.payslip.country.clone(),
                s.payslip.currency.clone(),
                l.code.clone(),
            );
            let row = lines.entry(key).or_insert_with(|| SummaryLine {
                code: l.code.clone(),
                description: l.description.clone(),
                kind: l.kind,
                country: s.payslip.country.clone(),
                currency: s.payslip.currency.clone(),
                amount: 0,
                employees: 0,
            });
            row.amount += l.amount;
            row.employees += 1;
        }
        Ok(())
    })?;
    Ok(Summary {
        run,
        lines: lines.into_values().collect(),
    })
}
