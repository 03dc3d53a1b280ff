//! Employees: effective-dated records (`emp/<id>/<effective-date>`), and the
//! operations that compute one payslip or describe a country's rules without a run.

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{CalcInput, Frequency, v0_2 as payroll};
use backoffice_sdk::prelude::*;
use backoffice_sdk::storage::KeyRange;
use serde::{Deserialize, Serialize};

use crate::bank::BankAccount;
use crate::model::{self, Basis, Employee};
use crate::settings::settings;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct SetEmployee {
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
    /// Left out: the previous version's account is kept; `null`: removed.
    #[serde(default, deserialize_with = "present")]
    bank: Option<Option<BankAccount>>,
}

/// A field given (even as `null`) as `Some`, so a left-out field stays `None`.
fn present<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

fn emp_prefix(id: &str) -> String {
    format!("emp/{id}/")
}

/// The version of employee `id` in force on `date` (the latest one when `None`).
pub(crate) fn employee_as_of(id: &str, date: Option<Date>) -> Result<Option<Employee>> {
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

pub(crate) fn set_employee(input: SetEmployee) -> Result<Employee> {
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
    let bank = match input.bank {
        Some(Some(account)) => Some(account.checked("bank").map_err(Error::invalid)?),
        Some(None) => None,
        None => previous.as_ref().and_then(|p| p.bank.clone()),
    };
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
    if profile.get("payment").is_some() {
        return Err(Error::invalid(format!(
            "employee {}: profile payment is set per payment by payroll (a bonus run sets \"bonus\"), not stored with the employee; remove it",
            input.id
        )));
    }
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
        bank,
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
    Ok(employee.masked())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct GetEmployee {
    id: String,
    #[serde(default)]
    as_of: Option<Date>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct EmployeeOut {
    employee: Employee,
    history: Vec<Employee>,
}

pub(crate) fn get_employee(input: GetEmployee) -> Result<EmployeeOut> {
    let employee = employee_as_of(&input.id, input.as_of)?.ok_or_else(|| {
        Error::not_found(match input.as_of {
            Some(d) => format!("employee {} has no record in force on {d}", input.id),
            None => format!("employee {} does not exist", input.id),
        })
    })?;
    Ok(EmployeeOut {
        employee: employee.masked(),
        history: employee_history(&input.id)?
            .into_iter()
            .map(Employee::masked)
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct ListEmployees {
    #[serde(default)]
    as_of: Option<Date>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    include_former: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Employees {
    employees: Vec<Employee>,
}

/// Every employee's version in force on `as_of` (latest when `None`).
pub(crate) fn all_employees(as_of: Option<Date>) -> Result<Vec<Employee>> {
    let mut latest: BTreeMap<String, Employee> = BTreeMap::new();
    for_each_employee(as_of, |e| {
        latest.insert(e.id.clone(), e);
        Ok(())
    })?;
    Ok(latest.into_values().collect())
}

/// Records read per round trip by [`for_each_employee`]: a page of records is all
/// that sits in memory at once.
pub(crate) const EMPLOYEE_PAGE: u32 = 200;

/// Each employee's version in force on `as_of` (latest when `None`), in key order,
/// one at a time: the records are scanned page by page, and an employee's versions
/// (`emp/<id>/<effective-date>`, contiguous and in date order) are reduced to the
/// one in force before `f` sees it. Employees hired after `as_of` are skipped.
pub(crate) fn for_each_employee(
    as_of: Option<Date>,
    mut f: impl FnMut(Employee) -> Result<()>,
) -> Result<()> {
    let mut current: Option<Employee> = None;
    for item in storage::scan_prefix("emp/")
        .page_size(EMPLOYEE_PAGE)
        .iter::<Employee>()
    {
        let (_, e) = item?;
        if current.as_ref().is_some_and(|c| c.id != e.id)
            && let Some(done) = current.take()
        {
            f(done)?;
        }
        if as_of.is_some_and(|d| e.effective_date > d) {
            continue;
        }
        current = Some(e);
    }
    if let Some(done) = current {
        f(done)?;
    }
    Ok(())
}

pub(crate) fn list_employees(input: ListEmployees) -> Result<Employees> {
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
        .map(Employee::masked)
        .collect();
    Ok(Employees { employees })
}

// ---------------------------------------------------------------- what-if

pub(crate) fn calculate_payslip(mut input: CalcInput) -> Result<crate::provenance::Preview> {
    input.country = input.country.to_ascii_uppercase();
    if input.gross < 0 {
        return Err(Error::invalid(format!(
            "gross must not be negative (got {})",
            input.gross
        )));
    }
    input.profile = model::rules_profile(&settings()?, &input.country, &input.profile);
    crate::provenance::preview(&input)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct Country {
    country: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct CountryRules {
    country: String,
    support: payroll::Support,
    profile_schema: serde_json::Value,
}

/// What the tenant's rules for a country support, and the JSON Schema of the tax
/// profile they accept: what a form for `set-employee` needs.
pub(crate) fn describe_country(input: Country) -> Result<CountryRules> {
    let country = input.country.to_ascii_uppercase();
    Ok(CountryRules {
        support: payroll::support(&country)?,
        profile_schema: payroll::profile_schema(&country)?,
        country,
    })
}
