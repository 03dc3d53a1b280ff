//! Certification status of an employee for a course, report tallies and the reminder
//! rule. Pure functions of the records and the business date.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::dates::{add_days, add_months, days_between};
use crate::model::{Assignment, Completion, Course};

/// Where an employee stands with a course on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Completed with a pass, not expiring within the window.
    Valid,
    /// Completed with a pass, expiring within the window.
    Expiring,
    /// The last pass has expired.
    Expired,
    /// Assigned, never passed, past the due date.
    Overdue,
    /// Assigned, never passed, not yet due.
    Assigned,
    /// Not assigned, or the employee has left.
    NotRequired,
}

impl Status {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Expiring => "expiring",
            Status::Expired => "expired",
            Status::Overdue => "overdue",
            Status::Assigned => "assigned",
            Status::NotRequired => "not-required",
        }
    }

    /// The reminder topic this status calls for, if any.
    pub fn reminder_topic(self) -> Option<&'static str> {
        match self {
            Status::Expiring => Some("training.expiring"),
            Status::Expired | Status::Overdue => Some("training.overdue"),
            _ => None,
        }
    }
}

/// The status and its dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The status.
    pub status: Status,
    /// The last day to (re)complete the course: the assignment's due date before a
    /// first pass, the expiry date after it; `None` when not required or never expiring.
    pub due_date: Option<Date>,
    /// The last day the latest pass is valid; `None` without a pass or without expiry.
    pub expiry_date: Option<Date>,
}

/// The pass that counts for status: the latest by date, the later recorded on a tie.
/// `completions` are in recording order.
pub fn latest_pass(completions: &[Completion]) -> Option<&Completion> {
    completions
        .iter()
        .filter(|c| c.passed)
        .max_by_key(|c| c.date)
}

/// The last day a pass on `completed` stays valid: `validity_months` later, less a day.
pub fn expiry_date(course: &Course, completed: Date) -> Option<Date> {
    let months = course.validity_months?;
    add_days(add_months(completed, months)?, -1)
}

/// Evaluate on `today`: `required` is whether the employee is employed and assigned.
pub fn evaluate(
    course: &Course,
    assignment: Option<&Assignment>,
    required: bool,
    pass: Option<&Completion>,
    today: Date,
    window_days: u32,
) -> Evaluation {
    let expiry = pass.and_then(|c| expiry_date(course, c.date));
    let assignment = assignment.filter(|_| required);
    let Some(assignment) = assignment else {
        return Evaluation {
            status: Status::NotRequired,
            due_date: None,
            expiry_date: expiry,
        };
    };
    let (status, due_date) = match (pass, expiry) {
        (Some(_), None) => (Status::Valid, None),
        (Some(_), Some(e)) if today > e => (Status::Expired, Some(e)),
        (Some(_), Some(e)) if days_between(today, e) <= i64::from(window_days) => {
            (Status::Expiring, Some(e))
        }
        (Some(_), Some(e)) => (Status::Valid, Some(e)),
        (None, _) if today > assignment.due_date => (Status::Overdue, Some(assignment.due_date)),
        (None, _) => (Status::Assigned, Some(assignment.due_date)),
    };
    Evaluation {
        status,
        due_date,
        expiry_date: expiry,
    }
}

/// Whether a reminder last sent on `last_sent` may be sent again on `today`.
pub fn reminder_due(last_sent: Option<Date>, today: Date, interval_days: u32) -> bool {
    last_sent.is_none_or(|d| days_between(d, today) >= i64::from(interval_days))
}

/// Counts of one report group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Tally {
    /// Required (employee employed and assigned).
    pub required: u32,
    /// Valid.
    pub valid: u32,
    /// Expiring.
    pub expiring: u32,
    /// Expired.
    pub expired: u32,
    /// Overdue.
    pub overdue: u32,
    /// Assigned, not yet due.
    pub assigned: u32,
    /// (valid + expiring) / required, in percent rounded to a tenth; `None` when
    /// nothing is required.
    pub compliance_percent: Option<f64>,
}

impl Tally {
    /// Count one status (not-required rows are not counted).
    pub fn add(&mut self, s: Status) {
        let slot = match s {
            Status::Valid => &mut self.valid,
            Status::Expiring => &mut self.expiring,
            Status::Expired => &mut self.expired,
            Status::Overdue => &mut self.overdue,
            Status::Assigned => &mut self.assigned,
            Status::NotRequired => return,
        };
        *slot += 1;
        self.required += 1;
        self.compliance_percent = percent(self.valid + self.expiring, self.required);
    }
}

