//! Pay runs: created as drafts from the employees paid in a period, approved by a
//! second person (posting one ledger entry and moving the year-to-date figures on),
//! listed and deleted while drafts.

use std::collections::{BTreeMap, BTreeSet};

use backoffice_sdk::payroll::{CalcInput, Frequency, LineKind, Payslip, v0_2 as payroll};
use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{self, Employee, Settings};
use crate::settings::settings;
use crate::{caller_name, provenance, ytd};

/// Status of a pay run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    /// Computed, open for review; can be deleted and created again.
    Draft,
    /// Approved by a second person and posted to the ledger.
    Posted,
}

/// What a run pays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    /// The wages of a pay period.
    #[default]
    Regular,
    /// An off-cycle bonus (irregular pay) for some employees: the country's rules
    /// are told with `"payment": "bonus"` in the tax profile.
    Bonus,
}

impl Kind {
    pub(crate) fn is_regular(&self) -> bool {
        *self == Kind::Regular
    }
}

/// Totals of a run in one currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Totals {
    pub(crate) employees: u64,
    pub(crate) gross: i64,
    pub(crate) employee_taxes: i64,
    pub(crate) employee_contributions: i64,
    pub(crate) employer_contributions: i64,
    pub(crate) net: i64,
    /// Gross plus employer contributions: what the run costs the company.
    pub(crate) employer_cost: i64,
}

impl Totals {
    pub(crate) fn add(&mut self, slip: &Payslip) {
        self.employees += 1;
        self.gross += slip.gross;
        self.employee_taxes += slip.total(LineKind::EmployeeTax);
        self.employee_contributions += slip.total(LineKind::EmployeeContribution);
        let employer = slip.total(LineKind::EmployerContribution);
        self.employer_contributions += employer;
        self.net += slip.net;
        self.employer_cost += slip.gross + employer;
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Run {
    pub(crate) id: String,
    pub(crate) status: Status,
    /// Left out for a regular run (and in runs stored before kinds existed).
    #[serde(default, skip_serializing_if = "Kind::is_regular")]
    pub(crate) kind: Kind,
    pub(crate) frequency: Frequency,
    pub(crate) period_start: Date,
    pub(crate) period_end: Date,
    pub(crate) pay_date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) created_by: String,
    pub(crate) created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) approved_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ledger_entry: Option<String>,
    /// Per currency.
    pub(crate) totals: BTreeMap<String, Totals>,
    /// Per country.
    pub(crate) countries: BTreeMap<String, Totals>,
    /// The payment files made for the run, oldest first (what, not the content).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) payment_files: Vec<crate::payments::Produced>,
    /// An adjustment run: the approved run it corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) adjusts: Option<String>,
    /// The adjustment runs of this run, oldest first (filled in when read, from the
    /// `adj/` links; not stored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) adjustments: Vec<String>,
    /// An adjustment run: the employees left out because recomputing changed nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) unchanged: Vec<String>,
}

/// One employee's payslip in a run, with what it was computed from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Slip {
    /// A bonus payslip, or a regular one (left out).
    #[serde(default, skip_serializing_if = "Kind::is_regular")]
    pub(crate) kind: Kind,
    pub(crate) employee: Employee,
    pub(crate) payslip: Payslip,
    /// The run whose posting produced the year-to-date figures used, if any; the
    /// approval checks they are still the latest.
    pub(crate) ytd_after_run: Option<String>,
    /// The rules plugin that computed the payslip (id, version, package digest);
    /// `None` for payslips stored before payroll recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rules: Option<backoffice_sdk::payroll::RulesProvider>,
    /// In an adjustment run, where `payslip` holds the difference: the corrected
    /// payslip in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) corrected: Option<Payslip>,
    /// In an adjustment run: the run whose payslip of the employee this one
    /// corrects (the original, or the adjustment approved last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) replaces: Option<String>,
}

