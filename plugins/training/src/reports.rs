//! Status and reports: `status`, `report`, `configure`, and the reminders sent by the
//! daily job (or `send-reminders`) as `training.expiring` / `training.overdue` events.

use std::collections::BTreeMap;

use backoffice_sdk::notify;
use backoffice_sdk::prelude::*;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::model::{
    Assignment, Completion, Course, DEFAULT_EXPIRING_WINDOW_DAYS, DEFAULT_REMINDER_INTERVAL_DAYS,
    Employee, Settings,
};
use crate::status::{self, Status, Tally};
use crate::{dates, store, today};

/// The tenant setting (`[[settings]]` in plugin.toml) for the expiring window.
pub const WINDOW_SETTING: &str = "expiring-window-days";
/// The tenant setting for the reminder interval.
pub const INTERVAL_SETTING: &str = "reminder-interval-days";

/// Settings in force: the tenant setting, else the value the deprecated `configure`
/// stored (before 0.1.1 it overrode the setting), else the default. The two settings
/// declare no default in plugin.toml so that a stored value keeps applying until the
/// tenant sets the setting.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Effective {
    /// Days before expiry that count as expiring.
    pub expiring_window_days: u32,
    /// Days before the same reminder is sent again.
    pub reminder_interval_days: u32,
}

/// The tenant's value of a days setting; the host checked it against the schema when
/// it was set, so a value that does not decode is only logged and skipped.
fn tenant_setting(name: &str) -> Option<u32> {
    context::setting_as::<u32>(name).unwrap_or_else(|e| {
        log::warn(format!("{e}; using the default"));
        None
    })
}

/// The settings in force for this tenant.
pub fn effective() -> Result<Effective> {
    let s = store::settings()?;
    Ok(Effective {
        expiring_window_days: tenant_setting(WINDOW_SETTING)
            .or(s.expiring_window_days)
            .unwrap_or(DEFAULT_EXPIRING_WINDOW_DAYS),
        reminder_interval_days: tenant_setting(INTERVAL_SETTING)
            .or(s.reminder_interval_days)
            .unwrap_or(DEFAULT_REMINDER_INTERVAL_DAYS),
    })
}

/// One employee and course.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatusRow {
    employee: String,
    employee_name: String,
    department: String,
    job_role: String,
    course: String,
    course_title: String,
    course_version: String,
    status: Status,
    assigned_on: Option<Date>,
    due_date: Option<Date>,
    expiry_date: Option<Date>,
    days_left: Option<i64>,
    last_completed: Option<Date>,
    last_score: Option<u8>,
    certificate: Option<String>,
    completion: Option<String>,
}

/// Records loaded once for many rows.
struct Book {
    assignments: BTreeMap<(String, String), Assignment>,
    completions: BTreeMap<(String, String), Vec<Completion>>,
}

impl Book {
    fn load(employee: Option<&str>) -> Result<Book> {
        let assignments = store::assignments(employee)?
            .into_iter()
            .map(|a| ((a.employee.clone(), a.course.clone()), a))
            .collect();
        let mut completions: BTreeMap<(String, String), Vec<Completion>> = BTreeMap::new();
        for c in store::completions(employee, None)? {
            completions
                .entry((c.employee.clone(), c.course.clone()))
                .or_default()
                .push(c);
        }
        Ok(Book {
            assignments,
            completions,
        })
    }

    fn row(&self, e: &Employee, c: &Course, day: Date, window: u32) -> StatusRow {
        let key = (e.id.clone(), c.code.clone());
        let assignment = self.assignments.get(&key);
        let history = self.completions.get(&key).map_or(&[][..], |v| v.as_slice());
        let pass = status::latest_pass(history);
        let eval = status::evaluate(c, assignment, e.employed_on(day), pass, day, window);
        StatusRow {
            employee: e.id.clone(),
            employee_name: e.name.clone(),
            department: e.department.clone(),
            job_role: e.job_role.clone(),
            course: c.code.clone(),
            course_title: c.title.clone(),
            course_version: c.version.clone(),
            status: eval.status,
            assigned_on: assignment.map(|a| a.assigned_on),
            due_date: eval.due_date,
            expiry_date: eval.expiry_date,
            days_left: eval.due_date.map(|d| dates::days_between(day, d)),
            last_completed: pass.map(|p| p.date),
            last_score: pass.map(|p| p.score),
            certificate: pass.and_then(|p| p.certificate.clone()),
            completion: pass.map(|p| p.id.clone()),
        }
    }
}