/// `part / whole` in percent, rounded half up to a tenth, computed in integers.
pub fn percent(part: u32, whole: u32) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    let tenths = (u64::from(part) * 2000 + u64::from(whole)) / (2 * u64::from(whole));
    // At most 1000 tenths: exact in f64.
    #[allow(clippy::cast_precision_loss, reason = "at most 1000, exact in f64")]
    Some(tenths as f64 / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse;
    use crate::model::{Origin, Source};

    fn d(s: &str) -> Date {
        parse(s).unwrap()
    }

    fn course(validity: Option<u32>) -> Course {
        Course {
            code: "FIRE".into(),
            title: "Fire safety".into(),
            version: "1".into(),
            validity_months: validity,
            pass_mark: 70,
            mandatory_roles: vec![],
            mandatory_departments: vec![],
            due_days: 30,
        }
    }

    fn assigned(due: &str) -> Assignment {
        Assignment {
            employee: "E1".into(),
            course: "FIRE".into(),
            assigned_on: d("2025-01-01"),
            due_date: d(due),
            origin: Origin::Automatic,
        }
    }

    fn done(id: &str, date: &str, passed: bool) -> Completion {
        Completion {
            id: id.into(),
            employee: "E1".into(),
            course: "FIRE".into(),
            course_version: "1".into(),
            date: d(date),
            score: if passed { 90 } else { 10 },
            passed,
            certificate: None,
            recorded_at: backoffice_sdk::Timestamp::UNIX_EPOCH,
            recorded_by: None,
            source: Source::Manual,
        }
    }

    #[test]
    fn before_a_pass_assigned_then_overdue() {
        let c = course(Some(12));
        let a = assigned("2025-01-31");
        let at = |day| evaluate(&c, Some(&a), true, None, d(day), 90);
        assert_eq!(at("2025-01-31").status, Status::Assigned);
        assert_eq!(at("2025-01-31").due_date, Some(d("2025-01-31")));
        assert_eq!(at("2025-02-01").status, Status::Overdue);
        assert_eq!(at("2025-02-01").expiry_date, None);
    }

    #[test]
    fn after_a_pass_valid_expiring_expired() {
        let c = course(Some(12));
        let a = assigned("2025-01-31");
        let p = done("c-000001", "2025-03-01", true);
        let at = |day| evaluate(&c, Some(&a), true, Some(&p), d(day), 90);
        let e = at("2025-06-01");
        assert_eq!(e.status, Status::Valid);
        assert_eq!(e.expiry_date, Some(d("2026-02-28")));
        assert_eq!(e.due_date, Some(d("2026-02-28")));
        assert_eq!(at("2025-11-29").status, Status::Valid, "91 days left");
        assert_eq!(at("2025-11-30").status, Status::Expiring, "90 days left");
        assert_eq!(at("2026-02-28").status, Status::Expiring, "last valid day");
        assert_eq!(at("2026-03-01").status, Status::Expired);
        // A window of 0 days: expiring only on the last day.
        assert_eq!(
            evaluate(&c, Some(&a), true, Some(&p), d("2026-02-27"), 0).status,
            Status::Valid
        );
    }

    #[test]
    fn a_course_without_validity_never_expires() {
        let c = course(None);
        let p = done("c-000001", "2000-01-01", true);
        let e = evaluate(
            &c,
            Some(&assigned("2000-01-31")),
            true,
            Some(&p),
            d("2099-01-01"),
            90,
        );
        assert_eq!(
            (e.status, e.due_date, e.expiry_date),
            (Status::Valid, None, None)
        );
    }

    #[test]
    fn not_required_without_assignment_or_employment() {
        let c = course(Some(12));
        let p = done("c-000001", "2025-03-01", true);
        let e = evaluate(&c, None, true, Some(&p), d("2025-04-01"), 90);
        assert_eq!(e.status, Status::NotRequired);
        assert_eq!(e.expiry_date, Some(d("2026-02-28")));
        let a = assigned("2025-01-31");
        assert_eq!(
            evaluate(&c, Some(&a), false, None, d("2025-04-01"), 90).status,
            Status::NotRequired
        );
    }

    #[test]
    fn the_latest_pass_counts_and_failures_do_not() {
        let list = vec![
            done("c-000001", "2025-03-01", true),
            done("c-000002", "2026-02-01", false),
            done("c-000003", "2024-01-01", true),
            done("c-000004", "2025-03-01", true),
        ];
        assert_eq!(latest_pass(&list).unwrap().id, "c-000004");
        assert!(latest_pass(&list[1..2]).is_none());
    }

    #[test]
    fn reminders_wait_for_the_interval() {
        assert!(reminder_due(None, d("2026-01-01"), 7));
        assert!(!reminder_due(Some(d("2026-01-01")), d("2026-01-07"), 7));
        assert!(reminder_due(Some(d("2026-01-01")), d("2026-01-08"), 7));
        assert!(reminder_due(Some(d("2026-01-01")), d("2026-01-01"), 0));
    }

    #[test]
    fn tallies_and_percentages() {
        let mut t = Tally::default();
        assert_eq!(t.compliance_percent, None);
        for s in [
            Status::Valid,
            Status::Expiring,
            Status::Overdue,
            Status::NotRequired,
        ] {
            t.add(s);
        }
        assert_eq!((t.required, t.valid, t.expiring, t.overdue), (3, 1, 1, 1));
        assert_eq!(t.compliance_percent, Some(66.7));
        assert_eq!(percent(1, 8), Some(12.5));
        assert_eq!(percent(0, 3), Some(0.0));
        assert_eq!(percent(3, 3), Some(100.0));
        assert_eq!(Status::Expired.reminder_topic(), Some("training.overdue"));
        assert_eq!(Status::Assigned.reminder_topic(), None);
    }
}
