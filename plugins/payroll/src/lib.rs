//! Payroll: employees with effective-dated records, pay runs computed by the country
//! rules plugins (through the host's `backoffice:payroll/engine`), approval by a
//! second person, one balanced ledger entry per run, year-to-date figures, payslips.
//! See `docs/plugins/payroll.md` for every operation.
//!
//! Storage layout (all keys under this plugin and tenant):
//!
//! | key | value |
//! |---|---|
//! | `emp/<id>/<effective-date>` | [`model::Employee`], one per version |
//! | `run/<run-id>` | [`Run`] |
//! | `slip/<run-id>/<employee-id>` | [`Slip`] |
//! | `ytd/<employee-id>/<country>/<tax-year>` | [`Ytd`]: the tax year's figures after the last posted run (or the opening figures) |
//! | `seq/run` | last run number |
//! | `seq/opening` | last number of an opening-figures entry |
//! | `settings` | [`model::Settings`] |

use std::collections::{BTreeMap, BTreeSet};

use backoffice_sdk::payroll::{self, CalcInput, Frequency, LineKind, Payslip};
use backoffice_sdk::prelude::*;
use backoffice_sdk::storage::KeyRange;
use serde::{Deserialize, Serialize};

pub mod model;
pub mod ytd;

use model::{Basis, Employee, Settings, SlipHeader};

/// The plugin.
pub struct Payroll;

impl Plugin for Payroll {
    fn operations() -> Operations {
        Operations::new()
            .op("set-employee", set_employee)
            .op("get-employee", get_employee)
            .op("list-employees", list_employees)
            .op("calculate-payslip", calculate_payslip)
            .op("describe-country", describe_country)
            .op("create-run", create_run)
            .op("delete-run", delete_run)
            .op("approve-run", approve_run)
            .op("list-runs", list_runs)
            .op("get-run", get_run)
            .op("list-payslips", list_payslips)
            .op("get-payslip", get_payslip)
            .op("run-summary", run_summary)
            .op("get-settings", get_settings)
            .op("set-settings", set_settings)
            .op("setup-ledger", setup_ledger)
            .op("get-ytd", ytd::get_ytd)
            .op("set-opening-ytd", ytd::set_opening)
    }
}

backoffice_sdk::export_plugin!(Payroll);

// ---------------------------------------------------------------- employees

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct SetEmployee {
    id: String,
    name: String,
    country: String,
    frequency: Frequency,
    #[serde(default)]
    salary: Option<i64>,
    #[serde(default)]
    hourly_rate: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    job_role: Option<String>,
    start_date: Date,
    #[serde(default)]
    end_date: Option<Date>,
    #[serde(default)]
    profile: Option<serde_json::Value>,
    #[serde(default)]
    effective_date: Option<Date>,
}

fn emp_prefix(id: &str) -> String {
    format!("emp/{id}/")
}

/// The version of employee `id` in force on `date` (the latest one when `None`).
fn employee_as_of(id: &str, date: Option<Date>) -> Result<Option<Employee>> {
    let prefix = emp_prefix(id);
    let end = match date {
        Some(d) => format!("{prefix}{d}~"),
        None => format!("{prefix}~"),
    };
    let found = storage::scan(KeyRange::between(prefix, end))
        .reverse()
        .limit(1)
        .collect::<Employee>()?;
    Ok(found.into_iter().next().map(|(_, e)| e))
}

fn employee_history(id: &str) -> Result<Vec<Employee>> {
    Ok(storage::scan_prefix(&emp_prefix(id))
        .collect::<Employee>()?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

fn check_id(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} {id:?} must be 1 to 64 letters, digits, '-', '_' or '.'"
        )))
    }
}

