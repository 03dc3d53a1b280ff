//! The tenant's payroll settings and the ledger accounts they name.

use std::collections::{BTreeMap, BTreeSet};

use backoffice_sdk::payroll::{CalcInput, LineKind, v0_2 as payroll};
use backoffice_sdk::prelude::*;
use serde::Serialize;

use crate::model::Settings;

/// The tenant's payroll settings (accounts, authorities, employer profiles).
pub(crate) fn settings() -> Result<Settings> {
    Ok(storage::get::<Settings>("settings")?.unwrap_or_default())
}

pub(crate) fn get_settings(_: Empty) -> Result<Settings> {
    settings()
}

pub(crate) fn set_settings(mut input: Settings) -> Result<Settings> {
    input.payments = input.payments.checked().map_err(Error::invalid)?;
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
pub(crate) struct SetupLedger {
    created: Vec<String>,
    existing: Vec<String>,
}

/// Create the ledger accounts payroll posts to, where missing: the configured ones,
/// and a liability account for each country with rules enabled but no authorities
/// configured (where its lines are posted, see [`Settings::liability_account`]).
pub(crate) fn setup_ledger(_: Empty) -> Result<SetupLedger> {
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
