//! The `payment-file` operation: an approved run's net pay as a bank payment file
//! (see [`crate::payfile`] for the formats), recorded on the run.

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::caller_name;
use crate::employees::all_employees;
use crate::payfile::{self, Batch, Format, Payee};
use crate::runs::{Status, load_run, run_key, run_slips};
use crate::settings::settings;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct PaymentFileInput {
    run: String,
    format: Format,
    /// Requested execution (SEPA), processing (Bacs) or effective entry (NACHA)
    /// date; the run's pay date when left out.
    #[serde(default)]
    execution_date: Option<Date>,
    /// Only these employees (a part of a run too large for one file); all when
    /// left out.
    #[serde(default)]
    employees: Option<Vec<String>>,
}

/// The largest file returned: the host takes at most 4 MiB of JSON output from a
/// call, and the rest of the answer and JSON escaping need some room.
const MAX_CONTENT_BYTES: usize = 4_000_000;

/// A payment file made for a run, as the run records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Produced {
    pub(crate) format: Format,
    pub(crate) filename: String,
    pub(crate) sha256: String,
    pub(crate) currency: String,
    pub(crate) payees: u64,
    pub(crate) total: i64,
    pub(crate) execution_date: Date,
    pub(crate) produced_by: String,
    pub(crate) produced_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct PaymentFileOut {
    run: String,
    #[serde(flatten)]
    produced: Produced,
    /// The run's net pay total in the currency: equal to `total` unless some payslip
    /// has a negative net pay (never paid by file).
    run_net_total: i64,
    content: String,
}

pub(crate) fn payment_file(input: PaymentFileInput) -> Result<PaymentFileOut> {
    let mut run = load_run(&input.run)?;
    if run.status != Status::Posted {
        return Err(Error::conflict(format!(
            "run {} is a draft: payment files are made only for approved runs; approve it first (approve-run)",
            run.id
        )));
    }
    let currency = input.format.currency();
    let execution_date = input.execution_date.unwrap_or(run.pay_date);
    let mut payees = Vec::new();
    let mut unpaid = Vec::new();
    let slips = run_slips(&run.id)?;
    // Every employee's latest record, in one pass over the records.
    let mut latest: std::collections::BTreeMap<String, crate::model::Employee> =
        all_employees(None)?
            .into_iter()
            .map(|e| (e.id.clone(), e))
            .collect();
    if let Some(wanted) = &input.employees {
        for id in wanted {
            let paid = slips.iter().any(|s| {
                &s.employee.id == id && s.payslip.currency == currency && s.payslip.net > 0
            });
            if !paid {
                return Err(Error::invalid(format!(
                    "employees: {id} has no payslip in run {} with a positive net pay in {currency}",
                    run.id
                )));
            }
        }
    }
    for slip in slips {
        if slip.payslip.currency != currency || slip.payslip.net <= 0 {
            continue;
        }
        if input
            .employees
            .as_ref()
            .is_some_and(|w| !w.contains(&slip.employee.id))
        {
            continue;
        }
        // The account is the employee's latest: the one they asked to be paid to now.
        let current = latest.remove(&slip.employee.id).unwrap_or(slip.employee);
        match &current.bank {
            Some(account) if account.scheme() == input.format.scheme() => payees.push(Payee {
                employee: current.id.clone(),
                name: current.name.clone(),
                amount: slip.payslip.net,
                account: account.clone(),
            }),
            Some(account) => unpaid.push(format!(
                "{} has a {} account, not a {} one",
                current.id,
                account.scheme(),
                input.format.scheme()
            )),
            None => unpaid.push(format!("{} has no bank account", current.id)),
        }
    }
    if !unpaid.is_empty() {
        return Err(Error::invalid(format!(
            "cannot pay run {} by {} file: {}; set each one's bank with set-employee (scheme {})",
            run.id,
            input.format.as_str(),
            unpaid.join("; "),
            input.format.scheme()
        )));
    }
    if payees.is_empty() {
        return Err(Error::invalid(format!(
            "run {} pays no one in {currency} (a {} file pays {currency} only)",
            run.id,
            input.format.as_str()
        )));
    }
    let now = context::now();
    let created = Timestamp::new(now.seconds(), 0)?.to_rfc3339();
    let sequence = u32::try_from(run.payment_files.len()).unwrap_or(u32::MAX);
    let batch = Batch {
        run: &run.id,
        sequence,
        period_start: run.period_start,
        period_end: run.period_end,
        execution_date,
        created: &created,
        payees: &payees,
    };
    let file =
        payfile::generate(input.format, &batch, &settings()?.payments).map_err(Error::invalid)?;
    if file.content.len() > MAX_CONTENT_BYTES {
        return Err(Error::invalid(format!(
            "the {} file for {} payees would be {} bytes, more than one call returns ({MAX_CONTENT_BYTES}); make it in parts, listing each part's employees in `employees`",
            input.format.as_str(),
            payees.len(),
            file.content.len()
        )));
    }
    let total: i64 = payees.iter().map(|p| p.amount).sum();
    let produced = Produced {
        format: input.format,
        filename: file.filename,
        sha256: sha256_hex(file.content.as_bytes()),
        currency: currency.to_string(),
        payees: payees.len() as u64,
        total,
        execution_date,
        produced_by: caller_name(),
        produced_at: now.to_rfc3339(),
    };
    run.payment_files.push(produced.clone());
    storage::put(&run_key(&run.id), &run)?;
    Ok(PaymentFileOut {
        run_net_total: run.totals.get(currency).map_or(0, |t| t.net),
        run: run.id,
        produced,
        content: file.content,
    })
}

/// SHA-256 of `bytes` as 64 lower-case hex digits.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