/// The status row of one pair on `day`.
pub fn row_for(e: &Employee, c: &Course, day: Date) -> Result<StatusRow> {
    let window = effective()?.expiring_window_days;
    Ok(Book::load(Some(&e.id))?.row(e, c, day, window))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Filter {
    #[serde(default)]
    employee: Option<String>,
    #[serde(default)]
    course: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default, deserialize_with = "dates::strict_opt")]
    as_of: Option<Date>,
    #[serde(default)]
    include_not_required: bool,
    /// Only rows in one of these statuses.
    #[serde(default)]
    status: Option<Vec<Status>>,
    /// Rows per page (`status` only).
    #[serde(default)]
    limit: Option<usize>,
    /// `next-cursor` of the previous page: rows after that employee and course.
    #[serde(default)]
    cursor: Option<String>,
}

/// Rows of one `status` page when the caller does not say.
pub const DEFAULT_STATUS_LIMIT: usize = 1000;
/// The most rows of one page: about 2.5 MB of JSON, under the 4 MiB output cap.
pub const MAX_STATUS_LIMIT: usize = 5000;

/// One page of status rows.
struct Rows {
    day: Date,
    window: u32,
    rows: Vec<StatusRow>,
    /// Set when more rows follow the page: `employee/course` of its last row.
    next_cursor: Option<String>,
}

