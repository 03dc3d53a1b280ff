//! The `payment-file` operation: an approved run's net pay as a bank payment file
//! (see [`crate::payfile`] for the formats), recorded on the run.

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::collections::{BTreeMap, BTreeSet};

use backoffice_sdk::storage::KeyRange;

use crate::caller_name;
use crate::employees::{EMPLOYEE_PAGE, employee_as_of};
use crate::model::Employee;
use crate::payfile::{self, Batch, Format, Payee};
use crate::runs::{Slip, Status, load_run, run_key};
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
    /// The run's payees split into `parts` files of nearly equal size, in employee
    /// order: this call makes part `part` (1 to `parts`). Each part is a complete
    /// file of its own.
    #[serde(default)]
    part: Option<u32>,
    #[serde(default)]
    parts: Option<u32>,
}

/// The largest file returned: the host takes at most 4 MiB of JSON output from a
/// call, and the rest of the answer and JSON escaping need some room.
const MAX_CONTENT_BYTES: usize = 4_000_000;

/// The most parts a run's payments are split into.
const MAX_PARTS: u32 = 1000;

/// Payslips read per round trip while a file is made: the payslips of a page are all
/// that sit in memory besides the file's payees.
const SLIP_PAGE: u32 = 250;

/// The most accounts named in the error of a run some payees of which cannot be paid
/// (the count of the others follows).
const MAX_NAMED: usize = 20;

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
    /// A file made in parts: which one, and of how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) part: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parts: Option<u32>,
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
    /// A file made in parts: the payees and total of all the parts together.
    #[serde(skip_serializing_if = "Option::is_none")]
    all_parts: Option<AllParts>,
    content: String,
}

/// What all the parts of a run's payment in one format pay together.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct AllParts {
    payees: u64,
    total: i64,
}

/// Which of the run's payees the call pays: `employees`, one part, or all.
enum Selection {
    All,
    Employees(BTreeSet<String>),
    Part { part: u32, parts: u32 },
}

fn selection(input: &PaymentFileInput) -> Result<Selection> {
    match (&input.employees, input.part, input.parts) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(Error::invalid(
            "give either employees or part and parts, not both",
        )),
        (Some(list), None, None) => Ok(Selection::Employees(list.iter().cloned().collect())),
        (None, None, None) => Ok(Selection::All),
        (None, Some(part), Some(parts)) => {
            if !(1..=MAX_PARTS).contains(&parts) {
                return Err(Error::invalid(format!(
                    "parts is {parts}: give the number of files to split the run's payments into, 1 to {MAX_PARTS}"
                )));
            }
            if !(1..=parts).contains(&part) {
                return Err(Error::invalid(format!(
                    "part is {part}: give which of the {parts} parts to make, 1 to {parts}"
                )));
            }
            Ok(Selection::Part { part, parts })
        }
        (None, Some(_), None) | (None, None, Some(_)) => Err(Error::invalid(
            "give part and parts together: \"parts\": 3, \"part\": 1 makes the first of three files",
        )),
    }
}

/// One payslip the file could pay: its employee and net pay.
struct Due {
    employee: String,
    net: i64,
}

/// Each payslip of the run in `currency` with a positive net pay (the payees of a
/// file in that currency), in employee order, with the employee's latest record,
/// one page of payslips (and their employees' records) in memory at a time.
fn for_each_due(
    run: &str,
    currency: &str,
    mut f: impl FnMut(Due, Option<Employee>) -> Result<()>,
) -> Result<()> {
    let mut page = Vec::with_capacity(SLIP_PAGE as usize);
    for item in storage::scan_prefix(&format!("slip/{run}/"))
        .page_size(SLIP_PAGE)
        .iter::<Slip>()
    {
        let (_, slip) = item?;
        if slip.payslip.currency == currency && slip.payslip.net > 0 {
            page.push(Due {
                employee: slip.employee.id,
                net: slip.payslip.net,
            });
            if page.len() == SLIP_PAGE as usize {
                pay_page(&mut page, &mut f)?;
            }
        }
    }
    pay_page(&mut page, &mut f)
}

/// Hand each payslip of `page` to `f` with its employee's latest record, read in one
/// scan of the page's range of employee records where it can be (each employee
/// alone otherwise), and empty the page.
fn pay_page(
    page: &mut Vec<Due>,
    f: &mut impl FnMut(Due, Option<Employee>) -> Result<()>,
) -> Result<()> {
    let (Some(first), Some(last)) = (page.first(), page.last()) else {
        return Ok(());
    };
    let mut latest: BTreeMap<String, Employee> = BTreeMap::new();
    let (start, end) = (
        format!("emp/{}/", first.employee),
        format!("emp/{}/~", last.employee),
    );
    if start < end {
        let wanted: BTreeSet<&str> = page.iter().map(|d| d.employee.as_str()).collect();
        for item in storage::scan(KeyRange::between(start, end))
            .page_size(EMPLOYEE_PAGE)
            .iter::<Employee>()
        {
            let (_, e) = item?;
            // Versions come in date order: the last one is the latest.
            if wanted.contains(e.id.as_str()) {
                latest.insert(e.id.clone(), e);
            }
        }
    }
    for due in page.drain(..) {
        let employee = match latest.remove(&due.employee) {
            Some(e) => Some(e),
            None => employee_as_of(&due.employee, None)?,
        };
        f(due, employee)?;
    }
    Ok(())
}

