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
//! | `run/<run-id>` | [`runs::Run`] |
//! | `slip/<run-id>/<employee-id>` | [`runs::Slip`], with the rules plugin that computed it (`rules`, absent on payslips stored before 0.2.0 of the engine was used) |
//! | `ytd/<employee-id>/<country>/<tax-year>` | [`runs::Ytd`]: the tax year's figures after the last posted run (or the opening figures) |
//! | `adj/<run-id>/<adjustment-run-id>` | the employees an adjustment run corrects |
//! | `filing/941/<year>-Q<quarter>`, `filing/lsta/<year>-<month>`, `filing/w2/<year>/<employee-id>` | [`corrections::Recorded`] snapshots of a filing as filed, oldest first (`record-filing`) |
//! | `seq/run` | last run number |
//! | `seq/opening` | last number of an opening-figures entry |
//! | `settings` | [`model::Settings`] |

use backoffice_sdk::prelude::*;

pub mod adjust;
pub mod bank;
pub mod corrections;
pub mod efw2;
pub mod efw2c;
mod employees;
pub mod filings;
mod fps_ni;
mod fps_xml;
pub mod model;
pub mod payfile;
mod payments;
mod payslips;
mod provenance;
mod runs;
mod settings;
pub mod ytd;

use employees::{calculate_payslip, describe_country, get_employee, list_employees, set_employee};
use payslips::{get_payslip, list_payslips, run_summary};
use runs::{approve_run, create_run, delete_run, get_run, list_runs};
use settings::{get_settings, set_settings, setup_ledger};

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
            .op("payment-file", payments::payment_file)
            .op("form-941", filings::form_941_op)
            .op("form-w2", filings::w2_op)
            .op("rti-fps", filings::fps_op)
            .op("rti-fps-xml", fps_xml::fps_xml_op)
            .op("lohnsteuer-anmeldung", filings::lohnsteuer_anmeldung_op)
            .op("create-adjustment", adjust::create_adjustment)
            .op("record-filing", corrections::record_filing)
            .op("form-941-x", corrections::form_941x_op)
            .op("form-w2c", corrections::w2c_op)
            .op("form-w2-efw2", efw2::efw2_op)
            .op("form-w2c-efw2c", efw2c::efw2c_op)
            .op(
                "lohnsteuer-anmeldung-berichtigung",
                corrections::berichtigung_op,
            )
    }
}

backoffice_sdk::export_plugin!(Payroll);

/// Who is calling, for `created-by` and `approved-by`: the user id, or `system`.
fn caller_name() -> String {
    context::caller().id.unwrap_or_else(|| "system".into())
}