/// Status rows for the filter, by employee then course: all of them when `limit` is
/// `None`.
fn rows(f: &Filter, limit: Option<usize>) -> Result<Rows> {
    let day = f.as_of.unwrap_or_else(today);
    let window = effective()?.expiring_window_days;
    // Employee ids and course codes never contain '/'.
    let after = match &f.cursor {
        Some(cursor) => Some(
            cursor
                .split_once('/')
                .map(|(e, c)| (e.to_owned(), c.to_owned()))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "bad cursor {cursor:?}: pass the next-cursor of the previous page"
                    ))
                })?,
        ),
        None => None,
    };
    let book = Book::load(f.employee.as_deref())?;
    let courses = store::courses()?;
    let mut rows = Vec::new();
    let mut next_cursor = None;
    'employees: for e in store::employees()? {
        if f.employee.as_ref().is_some_and(|id| *id != e.id)
            || f.department.as_ref().is_some_and(|d| *d != e.department)
            || after.as_ref().is_some_and(|(id, _)| e.id < *id)
        {
            continue;
        }
        for c in courses.values() {
            if f.course.as_ref().is_some_and(|code| *code != c.code)
                || after
                    .as_ref()
                    .is_some_and(|(id, code)| e.id == *id && c.code <= *code)
            {
                continue;
            }
            let row = book.row(&e, c, day, window);
            if !(f.include_not_required || row.status != Status::NotRequired)
                || f.status.as_ref().is_some_and(|s| !s.contains(&row.status))
            {
                continue;
            }
            if limit.is_some_and(|limit| rows.len() == limit) {
                next_cursor = rows
                    .last()
                    .map(|r: &StatusRow| format!("{}/{}", r.employee, r.course));
                break 'employees;
            }
            rows.push(row);
        }
    }
    Ok(Rows {
        day,
        window,
        rows,
        next_cursor,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatusOut {
    as_of: Date,
    expiring_window_days: u32,
    rows: Vec<StatusRow>,
    next_cursor: Option<String>,
}

/// `status`: each employee and required course (every pair with
/// `include-not-required`), filtered by employee, course, department and status, a
/// page at a time.
pub fn status(f: Filter) -> Result<StatusOut> {
    let limit = f.limit.unwrap_or(DEFAULT_STATUS_LIMIT);
    if !(1..=MAX_STATUS_LIMIT).contains(&limit) {
        return Err(Error::invalid(format!(
            "limit must be 1 to {MAX_STATUS_LIMIT}; read on with next-cursor"
        )));
    }
    let page = rows(&f, Some(limit))?;
    Ok(StatusOut {
        as_of: page.day,
        expiring_window_days: page.window,
        rows: page.rows,
        next_cursor: page.next_cursor,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum By {
    Employee,
    Course,
    Department,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReportInput {
    by: By,
    #[serde(default)]
    employee: Option<String>,
    #[serde(default)]
    course: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default, deserialize_with = "dates::strict_opt")]
    as_of: Option<Date>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Group {
    key: String,
    name: String,
    #[serde(flatten)]
    tally: Tally,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReportOut {
    as_of: Date,
    by: By,
    groups: Vec<Group>,
    total: Tally,
}

/// `report`: counts per employee, course or department with the compliance
/// percentage (valid + expiring over required).
pub fn report(i: ReportInput) -> Result<ReportOut> {
    let filter = Filter {
        employee: i.employee,
        course: i.course,
        department: i.department,
        as_of: i.as_of,
        include_not_required: false,
        status: None,
        limit: None,
        cursor: None,
    };
    let Rows {
        day: as_of, rows, ..
    } = rows(&filter, None)?;
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut total = Tally::default();
    for r in rows {
        let (key, name) = match i.by {
            By::Employee => (r.employee.clone(), r.employee_name.clone()),
            By::Course => (r.course.clone(), r.course_title.clone()),
            By::Department => (r.department.clone(), r.department.clone()),
        };
        groups
            .entry(key.clone())
            .or_insert_with(|| Group {
                key,
                name,
                tally: Tally::default(),
            })
            .tally
            .add(r.status);
        total.add(r.status);
    }
    Ok(ReportOut {
        as_of,
        by: i.by,
        groups: groups.into_values().collect(),
        total,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Configure {
    #[serde(default, with = "double_option")]
    expiring_window_days: Option<Option<u32>>,
    #[serde(default, with = "double_option")]
    reminder_interval_days: Option<Option<u32>>,
}

/// Tells a missing field (keep) from `null` (back to the default).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
        Option::<u32>::deserialize(d).map(Some)
    }
}

/// `configure`, deprecated since 0.1.1 (removed in 0.2): store (or with `null`,
/// clear) a window and interval that apply where the tenant has not set the
/// settings; returns the settings in force.
pub fn configure(i: Configure) -> Result<Effective> {
    log::warn(
        "training: `configure` is deprecated and will be removed in 0.2; set the tenant settings expiring-window-days and reminder-interval-days instead (`backoffice settings set --tenant T training KEY VALUE`)",
    );
    let mut s: Settings = store::settings()?;
    if let Some(v) = i.expiring_window_days {
        s.expiring_window_days = v;
    }
    if let Some(v) = i.reminder_interval_days {
        s.reminder_interval_days = v;
    }
    store::put_settings(&s)?;
    effective()
}

/// A reminder sent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Reminder {
    topic: &'static str,
    #[serde(flatten)]
    row: StatusRow,
    as_of: Date,
}

/// The tenant setting naming the role whose users get reminders by email.
pub const NOTIFY_ROLE_SETTING: &str = "notify-role";

/// The subject and body of the email of `r`.
fn email_text(r: &Reminder) -> (String, String) {
    let row = &r.row;
    let what = match r.topic {
        "training.expiring" => "expires soon",
        _ => "is overdue",
    };
    let subject = format!(
        "Training: {} of {} {what}",
        row.course_title, row.employee_name
    );
    let mut body = format!(
        "{} ({}, {}) - {} ({}) {what}.\n",
        row.employee_name, row.employee, row.department, row.course_title, row.course
    );
    if let Some(d) = row.expiry_date {
        body.push_str(&format!("Certificate valid until: {d}\n"));
    }
    if let Some(d) = row.due_date {
        body.push_str(&format!("Due: {d}\n"));
    }
    body.push_str(&format!("Status on {}: {}\n", r.as_of, row.status.as_str()));
    (subject, body)
}

/// Email `r` to the users holding `role`. A reminder is an event first: when the
/// role is unknown or none of its users has an address, the reminder still counts as
/// sent and the log says why nobody was emailed.
fn email(role: &str, r: &Reminder) {
    let (subject, body) = email_text(r);
    if let Err(e) = notify::send(&notify::Recipient::Role(role.to_string()), &subject, &body) {
        log::warn(format!(
            "reminder {} for {} / {} not emailed to role '{role}': {e}",
            r.topic, r.row.employee, r.row.course
        ));
    }
}

/// Emit a reminder for each employed employee's expiring, expired or overdue course,
/// unless the same reminder went out within the interval.
pub fn remind() -> Result<Vec<Reminder>> {
    let day = today();
    let settings = effective()?;
    let notify_role = context::setting_as::<String>(NOTIFY_ROLE_SETTING).unwrap_or_else(|e| {
        log::warn(format!("{e}; reminders are not emailed"));
        None
    });
    let book = Book::load(None)?;
    let courses = store::courses()?;
    let mut sent = Vec::new();
    for e in store::employees()? {
        if !e.employed_on(day) {
            continue;
        }
        for c in courses.values() {
            if !book
                .assignments
                .contains_key(&(e.id.clone(), c.code.clone()))
            {
                continue;
            }
            let row = book.row(&e, c, day, settings.expiring_window_days);
            let Some(topic) = row.status.reminder_topic() else {
                continue;
            };
            let last = store::last_reminder(topic, &e.id, &c.code)?;
            if !status::reminder_due(last, day, settings.reminder_interval_days) {
                continue;
            }
            let reminder = Reminder {
                topic,
                row,
                as_of: day,
            };
            events::emit(topic, &reminder)?;
            if let Some(role) = &notify_role {
                email(role, &reminder);
            }
            store::put_reminder(topic, &e.id, &c.code, day)?;
            sent.push(reminder);
        }
    }
    Ok(sent)
}

#[derive(Debug, Serialize)]
pub struct RemindersOut {
    sent: Vec<Reminder>,
}

/// `send-reminders`: what the daily job does, on demand.
pub fn send_reminders(_: Empty) -> Result<RemindersOut> {
    Ok(RemindersOut { sent: remind()? })
}