pub(crate) fn payment_file(input: PaymentFileInput) -> Result<PaymentFileOut> {
    let selection = selection(&input)?;
    let mut run = load_run(&input.run)?;
    if run.status != Status::Posted {
        return Err(Error::conflict(format!(
            "run {} is a draft: payment files are made only for approved runs; approve it first (approve-run)",
            run.id
        )));
    }
    let currency = input.format.currency();
    let execution_date = input.execution_date.unwrap_or(run.pay_date);
    let scheme = input.format.scheme();
    // First pass: every payee of the selection has an account of the scheme (the
    // employee's latest record: the account they asked to be paid to now), counted
    // and summed. Without parts, the file pays every payee the pass sees, so the
    // payees are kept as they come (while no problem is found) and the payslips are
    // read once; with parts, only counts and the first few problems are kept, and a
    // second pass picks the part's payees once the count is known.
    let single_pass = !matches!(selection, Selection::Part { .. });
    let (mut count, mut sum) = (0u64, 0i64);
    let mut unpaid = Vec::new();
    let mut unpaid_count = 0usize;
    let mut listed = BTreeSet::new();
    let mut payees = Vec::new();
    for_each_due(&run.id, currency, |due, employee| {
        if let Selection::Employees(wanted) = &selection {
            if !wanted.contains(&due.employee) {
                return Ok(());
            }
            listed.insert(due.employee.clone());
        }
        count += 1;
        sum += due.net;
        let (current, account) = match employee {
            Some(mut e) => {
                let account = e.bank.take();
                (Some(e), account)
            }
            None => (None, None),
        };
        let problem = match (&current, account) {
            (Some(e), Some(account)) if account.scheme() == scheme => {
                if single_pass && unpaid_count == 0 {
                    payees.push(Payee {
                        employee: e.id.clone(),
                        name: e.name.clone(),
                        amount: due.net,
                        account,
                    });
                }
                None
            }
            (_, Some(account)) => Some(format!(
                "{} has a {} account, not a {scheme} one",
                due.employee,
                account.scheme()
            )),
            (_, None) => Some(format!("{} has no bank account", due.employee)),
        };
        if let Some(p) = problem {
            unpaid_count += 1;
            // The call is refused: the payees kept so far are of no use.
            payees = Vec::new();
            if unpaid.len() < MAX_NAMED {
                unpaid.push(p);
            }
        }
        Ok(())
    })?;
    if let Selection::Employees(wanted) = &selection
        && let Some(id) = wanted.iter().find(|id| !listed.contains(*id))
    {
        return Err(Error::invalid(format!(
            "employees: {id} has no payslip in run {} with a positive net pay in {currency}",
            run.id
        )));
    }
    if unpaid_count > 0 {
        let more = if unpaid_count > unpaid.len() {
            format!(" and {} more", unpaid_count - unpaid.len())
        } else {
            String::new()
        };
        return Err(Error::invalid(format!(
            "cannot pay run {} by {} file: {}{more}; set each one's bank with set-employee (scheme {scheme})",
            run.id,
            input.format.as_str(),
            unpaid.join("; "),
        )));
    }
    if count == 0 {
        return Err(Error::invalid(format!(
            "run {} pays no one in {currency} (a {} file pays {currency} only)",
            run.id,
            input.format.as_str()
        )));
    }
    // The payees of this file: parts are consecutive runs of payees in employee
    // order, as equal as can be (part k of p holds payees k*n/p up to (k+1)*n/p).
    let (from, to) = match selection {
        Selection::Part { part, parts } => {
            if u64::from(parts) > count {
                return Err(Error::invalid(format!(
                    "run {} pays {count} employees by {} file, fewer than the {parts} parts asked for; ask for at most {count} parts",
                    run.id,
                    input.format.as_str()
                )));
            }
            let at = |k: u32| count * u64::from(k) / u64::from(parts);
            (at(part - 1), at(part))
        }
        _ => (0, count),
    };
    // Second pass, for a part only: this file's payees.
    let mut index = 0u64;
    if !single_pass {
        for_each_due(&run.id, currency, |due, employee| {
            if let Selection::Employees(wanted) = &selection
                && !wanted.contains(&due.employee)
            {
                return Ok(());
            }
            let at = index;
            index += 1;
            if !(from..to).contains(&at) {
                return Ok(());
            }
            let current = employee.ok_or_else(|| {
                Error::internal(format!("employee {} has no record", due.employee))
            })?;
            let account = current.bank.ok_or_else(|| {
                Error::internal(format!("employee {} has no bank account", due.employee))
            })?;
            payees.push(Payee {
                employee: current.id,
                name: current.name,
                amount: due.net,
                account,
            });
            Ok(())
        })?;
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
        // The same size per payee in parts: enough parts for each to fit.
        let per_file =
            payees.len().max(1) as u128 * MAX_CONTENT_BYTES as u128 / file.content.len() as u128;
        let parts_needed = count.div_ceil(per_file.max(1) as u64);
        return Err(Error::invalid(format!(
            "the {} file for {} payees would be {} bytes, more than one call returns ({MAX_CONTENT_BYTES}); make it in parts: \"parts\": {parts_needed} and \"part\": 1 to {parts_needed}, each a complete file (or list each part's employees in `employees`)",
            input.format.as_str(),
            payees.len(),
            file.content.len()
        )));
    }
    let total: i64 = payees.iter().map(|p| p.amount).sum();
    let (part, parts) = match selection {
        Selection::Part { part, parts } => (Some(part), Some(parts)),
        _ => (None, None),
    };
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
        part,
        parts,
    };
    drop(payees);
    run.payment_files.push(produced.clone());
    storage::put(&run_key(&run.id), &run)?;
    Ok(PaymentFileOut {
        run_net_total: run.totals.get(currency).map_or(0, |t| t.net),
        run: run.id,
        produced,
        all_parts: part.map(|_| AllParts {
            payees: count,
            total: sum,
        }),
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