/// Year-to-date figures of one employee, country and tax year.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Ytd {
    pub(crate) tax_year: String,
    pub(crate) figures: BTreeMap<String, i64>,
    /// The posted run that last updated them, or [`ytd::OPENING_MARK`] and a number
    /// for opening figures.
    pub(crate) run: String,
    /// The figures the year opened with, when entered by `set-opening-ytd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) opening: Option<ytd::Opening>,
}

impl Run {
    /// Store `slip` as one of this run's payslips and count it in the run's totals
    /// per currency and per country.
    pub(crate) fn store_slip(&mut self, slip: &Slip) -> Result<()> {
        self.totals
            .entry(slip.payslip.currency.clone())
            .or_default()
            .add(&slip.payslip);
        self.countries
            .entry(slip.payslip.country.clone())
            .or_default()
            .add(&slip.payslip);
        storage::put(&format!("slip/{}/{}", self.id, slip.employee.id), slip)
    }
}

pub(crate) fn ytd_key(employee: &str, country: &str, tax_year: &str) -> String {
    format!("ytd/{employee}/{country}/{tax_year}")
}

/// Whether the employee has year-to-date figures of any tax year in `country`.
pub(crate) fn has_ytd(employee: &str, country: &str) -> Result<bool> {
    Ok(!storage::scan_prefix(&format!("ytd/{employee}/{country}/"))
        .limit(1)
        .keys()?
        .is_empty())
}

pub(crate) fn run_key(id: &str) -> String {
    format!("run/{id}")
}

