//! Employees, courses and assignments: `set-employee`, `list-employees`, `set-course`,
//! `list-courses`, `assign`, `unassign` and the `payroll.employee-changed` event. Any
//! change of an employee or a course brings its automatic assignments in line.

use backoffice_sdk::prelude::*;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::model::{Assignment, Course, DEFAULT_DUE_DAYS, Employee, Origin, valid_id};
use crate::{dates, store, today};

fn check_id(what: &str, id: &str) -> Result<()> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} {id:?} is not usable: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

fn not_blank(field: &str, s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::invalid(format!("{field} must not be blank")));
    }
    Ok(s.to_owned())
}

/// Look up an employee or say how to add them.
pub(crate) fn employee(id: &str) -> Result<Employee> {
    store::employee(id)?.ok_or_else(|| {
        Error::not_found(format!(
            "no employee {id}; add them with set-employee (or let payroll send them)"
        ))
    })
}

/// Look up a course or say how to add it.
pub(crate) fn course(code: &str) -> Result<Course> {
    store::course(code)?
        .ok_or_else(|| Error::not_found(format!("no course {code}; create it with set-course")))
}

/// What changed in automatic assignments.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Changes {
    /// Pairs newly assigned: course codes for an employee, employee ids for a course.
    pub assigned: Vec<String>,
    /// Automatic assignments removed because the course is no longer mandatory.
    pub unassigned: Vec<String>,
}

enum Change {
    None,
    Assigned,
    Unassigned,
}

/// Bring the automatic assignment of `c` to `e` in line with the course's rules:
/// assign it when mandatory (and the employee is employed), remove an automatic one
/// that no longer applies. Manual assignments are left alone.
fn sync(e: &Employee, c: &Course, today: Date) -> Result<Change> {
    let existing = store::assignment(&e.id, &c.code)?;
    match existing {
        None if c.mandatory_for(e) && e.employed_on(today) => {
            let assigned_on = e.start_date.map_or(today, |s| s.max(today));
            let due_date = dates::add_days(assigned_on, i64::from(c.due_days))
                .ok_or_else(|| Error::invalid("the due date is past year 9999"))?;
            store::put_assignment(&Assignment {
                employee: e.id.clone(),
                course: c.code.clone(),
                assigned_on,
                due_date,
                origin: Origin::Automatic,
            })?;
            Ok(Change::Assigned)
        }
        Some(a) if a.origin == Origin::Automatic && !c.mandatory_for(e) => {
            store::delete_assignment(&e.id, &c.code)?;
            Ok(Change::Unassigned)
        }
        _ => Ok(Change::None),
    }
}