fn set_employee(input: SetEmployee) -> Result<Employee> {
    check_id("employee id", &input.id)?;
    if input.name.trim().is_empty() {
        return Err(Error::invalid("name must not be blank"));
    }
    let country = input.country.to_ascii_uppercase();
    let (basis, rate) = match (input.salary, input.hourly_rate) {
        (Some(s), None) => (Basis::Salary, s),
        (None, Some(h)) => (Basis::Hourly, h),
        _ => {
            return Err(Error::invalid(
                "give exactly one of salary (yearly, minor units) and hourly-rate (minor units per hour)",
            ));
        }
    };
    if rate < 0 {
        return Err(Error::invalid(format!(
            "{} must not be negative (got {rate})",
            if basis == Basis::Salary {
                "salary"
            } else {
                "hourly-rate"
            }
        )));
    }
    if input.end_date.is_some_and(|e| e < input.start_date) {
        return Err(Error::invalid("end-date is before start-date"));
    }
    let previous = employee_as_of(&input.id, None)?;
    let effective_date = match (input.effective_date, &previous) {
        (Some(d), _) => d,
        (None, None) => input.start_date,
        (None, Some(_)) => {
            return Err(Error::invalid(format!(
                "employee {} exists: give the effective-date from which the change applies",
                input.id
            )));
        }
    };
    // The rules plugin of the country decides what it supports; an error names what
    // to install and enable when there is none.
    let support = payroll::support(&country)?;
    let currency = input.currency.unwrap_or_else(|| support.currency.clone());
    if currency != support.currency {
        return Err(Error::invalid(format!(
            "currency {currency} does not match the {country} payroll rules, which pay in {}",
            support.currency
        )));
    }
    if !support.frequencies.contains(&input.frequency) {
        return Err(Error::invalid(format!(
            "pay frequency {} is not supported for {country}; supported: {}",
            input.frequency,
            support
                .frequencies
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let profile = input
        .profile
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    // Let the rules check the tax profile: a zero payslip under the rules in force on
    // the effective date or, when the rules do not cover that date (a back-dated hire,
    // rules not yet updated for a future date), today.
    // The employer's part of the profile (settings.employer) is checked with it.
    let rules_profile = model::rules_profile(&settings()?, &country, &profile);
    let dry_run = |date: Date| {
        payroll::calculate(&CalcInput {
            country: country.clone(),
            pay_date: date.to_string(),
            frequency: input.frequency,
            gross: 0,
            currency: currency.clone(),
            ytd: BTreeMap::new(),
            profile: rules_profile.clone(),
        })
    };
    if let Err(first) = dry_run(effective_date) {
        let fallback = match &first {
            Error::InvalidInput(_) if context::today() != effective_date => {
                dry_run(context::today())
            }
            _ => Err(first.clone()),
        };
        // Both refused: today's rules have the last word.
        if let Err(e) = fallback {
            return Err(match e {
                Error::InvalidInput(m) => Error::invalid(format!("employee {}: {m}", input.id)),
                other => other,
            });
        }
    }
    let caller = context::caller();
    let employee = Employee {
        id: input.id.clone(),
        name: input.name,
        country,
        currency,
        frequency: input.frequency,
        basis,
        rate,
        department: input.department,
        job_role: input.job_role,
        start_date: input.start_date,
        end_date: input.end_date,
        profile,
        effective_date,
        changed_by: caller.id.unwrap_or_else(|| "system".into()),
        changed_at: context::now().to_rfc3339(),
    };
    storage::put(
        &format!("{}{}", emp_prefix(&input.id), effective_date),
        &employee,
    )?;
    events::emit(
        "payroll.employee-changed",
        &serde_json::json!({
            "id": employee.id,
            "name": employee.name,
            "department": employee.department,
            "job-role": employee.job_role,
            "country": employee.country,
            "start-date": employee.start_date,
            "end-date": employee.end_date,
            "effective-date": employee.effective_date,
        }),
    )?;
    Ok(employee)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct GetEmployee {
    id: String,
    #[serde(default)]
    as_of: Option<Date>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct EmployeeOut {
    employee: Employee,
    history: Vec<Employee>,
}

fn get_employee(input: GetEmployee) -> Result<EmployeeOut> {
    let employee = employee_as_of(&input.id, input.as_of)?.ok_or_else(|| {
        Error::not_found(match input.as_of {
            Some(d) => format!("employee {} has no record in force on {d}", input.id),
            None => format!("employee {} does not exist", input.id),
        })
    })?;
    Ok(EmployeeOut {
        employee,
        history: employee_history(&input.id)?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ListEmployees {
    #[serde(default)]
    as_of: Option<Date>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    include_former: bool,
}

#[derive(Debug, Serialize)]
struct Employees {
    employees: Vec<Employee>,
}

/// Every employee's version in force on `as_of` (latest when `None`).
fn all_employees(as_of: Option<Date>) -> Result<Vec<Employee>> {
    let mut latest: BTreeMap<String, Employee> = BTreeMap::new();
    for item in storage::scan_prefix("emp/").iter::<Employee>() {
        let (_, e) = item?;
        if as_of.is_some_and(|d| e.effective_date > d) {
            continue;
        }
        latest.insert(e.id.clone(), e);
    }
    Ok(latest.into_values().collect())
}

fn list_employees(input: ListEmployees) -> Result<Employees> {
    let on = input.as_of.unwrap_or_else(context::today);
    let employees = all_employees(input.as_of)?
        .into_iter()
        .filter(|e| {
            input
                .country
                .as_ref()
                .is_none_or(|c| c.eq_ignore_ascii_case(&e.country))
        })
        .filter(|e| input.include_former || e.end_date.is_none_or(|end| end >= on))
        .collect();
    Ok(Employees { employees })
}

// ---------------------------------------------------------------- what-if

fn calculate_payslip(mut input: CalcInput) -> Result<Payslip> {
    input.country = input.country.to_ascii_uppercase();
    if input.gross < 0 {
        return Err(Error::invalid(format!(
            "gross must not be negative (got {})",
            input.gross
        )));
    }
    input.profile = model::rules_profile(&settings()?, &input.country, &input.profile);
    payroll::calculate(&input)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Country {
    country: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct CountryRules {
    country: String,
    support: payroll::Support,
    profile_schema: serde_json::Value,
}

/// What the tenant's rules for a country support, and the JSON Schema of the tax
/// profile they accept: what a form for `set-employee` needs.
fn describe_country(input: Country) -> Result<CountryRules> {
    let country = input.country.to_ascii_uppercase();
    Ok(CountryRules {
        support: payroll::support(&country)?,
        profile_schema: payroll::profile_schema(&country)?,
        country,
    })
}

// ---------------------------------------------------------------- runs

/// Status of a pay run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    /// Computed, open for review; can be deleted and created again.
    Draft,
    /// Approved by a second person and posted to the ledger.
    Posted,
}

/// Totals of a run in one currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Totals {
    employees: u64,
    gross: i64,
    employee_taxes: i64,
    employee_contributions: i64,
    employer_contributions: i64,
    net: i64,
    /// Gross plus employer contributions: what the run costs the company.
    employer_cost: i64,
}

impl Totals {
    fn add(&mut self, slip: &Payslip) {
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
struct Run {
    id: String,
    status: Status,
    frequency: Frequency,
    period_start: Date,
    period_end: Date,
    pay_date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    created_by: String,
    created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approved_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ledger_entry: Option<String>,
    /// Per currency.
    totals: BTreeMap<String, Totals>,
    /// Per country.
    countries: BTreeMap<String, Totals>,
}

/// One employee's payslip in a run, with what it was computed from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Slip {
    employee: Employee,
    payslip: Payslip,
    /// The run whose posting produced the year-to-date figures used, if any; the
    /// approval checks they are still the latest.
    ytd_after_run: Option<String>,
}

/// Year-to-date figures of one employee, country and tax year.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Ytd {
    tax_year: String,
    figures: BTreeMap<String, i64>,
    /// The posted run that last updated them, or [`ytd::OPENING_MARK`] and a number
    /// for opening figures.
    run: String,
    /// The figures the year opened with, when entered by `set-opening-ytd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    opening: Option<ytd::Opening>,
}

fn ytd_key(employee: &str, country: &str, tax_year: &str) -> String {
    format!("ytd/{employee}/{country}/{tax_year}")
}

/// Whether the employee has year-to-date figures of any tax year in `country`.
fn has_ytd(employee: &str, country: &str) -> Result<bool> {
    Ok(!storage::scan_prefix(&format!("ytd/{employee}/{country}/"))
        .limit(1)
        .keys()?
        .is_empty())
}

fn run_key(id: &str) -> String {
    format!("run/{id}")
}

fn load_run(id: &str) -> Result<Run> {
    storage::get::<Run>(&run_key(id))?
        .ok_or_else(|| Error::not_found(format!("pay run {id} does not exist")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct CreateRun {
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
}

fn caller_name() -> String {
    context::caller().id.unwrap_or_else(|| "system".into())
}

fn create_run(input: CreateRun) -> Result<Run> {
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
    let overlapping: Vec<Run> = storage::scan_prefix("run/")
        .collect::<Run>()?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| {
            r.frequency == input.frequency
                && r.period_start <= input.period_end
                && r.period_end >= input.period_start
        })
        .collect();
    let mut hours = BTreeMap::new();
    for (id, text) in &input.hours {
        let h =
            model::parse_hours(text).map_err(|e| Error::invalid(format!("hours of {id}: {e}")))?;
        hours.insert(id.clone(), h);
    }
    let wanted: Option<BTreeSet<String>> = input.employees.map(|v| v.into_iter().collect());
    let employees: Vec<Employee> = all_employees(Some(input.period_end))?
        .into_iter()
        .filter(|e| e.frequency == input.frequency)
        .filter(|e| e.employed_during(input.period_start, input.period_end))
        .filter(|e| wanted.as_ref().is_none_or(|w| w.contains(&e.id)))
        .collect();
    if let Some(w) = &wanted {
        let found: BTreeSet<&String> = employees.iter().map(|e| &e.id).collect();
        if let Some(missing) = w.iter().find(|id| !found.contains(id)) {
            return Err(Error::invalid(format!(
                "employee {missing} is not paid {} in {} to {}, or does not exist",
                input.frequency, input.period_start, input.period_end
            )));
        }
    }
    if employees.is_empty() {
        return Err(Error::invalid(format!(
            "no employee is paid {} between {} and {}",
            input.frequency, input.period_start, input.period_end
        )));
    }
    // An employee is paid once per period and frequency: a draft covering them must
    // be deleted first; a posted run is a conflict. Runs for other employees (an
    // off-cycle run for a late joiner) may overlap.
    for r in &overlapping {
        if let Some(e) = employees.iter().find(|e| {
            storage::get_raw(&format!("slip/{}/{}", r.id, e.id)).is_ok_and(|v| v.is_some())
        }) {
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
    if let Some(stray) = hours
        .keys()
        .find(|id| !employees.iter().any(|e| &e.id == *id))
    {
        return Err(Error::invalid(format!(
            "hours are given for {stray}, who is not in this run"
        )));
    }
    let number = storage::get::<u64>("seq/run")?.unwrap_or(0) + 1;
    storage::put("seq/run", &number)?;
    let id = format!("r-{number:06}");
    let mut run = Run {
        id: id.clone(),
        status: Status::Draft,
        frequency: input.frequency,
        period_start: input.period_start,
        period_end: input.period_end,
        pay_date: input.pay_date,
        description: input.description,
        created_by: caller_name(),
        created_at: context::now().to_rfc3339(),
        approved_by: None,
        approved_at: None,
        ledger_entry: None,
        totals: BTreeMap::new(),
        countries: BTreeMap::new(),
    };
    let settings = settings()?;
    for emp in employees {
        let gross = model::gross_for_period(
            &emp,
            input.period_start,
            input.period_end,
            hours.get(&emp.id).copied(),
        )?;
        let mut calc = CalcInput {
            country: emp.country.clone(),
            pay_date: input.pay_date.to_string(),
            frequency: emp.frequency,
            gross,
            currency: emp.currency.clone(),
            ytd: BTreeMap::new(),
            profile: model::rules_profile(&settings, &emp.country, &emp.profile),
        };
        let in_employee = |e: Error| match e {
            Error::InvalidInput(m) => Error::invalid(format!("employee {}: {m}", emp.id)),
            other => other,
        };
        // The rules decide which tax year the pay date falls in: ask with no figures,
        // then, when the employee has figures of that year, compute with them. Runs
        // approved out of order (a late December run after January's) each carry
        // their own year's figures.
        let mut slip = payroll::calculate(&calc).map_err(in_employee)?;
        let mut ytd = None;
        if has_ytd(&emp.id, &emp.country)? {
            ytd = storage::get::<Ytd>(&ytd_key(&emp.id, &emp.country, &slip.tax_year))?;
            if let Some(y) = &ytd {
                calc.ytd = y.figures.clone();
                slip = payroll::calculate(&calc).map_err(in_employee)?;
            }
        }
        run.totals
            .entry(slip.currency.clone())
            .or_default()
            .add(&slip);
        run.countries
            .entry(slip.country.clone())
            .or_default()
            .add(&slip);
        storage::put(
            &format!("slip/{id}/{}", emp.id),
            &Slip {
                employee: emp,
                payslip: slip,
                ytd_after_run: ytd.map(|y| y.run),
            },
        )?;
    }
    storage::put(&run_key(&id), &run)?;
    Ok(run)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RunId {
    id: String,
}

#[derive(Debug, Serialize)]
struct Deleted {
    deleted: String,
    payslips: u64,
}

fn delete_run(input: RunId) -> Result<Deleted> {
    let run = load_run(&input.id)?;
    if run.status != Status::Draft {
        return Err(Error::conflict(format!(
            "run {} is posted; only drafts can be deleted (correct a posted run with an adjustment run)",
            run.id
        )));
    }
    let keys = storage::scan_prefix(&format!("slip/{}/", run.id)).keys()?;
    for k in &keys {
        storage::delete(k)?;
    }
    storage::delete(&run_key(&run.id))?;
    Ok(Deleted {
        deleted: run.id,
        payslips: keys.len() as u64,
    })
}

fn run_slips(id: &str) -> Result<Vec<Slip>> {
    let mut slips = Vec::new();
    for item in storage::scan_prefix(&format!("slip/{id}/")).iter::<Slip>() {
        slips.push(item?.1);
    }
    Ok(slips)
}

fn settings() -> Result<Settings> {
    Ok(storage::get::<Settings>("settings")?.unwrap_or_default())
}

fn approve_run(input: RunId) -> Result<Run> {
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
    let slips = run_slips(&run.id)?;
    for s in &slips {
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
    }
    let settings = settings()?;
    let payslips: Vec<&Payslip> = slips.iter().map(|s| &s.payslip).collect();
    let postings = model::run_postings(&settings, &payslips);
    let entry: serde_json::Value = plugins::call(
        "ledger",
        "post-entry",
        &serde_json::json!({
            "date": run.pay_date,
            "description": format!("Payroll {} {} to {}", run.id, run.period_start, run.period_end),
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
    for s in &slips {
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
        )?;
    }
    run.status = Status::Posted;
    run.approved_by = Some(approver);
    run.approved_at = Some(context::now().to_rfc3339());
    run.ledger_entry = entry["id"].as_str().map(str::to_string);
    storage::put(&run_key(&run.id), &run)?;
    events::emit(
        "payroll.run-approved",
        &serde_json::json!({
            "run": run.id,
            "frequency": run.frequency,
            "period-start": run.period_start,
            "period-end": run.period_end,
            "pay-date": run.pay_date,
            "created-by": run.created_by,
            "approved-by": run.approved_by,
            "ledger-entry": run.ledger_entry,
            "totals": run.totals,
        }),
    )?;
    Ok(run)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ListRuns {
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Debug, Serialize)]
struct Runs {
    runs: Vec<Run>,
}

fn list_runs(input: ListRuns) -> Result<Runs> {
    let mut runs = Vec::new();
    for item in storage::scan_prefix("run/").reverse().iter::<Run>() {
        let (_, r) = item?;
        if input.status.is_none_or(|s| s == r.status) {
            runs.push(r);
        }
    }
    Ok(Runs { runs })
}

fn get_run(input: RunId) -> Result<Run> {
    load_run(&input.id)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ListPayslips {
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
struct PayslipRow {
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
}

#[derive(Debug, Serialize)]
struct PayslipPage {
    payslips: Vec<PayslipRow>,
    next: Option<String>,
}

fn list_payslips(input: ListPayslips) -> Result<PayslipPage> {
    load_run(&input.run)?;
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
        })
        .collect();
    let next = page
        .next
        .and_then(|k| k.strip_prefix(&prefix).map(str::to_string));
    Ok(PayslipPage { payslips, next })
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Format {
    #[default]
    Json,
    Text,
    Html,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct GetPayslip {
    run: String,
    employee: String,
    #[serde(default)]
    format: Format,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct PayslipOut {
    run: String,
    status: Status,
    employee: Employee,
    payslip: Payslip,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<String>,
}

fn get_payslip(input: GetPayslip) -> Result<PayslipOut> {
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
    };
    let (text, html) = match input.format {
        Format::Json => (None, None),
        Format::Text => (
            Some(model::payslip_text(&header, &slip.payslip, exponent)),
            None,
        ),
        Format::Html => (
            None,
            Some(model::payslip_html(&header, &slip.payslip, exponent)),
        ),
    };
    Ok(PayslipOut {
        run: run.id,
        status: run.status,
        employee: slip.employee,
        payslip: slip.payslip,
        text,
        html,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct SummaryLine {
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
struct Summary {
    run: Run,
    lines: Vec<SummaryLine>,
}

fn run_summary(input: RunId) -> Result<Summary> {
    let run = load_run(&input.id)?;
    let mut lines: BTreeMap<(String, String, String), SummaryLine> = BTreeMap::new();
    for s in run_slips(&run.id)? {
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
    }
    Ok(Summary {
        run,
        lines: lines.into_values().collect(),
    })
}

// ---------------------------------------------------------------- settings

fn get_settings(_: Empty) -> Result<Settings> {
    settings()
}

fn set_settings(input: Settings) -> Result<Settings> {
    for name in [
        &input.wages_account,
        &input.employer_contributions_account,
        &input.net_pay_account,
        &input.liabilities_parent,
    ] {
        if name.trim().is_empty() || name.contains('/') {
            return Err(Error::invalid(format!(
                "account name {name:?} must be non-blank ':'-separated words without '/'"
            )));
        }
    }
    for (code, payee) in &input.payees {
        if payee.trim().is_empty() || payee.contains('/') {
            return Err(Error::invalid(format!(
                "payees.{code}: payee {payee:?} must be a non-blank account name part without '/'"
            )));
        }
    }
    // The employer's part of each country's profile is checked by that country's
    // rules now, with a zero payslip dated today, rather than at the next run.
    for (country, employer) in &input.employer {
        let in_employer = |e: Error| match e {
            Error::InvalidInput(m) => Error::invalid(format!("employer.{country}: {m}")),
            other => other,
        };
        if !employer.is_object() {
            return Err(Error::invalid(format!(
                "employer.{country} must be a JSON object (the employer's part of the {country} tax profile), got {employer}"
            )));
        }
        let support = payroll::support(country).map_err(in_employer)?;
        let frequency = *support.frequencies.first().ok_or_else(|| {
            Error::invalid(format!(
                "employer.{country}: the rules support no pay frequency"
            ))
        })?;
        payroll::calculate(&CalcInput {
            country: country.clone(),
            pay_date: context::today().to_string(),
            frequency,
            gross: 0,
            currency: support.currency.clone(),
            ytd: BTreeMap::new(),
            profile: serde_json::json!({"employer": employer}),
        })
        .map_err(in_employer)?;
    }
    storage::put("settings", &input)?;
    Ok(input)
}

#[derive(Debug, Serialize)]
struct SetupLedger {
    created: Vec<String>,
    existing: Vec<String>,
}

/// Create the ledger accounts payroll posts to, where missing: the configured ones,
/// and a liability account for each country with rules enabled but no authorities
/// configured (where its lines are posted, see [`Settings::liability_account`]).
fn setup_ledger(_: Empty) -> Result<SetupLedger> {
    let settings = settings()?;
    let mut accounts = settings.accounts();
    for country in payroll::countries() {
        if !settings.authorities.contains_key(&country) {
            let name = settings.liability_account(&country, LineKind::EmployeeTax);
            if !accounts.iter().any(|(n, _)| *n == name) {
                accounts.push((name, "liability"));
            }
        }
    }
    let listed: serde_json::Value = plugins::call(
        "ledger",
        "list-accounts",
        &serde_json::json!({"include-closed": true}),
    )?;
    let known: BTreeSet<String> = listed["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str().map(str::to_string))
        .collect();
    let mut out = SetupLedger {
        created: Vec::new(),
        existing: Vec::new(),
    };
    for (name, kind) in accounts {
        if known.contains(&name) {
            out.existing.push(name);
            continue;
        }
        let _: serde_json::Value = plugins::call(
            "ledger",
            "create-account",
            &serde_json::json!({"name": name, "type": kind, "description": "Created by payroll setup-ledger"}),
        )?;
        out.created.push(name);
    }
    Ok(out)
}
