//! The storage layout. Keys:
//!
//! | key | value |
//! |---|---|
//! | `emp/<id>` | [`Employee`] |
//! | `course/<code>` | [`Course`] |
//! | `asg/<employee>/<course>` | [`Assignment`] |
//! | `cmp/<employee>/<course>/<seq:012>` | [`Completion`], never rewritten |
//! | `seq` | the last completion sequence number |
//! | `rem/<topic>/<employee>/<course>` | the business date of the last reminder |
//! | `settings` | [`Settings`] |

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use jiff::civil::Date;

use crate::model::{Assignment, Completion, Course, Employee, Settings, completion_id};

/// One employee.
pub fn employee(id: &str) -> Result<Option<Employee>> {
    storage::get(&format!("emp/{id}"))
}

/// Write an employee.
pub fn put_employee(e: &Employee) -> Result<()> {
    storage::put(&format!("emp/{}", e.id), e)
}

/// Every employee, by id.
pub fn employees() -> Result<Vec<Employee>> {
    Ok(storage::scan_prefix("emp/")
        .collect::<Employee>()?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// One course.
pub fn course(code: &str) -> Result<Option<Course>> {
    storage::get(&format!("course/{code}"))
}

/// Write a course.
pub fn put_course(c: &Course) -> Result<()> {
    storage::put(&format!("course/{}", c.code), c)
}

/// Every course, by code.
pub fn courses() -> Result<BTreeMap<String, Course>> {
    Ok(storage::scan_prefix("course/")
        .collect::<Course>()?
        .into_iter()
        .map(|(_, c)| (c.code.clone(), c))
        .collect())
}

fn assignment_key(employee: &str, course: &str) -> String {
    format!("asg/{employee}/{course}")
}

/// The assignment of `course` to `employee`.
pub fn assignment(employee: &str, course: &str) -> Result<Option<Assignment>> {
    storage::get(&assignment_key(employee, course))
}

/// Write an assignment.
pub fn put_assignment(a: &Assignment) -> Result<()> {
    storage::put(&assignment_key(&a.employee, &a.course), a)
}

/// Remove an assignment.
pub fn delete_assignment(employee: &str, course: &str) -> Result<()> {
    storage::delete(&assignment_key(employee, course)).map(|_| ())
}

/// Every assignment of one employee, or of everyone.
pub fn assignments(employee: Option<&str>) -> Result<Vec<Assignment>> {
    let prefix = match employee {
        Some(e) => format!("asg/{e}/"),
        None => "asg/".to_owned(),
    };
    Ok(storage::scan_prefix(&prefix)
        .collect::<Assignment>()?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

/// Completions of one employee (and course), or of everyone, in (employee, course,
/// recording) order.
pub fn completions(employee: Option<&str>, course: Option<&str>) -> Result<Vec<Completion>> {
    let prefix = match (employee, course) {
        (Some(e), Some(c)) => format!("cmp/{e}/{c}/"),
        (Some(e), None) => format!("cmp/{e}/"),
        _ => "cmp/".to_owned(),
    };
    Ok(storage::scan_prefix(&prefix)
        .collect::<Completion>()?
        .into_iter()
        .map(|(_, c)| c)
        .filter(|c| course.is_none_or(|code| c.course == code))
        .collect())
}

/// A completion to record.
pub struct NewCompletion {
    /// Employee id.
    pub employee: String,
    /// Course (current version).
    pub course: Course,
    /// Date taken.
    pub date: Date,
    /// Score.
    pub score: u8,
    /// Certificate reference.
    pub certificate: Option<String>,
    /// Manual or import.
    pub source: crate::model::Source,
}

/// Append completions with the next ids; the call's transaction makes them atomic.
pub fn append_completions(new: Vec<NewCompletion>) -> Result<Vec<Completion>> {
    let mut seq = storage::get::<u64>("seq")?.unwrap_or(0);
    let now = context::now();
    let by = context::caller().id;
    let mut out = Vec::with_capacity(new.len());
    for n in new {
        seq += 1;
        let c = Completion {
            id: completion_id(seq),
            employee: n.employee,
            passed: n.score >= n.course.pass_mark,
            course: n.course.code,
            course_version: n.course.version,
            date: n.date,
            score: n.score,
            certificate: n.certificate,
            recorded_at: now,
            recorded_by: by.clone(),
            source: n.source,
        };
        storage::put(&format!("cmp/{}/{}/{seq:012}", c.employee, c.course), &c)?;
        out.push(c);
    }
    storage::put("seq", &seq)?;
    Ok(out)
}

/// When the reminder `topic` was last sent for the pair.
pub fn last_reminder(topic: &str, employee: &str, course: &str) -> Result<Option<Date>> {
    storage::get(&format!("rem/{topic}/{employee}/{course}"))
}

/// Record that the reminder was sent on `day`.
pub fn put_reminder(topic: &str, employee: &str, course: &str, day: Date) -> Result<()> {
    storage::put(&format!("rem/{topic}/{employee}/{course}"), &day)
}

/// The settings.
pub fn settings() -> Result<Settings> {
    Ok(storage::get("settings")?.unwrap_or_default())
}

/// Write the settings.
pub fn put_settings(s: &Settings) -> Result<()> {
    storage::put("settings", s)
}