/// Write an employee and sync their assignments with every course.
fn upsert_employee(e: &Employee) -> Result<Changes> {
    store::put_employee(e)?;
    let day = today();
    let mut changes = Changes::default();
    for c in store::courses()?.values() {
        match sync(e, c, day)? {
            Change::Assigned => changes.assigned.push(c.code.clone()),
            Change::Unassigned => changes.unassigned.push(c.code.clone()),
            Change::None => {}
        }
    }
    Ok(changes)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SetEmployee {
    id: String,
    name: String,
    department: String,
    job_role: String,
    #[serde(default)]
    country: Option<String>,
    #[serde(default, deserialize_with = "dates::strict_opt")]
    start_date: Option<Date>,
    #[serde(default, deserialize_with = "dates::strict_opt")]
    end_date: Option<Date>,
    #[serde(default)]
    active: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct EmployeeOut {
    employee: Employee,
    assigned: Vec<String>,
    unassigned: Vec<String>,
}

fn employee_from(i: SetEmployee, keep_active: Option<bool>) -> Result<Employee> {
    check_id("employee id", &i.id)?;
    if let (Some(s), Some(e)) = (i.start_date, i.end_date)
        && e < s
    {
        return Err(Error::invalid(format!(
            "end-date {e} is before start-date {s}"
        )));
    }
    Ok(Employee {
        name: not_blank("name", &i.name)?,
        department: not_blank("department", &i.department)?,
        job_role: not_blank("job-role", &i.job_role)?,
        id: i.id,
        country: i.country.filter(|c| !c.trim().is_empty()),
        start_date: i.start_date,
        end_date: i.end_date,
        active: i.active.or(keep_active).unwrap_or(true),
    })
}

/// `set-employee`: add or replace a roster entry.
pub fn set_employee(i: SetEmployee) -> Result<EmployeeOut> {
    let e = employee_from(i, None)?;
    let changes = upsert_employee(&e)?;
    Ok(EmployeeOut {
        employee: e,
        assigned: changes.assigned,
        unassigned: changes.unassigned,
    })
}

/// The `payroll.employee-changed` event: the same upsert as `set-employee`; fields
/// this plugin does not know are ignored, and a hand-set `active` flag is kept.
pub fn employee_changed(payload: serde_json::Value) -> Result<()> {
    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Changed {
        id: String,
        name: String,
        department: String,
        job_role: String,
        #[serde(default)]
        country: Option<String>,
        #[serde(default, deserialize_with = "dates::strict_opt")]
        start_date: Option<Date>,
        #[serde(default, deserialize_with = "dates::strict_opt")]
        end_date: Option<Date>,
    }
    let c: Changed = serde_json::from_value(payload).map_err(|e| {
        Error::invalid(format!(
            "a {} event that this plugin cannot read: {e}",
            crate::EMPLOYEE_CHANGED
        ))
    })?;
    let keep = store::employee(&c.id)?.map(|e| e.active);
    let e = employee_from(
        SetEmployee {
            id: c.id,
            name: c.name,
            department: c.department,
            job_role: c.job_role,
            country: c.country,
            start_date: c.start_date,
            end_date: c.end_date,
            active: None,
        },
        keep,
    )?;
    let changes = upsert_employee(&e)?;
    log::info(format!(
        "employee {} from payroll: assigned {:?}, unassigned {:?}",
        e.id, changes.assigned, changes.unassigned
    ));
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ListEmployees {
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    include_inactive: bool,
}

#[derive(Debug, Serialize)]
pub struct EmployeeList {
    employees: Vec<Employee>,
}

/// `list-employees`: the roster, employed ones unless `include-inactive`.
pub fn list_employees(i: ListEmployees) -> Result<EmployeeList> {
    let day = today();
    Ok(EmployeeList {
        employees: store::employees()?
            .into_iter()
            .filter(|e| i.include_inactive || e.employed_on(day))
            .filter(|e| i.department.as_ref().is_none_or(|d| *d == e.department))
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SetCourse {
    code: String,
    title: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    validity_months: Option<u32>,
    pass_mark: u8,
    #[serde(default)]
    mandatory_roles: Vec<String>,
    #[serde(default)]
    mandatory_departments: Vec<String>,
    #[serde(default)]
    due_days: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CourseOut {
    course: Course,
    assigned: Vec<String>,
    unassigned: Vec<String>,
}

/// `set-course`: create or replace a course, then assign it to every employed
/// employee it is mandatory for (and remove automatic assignments that no longer apply).
pub fn set_course(i: SetCourse) -> Result<CourseOut> {
    check_id("course code", &i.code)?;
    if i.pass_mark > 100 {
        return Err(Error::invalid(format!(
            "pass-mark {} is outside 0 to 100",
            i.pass_mark
        )));
    }
    let trim_all = |v: Vec<String>, field: &str| -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(v.len());
        for s in v {
            let s = not_blank(field, &s)?;
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Ok(out)
    };
    let c = Course {
        title: not_blank("title", &i.title)?,
        version: match i.version {
            Some(v) => not_blank("version", &v)?,
            None => "1".to_owned(),
        },
        validity_months: i.validity_months,
        pass_mark: i.pass_mark,
        mandatory_roles: trim_all(i.mandatory_roles, "a mandatory role")?,
        mandatory_departments: trim_all(i.mandatory_departments, "a mandatory department")?,
        due_days: i.due_days.unwrap_or(DEFAULT_DUE_DAYS),
        code: i.code,
    };
    store::put_course(&c)?;
    let day = today();
    let mut out = CourseOut {
        course: c,
        assigned: Vec::new(),
        unassigned: Vec::new(),
    };
    for e in store::employees()? {
        match sync(&e, &out.course, day)? {
            Change::Assigned => out.assigned.push(e.id),
            Change::Unassigned => out.unassigned.push(e.id),
            Change::None => {}
        }
    }
    Ok(out)
}

#[derive(Debug, Serialize)]
pub struct CourseList {
    courses: Vec<Course>,
}

/// `list-courses`: every course by code.
pub fn list_courses(_: Empty) -> Result<CourseList> {
    Ok(CourseList {
        courses: store::courses()?.into_values().collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Assign {
    employee: String,
    course: String,
    #[serde(default, deserialize_with = "dates::strict_opt")]
    due_date: Option<Date>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AssignOut {
    assignment: Assignment,
    created: bool,
}

/// `assign`: assign a course by hand, or change the due date of an assignment (which
/// then counts as manual and stays when the course stops being mandatory).
pub fn assign(i: Assign) -> Result<AssignOut> {
    let e = employee(&i.employee)?;
    let c = course(&i.course)?;
    let day = today();
    if !e.employed_on(day) {
        return Err(Error::conflict(format!(
            "employee {} is no longer employed (end-date {}, active {}); set them active again first",
            e.id,
            e.end_date.map_or("none".to_owned(), |d| d.to_string()),
            e.active
        )));
    }
    let existing = store::assignment(&e.id, &c.code)?;
    let assigned_on = existing.as_ref().map_or(day, |a| a.assigned_on);
    let due_date = match (i.due_date, &existing) {
        (Some(d), _) => d,
        (None, Some(a)) => a.due_date,
        (None, None) => dates::add_days(assigned_on, i64::from(c.due_days))
            .ok_or_else(|| Error::invalid("the due date is past year 9999"))?,
    };
    let a = Assignment {
        employee: e.id,
        course: c.code,
        assigned_on,
        due_date,
        origin: Origin::Manual,
    };
    store::put_assignment(&a)?;
    Ok(AssignOut {
        assignment: a,
        created: existing.is_none(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Unassign {
    employee: String,
    course: String,
}

/// `unassign`: remove a manual assignment. Automatic ones follow the course's rules.
pub fn unassign(i: Unassign) -> Result<Assignment> {
    let a = store::assignment(&i.employee, &i.course)?.ok_or_else(|| {
        Error::not_found(format!(
            "course {} is not assigned to employee {}",
            i.course, i.employee
        ))
    })?;
    if a.origin == Origin::Automatic {
        return Err(Error::conflict(format!(
            "course {} is mandatory for employee {}'s role or department; change the course's mandatory-roles or mandatory-departments instead",
            i.course, i.employee
        )));
    }
    store::delete_assignment(&i.employee, &i.course)?;
    Ok(a)
}