pub(crate) fn load_run(id: &str) -> Result<Run> {
    storage::get::<Run>(&run_key(id))?
        .ok_or_else(|| Error::not_found(format!("pay run {id} does not exist")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct CreateRun {
    frequency: Frequency,
    period_start: Date,
    period_end: Date,
    pay_date: Date,
    #[serde(default)]
    hours: BTreeMap<String, String>,
    #[serde(default)]
    employees: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    kind: Kind,
    /// A bonus run's gross bonus per employee id, minor units.
    #[serde(default)]
    bonuses: Option<BTreeMap<String, i64>>,
}

pub(crate) fn create_run(input: CreateRun) -> Result<Run> {
    check_period(&input)?;
    check_kind(&input)?;
    let mut hours = BTreeMap::new();
    for (id, text) in &input.hours {
        let h =
            model::parse_hours(text).map_err(|e| Error::invalid(format!("hours of {id}: {e}")))?;
        hours.insert(id.clone(), h);
    }
    let number = storage::get::<u64>("seq/run")?.unwrap_or(0) + 1;
    storage::put("seq/run", &number)?;
    let id = format!("r-{number:06}");
    let mut run = Run {
        id: id.clone(),
        status: Status::Draft,
        kind: input.kind,
        frequency: input.frequency,
        period_start: input.period_start,
        period_end: input.period_end,
        pay_date: input.pay_date,
        description: input.description.clone(),
        created_by: caller_name(),
        created_at: context::now().to_rfc3339(),
        approved_by: None,
        approved_at: None,
        ledger_entry: None,
        totals: BTreeMap::new(),
        countries: BTreeMap::new(),
        payment_files: Vec::new(),
        adjusts: None,
        adjustments: Vec::new(),
        unchanged: Vec::new(),
    };
    let settings = settings()?;
    // The employees are read page by page and each payslip is computed and written
    // as its employee comes: only the run's running totals stay in memory, so a run
    // is not bounded by the instance's memory (issue 22). Every check below refuses
    // the whole call, so nothing written before it is kept.
    let wanted = wanted(&input);
    let overlapping = overlapping_runs(&input)?;
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut bonus_countries: BTreeSet<String> = BTreeSet::new();
    let mut paid = 0u64;
    crate::employees::for_each_employee(Some(input.period_end), |emp| {
        if emp.frequency != input.frequency
            || !emp.employed_during(input.period_start, input.period_end)
        {
            return Ok(());
        }
        if let Some(w) = &wanted {
            if !w.contains(&emp.id) {
                return Ok(());
            }
            found.insert(emp.id.clone());
        } else if hours.contains_key(&emp.id) {
            found.insert(emp.id.clone());
        }
        check_not_paid_yet(&overlapping, &emp)?;
        if input.kind == Kind::Bonus && bonus_countries.insert(emp.country.clone()) {
            check_rules_pay_bonuses(&emp)?;
        }
        let worked = hours.get(&emp.id).copied();
        let bonus = input.bonuses.as_ref().and_then(|b| b.get(&emp.id).copied());
        let slip = compute_slip(&input, emp, worked, bonus, &settings)?;
        run.store_slip(&slip)?;
        paid += 1;
        Ok(())
    })?;
    if let Some(w) = &wanted
        && let Some(missing) = w.iter().find(|id| !found.contains(*id))
    {
        return Err(Error::invalid(format!(
            "employee {missing} is not paid {} in {} to {}, or does not exist",
            input.frequency, input.period_start, input.period_end
        )));
    }
    if paid == 0 {
        return Err(Error::invalid(format!(
            "no employee is paid {} between {} and {}",
            input.frequency, input.period_start, input.period_end
        )));
    }
    if let Some(stray) = hours.keys().find(|id| !found.contains(*id)) {
        return Err(Error::invalid(format!(
            "hours are given for {stray}, who is not in this run"
        )));
    }
    storage::put(&run_key(&id), &run)?;
    Ok(run)
}

/// The pay date is not before the period, which lasts as long as its frequency says.
fn check_period(input: &CreateRun) -> Result<()> {
    if input.period_end < input.period_start {
        return Err(Error::invalid(format!(
            "period-end {} is before period-start {}",
            input.period_end, input.period_start
        )));
    }
    if input.pay_date < input.period_start {
        return Err(Error::invalid(format!(
            "pay-date {} is before the period starts ({})",
            input.pay_date, input.period_start
        )));
    }
    let days = input.period_start.days_until(input.period_end) + 1;
    let (min, max) = match input.frequency {
        Frequency::Weekly => (7, 7),
        Frequency::Biweekly => (14, 14),
        Frequency::FourWeekly => (28, 28),
        Frequency::SemiMonthly => (13, 16),
        Frequency::Monthly => (28, 31),
        Frequency::Quarterly => (89, 92),
        Frequency::Annual => (365, 366),
    };
    if !(min..=max).contains(&days) {
        return Err(Error::invalid(format!(
            "a {} period lasts {} days, but {} to {} is {days} days",
            input.frequency,
            if min == max {
                min.to_string()
            } else {
                format!("{min} to {max}")
            },
            input.period_start,
            input.period_end
        )));
    }
    Ok(())
}

/// A bonus run names its employees and amounts in `bonuses` (and nothing else); a
/// regular run has no `bonuses`.
fn check_kind(input: &CreateRun) -> Result<()> {
    if input.kind == Kind::Regular {
        if input.bonuses.is_some() {
            return Err(Error::invalid(
                "bonuses are paid by a bonus run: add \"kind\": \"bonus\" (a regular run pays the period's wages)",
            ));
        }
        return Ok(());
    }
    let bonuses = match &input.bonuses {
        Some(b) if !b.is_empty() => b,
        _ => {
            return Err(Error::invalid(
                "a bonus run needs bonuses: the gross bonus per employee id in minor units, e.g. {\"E001\": 500000}",
            ));
        }
    };
    if input.employees.is_some() {
        return Err(Error::invalid(
            "a bonus run pays the employees named in bonuses; leave employees out",
        ));
    }
    if !input.hours.is_empty() {
        return Err(Error::invalid(
            "a bonus run pays fixed amounts; leave hours out (hours belong to the regular run)",
        ));
    }
    for (id, amount) in bonuses {
        if *amount <= 0 {
            return Err(Error::invalid(format!(
                "bonus of {id} is {amount}: give the gross bonus as a positive whole number of minor units (cents, pence), e.g. 500000 for 5,000.00"
            )));
        }
        if storage::scan_prefix(&format!("emp/{id}/"))
            .limit(1)
            .keys()?
            .is_empty()
        {
            return Err(Error::not_found(format!("employee {id} does not exist")));
        }
    }
    Ok(())
}

/// Every country of a bonus run must have rules that know bonus payments: their
/// profile schema offers `"payment": "bonus"` (how a rules plugin says so without a
/// change to `backoffice:payroll/rules@0.1.0`; see docs/plugins/payroll.md). Asked
/// once per country, with its first employee.
fn check_rules_pay_bonuses(e: &Employee) -> Result<()> {
    let schema = payroll::profile_schema(&e.country)?;
    let offers_bonus = schema["properties"]["payment"]["enum"]
        .as_array()
        .is_some_and(|v| v.iter().any(|x| x == "bonus"));
    if !offers_bonus {
        return Err(Error::invalid(format!(
            "employee {}: the payroll rules enabled for {} do not support bonus payments yet (their tax profile has no payment \"bonus\"); pay the bonus with the regular wages, or leave {} out of the bonus run",
            e.id, e.country, e.id
        )));
    }
    Ok(())
}

/// The employees a run is narrowed to: `employees`, or a bonus run's `bonuses`;
/// `None` for everyone paid at the run's frequency and employed in its period.
/// Bounded by the call's input.
fn wanted(input: &CreateRun) -> Option<BTreeSet<String>> {
    match &input.bonuses {
        Some(b) if input.kind == Kind::Bonus => Some(b.keys().cloned().collect()),
        _ => input
            .employees
            .as_ref()
            .map(|v| v.iter().cloned().collect()),
    }
}

/// The regular runs of the same frequency whose period overlaps the new regular
/// run's (none for a bonus run): an employee paid by one of them is refused. Few
/// runs, whatever the head count.
fn overlapping_runs(input: &CreateRun) -> Result<Vec<Run>> {
    if input.kind == Kind::Bonus {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for item in storage::scan_prefix("run/").page_size(100).iter::<Run>() {
        let (_, r) = item?;
        if r.kind == Kind::Regular
            && r.frequency == input.frequency
            && r.period_start <= input.period_end
            && r.period_end >= input.period_start
        {
            found.push(r);
        }
    }
    Ok(found)
}

/// An employee is paid once per period and frequency: a draft covering them must be
/// deleted first; a posted run is a conflict. Runs for other employees (an off-cycle
/// run for a late joiner) may overlap.
///
/// Bonus runs are off-cycle: they may overlap any run, and regular runs ignore them.
fn check_not_paid_yet(overlapping: &[Run], e: &Employee) -> Result<()> {
    for r in overlapping {
        if storage::get_raw(&format!("slip/{}/{}", r.id, e.id))?.is_some() {
            return Err(Error::conflict(match r.status {
                Status::Draft => format!(
                    "draft run {} already pays {} for {} to {}; review and approve it, or delete it first",
                    r.id, e.id, r.period_start, r.period_end
                ),
                Status::Posted => format!(
                    "run {} already paid {} for {} to {}",
                    r.id, e.id, r.period_start, r.period_end
                ),
            }));
        }
    }
    Ok(())
}

/// One employee's payslip for the run, computed by the country's rules with the
/// year-to-date figures of the tax year its pay date falls in. `bonus`: the gross
/// of a bonus payment, computed with `"payment": "bonus"` in the profile.
fn compute_slip(
    input: &CreateRun,
    emp: Employee,
    hours: Option<i64>,
    bonus: Option<i64>,
    settings: &Settings,
) -> Result<Slip> {
    let gross = match bonus {
        Some(amount) => amount,
        None => model::gross_for_period(&emp, input.period_start, input.period_end, hours)?,
    };
    let mut profile = model::rules_profile(settings, &emp.country, &emp.profile);
    if let (Some(_), Some(obj)) = (bonus, profile.as_object_mut()) {
        obj.insert("payment".into(), "bonus".into());
    }
    let mut calc = CalcInput {
        country: emp.country.clone(),
        pay_date: input.pay_date.to_string(),
        frequency: emp.frequency,
        gross,
        currency: emp.currency.clone(),
        ytd: BTreeMap::new(),
        profile,
    };
    let in_employee = |e: Error| match e {
        Error::InvalidInput(m) => Error::invalid(format!("employee {}: {m}", emp.id)),
        other => other,
    };
    // The rules decide which tax year the pay date falls in: ask with no figures,
    // then, when the employee has figures of that year, compute with them. Runs
    // approved out of order (a late December run after January's) each carry their
    // own year's figures.
    // A bonus may need the figures (payroll-de refuses a bonus with no regular pay on
    // record), so its tax year is asked as a regular payment of 0.
    let probe = if bonus.is_some() {
        let mut p = calc.clone();
        p.gross = 0;
        if let Some(obj) = p.profile.as_object_mut() {
            obj.remove("payment");
        }
        p
    } else {
        calc.clone()
    };
    let (mut slip, mut rules) = provenance::calculate(&probe).map_err(in_employee)?;
    let mut ytd = None;
    if has_ytd(&emp.id, &emp.country)? {
        ytd = storage::get::<Ytd>(&ytd_key(&emp.id, &emp.country, &slip.tax_year))?;
        if let Some(y) = &ytd {
            calc.ytd = y.figures.clone();
        }
    }
    if bonus.is_some() || ytd.is_some() {
        (slip, rules) = provenance::calculate(&calc).map_err(in_employee)?;
    }
    Ok(Slip {
        kind: input.kind,
        employee: emp,
        payslip: slip,
        ytd_after_run: ytd.map(|y| y.run),
        rules: Some(rules),
        corrected: None,
        replaces: None,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RunId {
    pub(crate) id: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Deleted {
    deleted: String,
    payslips: u64,
}

pub(crate) fn delete_run(input: RunId) -> Result<Deleted> {
    let run = load_run(&input.id)?;
    if run.status != Status::Draft {
        return Err(Error::conflict(format!(
            "run {} is posted; only drafts can be deleted (correct a posted run with an adjustment run: create-adjustment)",
            run.id
        )));
    }
    let keys = storage::scan_prefix(&format!("slip/{}/", run.id)).keys()?;
    for k in &keys {
        storage::delete(k)?;
    }
    storage::delete(&run_key(&run.id))?;
    crate::adjust::unlink(&run)?;
    Ok(Deleted {
        deleted: run.id,
        payslips: keys.len() as u64,
    })
}

/// Payslips read per round trip by [`for_each_slip`]: a page of payslips (a few
/// KiB each) is what sits in memory.
const SLIP_PAGE: u32 = 250;

/// Each payslip of run `id` in turn, one decoded at a time (a page read at a time).
pub(crate) fn for_each_slip(id: &str, mut f: impl FnMut(Slip) -> Result<()>) -> Result<()> {
    for item in storage::scan_prefix(&format!("slip/{id}/"))
        .page_size(SLIP_PAGE)
        .iter::<Slip>()
    {
        f(item?.1)?;
    }
    Ok(())
}

pub(crate) fn run_slips(id: &str) -> Result<Vec<Slip>> {
    let mut slips = Vec::new();
    for item in storage::scan_prefix(&format!("slip/{id}/")).iter::<Slip>() {
        slips.push(item?.1);
    }
    Ok(slips)
}

pub(crate) fn approve_run(input: RunId) -> Result<Run> {
    let mut run = load_run(&input.id)?;
    if run.status != Status::Draft {
        return Err(Error::conflict(format!(
            "run {} is already approved and posted (ledger entry {})",
            run.id,
            run.ledger_entry.as_deref().unwrap_or("none")
        )));
    }
    let approver = caller_name();
    if approver == run.created_by {
        return Err(Error::forbidden(format!(
            "run {} was created by {approver}; another person holding payroll.approve must approve it (segregation of duties)",
            run.id
        )));
    }
    // The slips are read one at a time, twice (checked and summed, then their
    // year-to-date figures written): a run of tens of thousands of employees never
    // sits in the instance's memory at once.
    let settings = settings()?;
    let mut sums = model::PostingSums::default();
    for_each_slip(&run.id, |s| {
        let current = storage::get::<Ytd>(&ytd_key(
            &s.employee.id,
            &s.employee.country,
            &s.payslip.tax_year,
        ))?;
        if current.map(|y| y.run) != s.ytd_after_run {
            return Err(Error::conflict(format!(
                "the year-to-date figures of employee {} changed after run {} was computed; delete the run and create it again",
                s.employee.id, run.id
            )));
        }
        sums.add(&settings, &s.payslip);
        Ok(())
    })?;
    let postings = sums.postings();
    let entry: serde_json::Value = plugins::call(
        "ledger",
        "post-entry",
        &serde_json::json!({
            "date": run.pay_date,
            "description": format!(
                "{} {} {} to {}{}",
                if run.kind == Kind::Bonus { "Bonus payroll" } else { "Payroll" },
                run.id,
                run.period_start,
                run.period_end,
                run.adjusts
                    .as_ref()
                    .map(|o| format!(", adjustment of run {o}"))
                    .unwrap_or_default()
            ),
            "payee": "payroll",
            "reference": {"source": "payroll", "document": run.id},
            "idempotency-key": format!("payroll-{}", run.id),
            "postings": postings,
        }),
    )
    .map_err(|e| match e {
        Error::Forbidden(m) => Error::forbidden(format!(
            "cannot post run {} to the ledger: {m} (the ledger plugin must be enabled and the approver needs ledger.post)",
            run.id
        )),
        Error::InvalidInput(m) | Error::NotFound(m) => Error::invalid(format!(
            "the ledger refused the entry of run {}: {m}; run setup-ledger to create the payroll accounts",
            run.id
        )),
        other => other,
    })?;
    for_each_slip(&run.id, |s| {
        let key = ytd_key(&s.employee.id, &s.employee.country, &s.payslip.tax_year);
        let opening = storage::get::<Ytd>(&key)?.and_then(|y| y.opening);
        storage::put(
            &key,
            &Ytd {
                tax_year: s.payslip.tax_year.clone(),
                figures: s.payslip.ytd.clone(),
                run: run.id.clone(),
                opening,
            },
        )
    })?;
    run.status = Status::Posted;
    run.approved_by = Some(approver);
    run.approved_at = Some(context::now().to_rfc3339());
    run.ledger_entry = entry["id"].as_str().map(str::to_string);
    storage::put(&run_key(&run.id), &run)?;
    let mut event = serde_json::json!({
        "run": run.id,
        "kind": run.kind,
        "frequency": run.frequency,
        "period-start": run.period_start,
        "period-end": run.period_end,
        "pay-date": run.pay_date,
        "created-by": run.created_by,
        "approved-by": run.approved_by,
        "ledger-entry": run.ledger_entry,
        "totals": run.totals,
    });
    // An adjustment names the run it corrects; its totals are the differences.
    if let (Some(original), Some(obj)) = (&run.adjusts, event.as_object_mut()) {
        obj.insert("adjusts".into(), original.clone().into());
    }
    events::emit("payroll.run-approved", &event)?;
    Ok(run)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct ListRuns {
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Runs {
    runs: Vec<Run>,
}

pub(crate) fn list_runs(input: ListRuns) -> Result<Runs> {
    let mut runs = Vec::new();
    for item in storage::scan_prefix("run/").reverse().iter::<Run>() {
        let (_, r) = item?;
        if input.status.is_none_or(|s| s == r.status) {
            runs.push(crate::adjust::with_links(r)?);
        }
    }
    Ok(Runs { runs })
}

pub(crate) fn get_run(input: RunId) -> Result<Run> {
    crate::adjust::with_links(load_run(&input.id)?)
}
