//! The training tracker: a roster of employees (kept by hand or from payroll's
//! `payroll.employee-changed` events), courses with validity periods and pass marks,
//! assignments made automatically for the roles and departments a course is mandatory
//! for (or by hand), an immutable history of completions, certification status per
//! employee and course, compliance reports, daily reminders as events and CSV import.
//! See `docs/plugins/training.md` for every operation.
//!
//! Pure logic lives in [`dates`], [`model`], [`status`] and [`csv`] (unit-tested
//! natively); [`store`] holds the storage layout; [`roster`], [`records`] and
//! [`reports`] glue them to the operations, the event and the job.

use backoffice_sdk::prelude::*;
use jiff::civil::Date;

pub mod csv;
pub mod dates;
#[cfg(test)]
mod fuzz;
pub mod model;
mod records;
mod reports;
mod roster;
pub mod status;
pub mod store;

/// The plugin.
pub struct Training;

/// The topic payroll emits when an employee is hired or their details change.
pub const EMPLOYEE_CHANGED: &str = "payroll.employee-changed";

/// The daily reminder job.
pub const REMINDER_JOB: &str = "send-reminders";

impl Plugin for Training {
    fn operations() -> Operations {
        Operations::new()
            .op("set-employee", roster::set_employee)
            .op("list-employees", roster::list_employees)
            .op("set-course", roster::set_course)
            .op("list-courses", roster::list_courses)
            .op("assign", roster::assign)
            .op("unassign", roster::unassign)
            .op("record-completion", records::record_completion)
            .op("list-completions", records::list_completions)
            .op("import-completions", records::import_completions)
            .op("status", reports::status)
            .op("report", reports::report)
            .op("configure", reports::configure)
            .op("send-reminders", reports::send_reminders)
    }

    fn on_event(topic: &str, payload: serde_json::Value) -> Result<()> {
        match topic {
            EMPLOYEE_CHANGED => roster::employee_changed(payload),
            _ => Ok(()),
        }
    }

    fn run_job(job: &str, _payload: serde_json::Value) -> Result<()> {
        match job {
            REMINDER_JOB => {
                let sent = reports::remind()?;
                log::info(format!("sent {} training reminders", sent.len()));
                Ok(())
            }
            _ => Err(Error::not_found(format!("unknown job {job}"))),
        }
    }
}

backoffice_sdk::export_plugin!(Training);

/// The business date of this call in the tenant's time zone.
pub(crate) fn today() -> Date {
    dates::business_date(context::now().seconds(), &context::time_zone())
}
