//! What the tracker stores: employees, courses, assignments, completions and settings.
//! Plain data with serde names as they appear in the operations' JSON.

use backoffice_sdk::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Days a course allows for completion after it is assigned, unless it says otherwise.
pub const DEFAULT_DUE_DAYS: u32 = 30;
/// Default window before expiry in which a certification counts as expiring.
pub const DEFAULT_EXPIRING_WINDOW_DAYS: u32 = 90;
/// Default minimum number of days between two reminders of the same kind.
pub const DEFAULT_REMINDER_INTERVAL_DAYS: u32 = 7;

/// One person on the roster, from `set-employee` or a `payroll.employee-changed` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Employee {
    /// Stable id shared with payroll, such as `E1`.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Department, such as `Finance`.
    pub department: String,
    /// Job role, such as `accountant`.
    pub job_role: String,
    /// ISO country code, when payroll sent one.
    #[serde(default)]
    pub country: Option<String>,
    /// First day of employment.
    #[serde(default)]
    pub start_date: Option<Date>,
    /// Last day of employment.
    #[serde(default)]
    pub end_date: Option<Date>,
    /// False once the employee has left (set by hand).
    pub active: bool,
}

impl Employee {
    /// Whether the employee works for the company on `day`.
    pub fn employed_on(&self, day: Date) -> bool {
        self.active && self.end_date.is_none_or(|end| day <= end)
    }
}

/// A course and what makes it mandatory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Course {
    /// Short code, such as `FIRE-SAFETY`.
    pub code: String,
    /// Title.
    pub title: String,
    /// The course's current version.
    pub version: String,
    /// Months a passing completion stays valid; `None`: it never expires.
    pub validity_months: Option<u32>,
    /// The lowest score (0 to 100) that passes.
    pub pass_mark: u8,
    /// Job roles that must hold the course.
    pub mandatory_roles: Vec<String>,
    /// Departments that must hold the course.
    pub mandatory_departments: Vec<String>,
    /// Days after assignment (or hire) by which it must first be completed.
    pub due_days: u32,
}

impl Course {
    /// Whether the course is mandatory for `e` by role or department.
    pub fn mandatory_for(&self, e: &Employee) -> bool {
        self.mandatory_roles.contains(&e.job_role)
            || self.mandatory_departments.contains(&e.department)
    }
}

/// How an assignment came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The course is mandatory for the employee's role or department.
    Automatic,
    /// Assigned with `assign`.
    Manual,
}

/// A course an employee must complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Assignment {
    /// Employee id.
    pub employee: String,
    /// Course code.
    pub course: String,
    /// The business date it was assigned (or the hire date, when later).
    pub assigned_on: Date,
    /// The last day to complete it for the first time.
    pub due_date: Date,
    /// Automatic or manual.
    pub origin: Origin,
}

/// Where a completion was recorded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `record-completion`.
    Manual,
    /// `import-completions`.
    Import,
}

/// One attempt at a course: immutable once recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Completion {
    /// `c-000001`, in recording order.
    pub id: String,
    /// Employee id.
    pub employee: String,
    /// Course code.
    pub course: String,
    /// The course version at the time of recording.
    pub course_version: String,
    /// When the attempt was taken.
    pub date: Date,
    /// Score, 0 to 100.
    pub score: u8,
    /// Whether the score reached the course's pass mark then.
    pub passed: bool,
    /// Certificate reference, if any.
    pub certificate: Option<String>,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who recorded it (user or token id; `None` for the system).
    pub recorded_by: Option<String>,
    /// Entered by hand or imported.
    pub source: Source,
}

/// The tracker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Settings {
    /// Days before expiry that count as expiring.
    pub expiring_window_days: Option<u32>,
    /// Days before the same reminder is sent again.
    pub reminder_interval_days: Option<u32>,
}

/// Whether `s` is usable as an employee id or course code: 1 to 64 characters from
/// letters, digits, `.`, `_` and `-`, starting with a letter or digit. They are storage
/// keys, so `/` and spaces are not allowed.
pub fn valid_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The completion id of sequence number `seq`.
pub fn completion_id(seq: u64) -> String {
    format!("c-{seq:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn employee(role: &str, dept: &str) -> Employee {
        Employee {
            id: "E1".into(),
            name: "Ada".into(),
            department: dept.into(),
            job_role: role.into(),
            country: None,
            start_date: None,
            end_date: None,
            active: true,
        }
    }

    #[test]
    fn ids() {
        for ok in ["E1", "FIRE-SAFETY", "gdpr_2024.v2", "7"] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", "-E1", "E 1", "E/1", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert_eq!(completion_id(42), "c-000042");
    }

    #[test]
    fn mandatory_by_role_or_department() {
        let c = Course {
            code: "AML".into(),
            title: "Anti money laundering".into(),
            version: "1".into(),
            validity_months: Some(12),
            pass_mark: 80,
            mandatory_roles: vec!["accountant".into()],
            mandatory_departments: vec!["Sales".into()],
            due_days: 30,
        };
        assert!(c.mandatory_for(&employee("accountant", "Finance")));
        assert!(c.mandatory_for(&employee("engineer", "Sales")));
        assert!(!c.mandatory_for(&employee("engineer", "Finance")));
    }

    #[test]
    fn employment_ends_after_the_end_date() {
        let mut e = employee("a", "b");
        let day = "2026-03-02".parse::<Date>().unwrap();
        assert!(e.employed_on(day));
        e.end_date = Some(day);
        assert!(e.employed_on(day));
        assert!(!e.employed_on(crate::dates::add_days(day, 1).unwrap()));
        e.end_date = None;
        e.active = false;
        assert!(!e.employed_on(day));
    }
}
