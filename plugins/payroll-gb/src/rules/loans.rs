//! Student and postgraduate loan deductions (Education (Student Loans) (Repayment)
//! Regulations 2009, Part 4, as HMRC operates them for employers).
//!
//! * **Earnings** are the period's earnings for Class 1 National Insurance: gross pay
//!   after salary sacrifice, *not* reduced by pension contributions under a net pay
//!   arrangement (GOV.UK, "Collect student loan and postgraduate loan deductions":
//!   "use the same gross pay amount that you would use to work out your employer's
//!   secondary Class 1 National Insurance").
//! * **Non-cumulative**: each pay period stands alone (HMRC Collection of Student
//!   Loans Manual CSLM10111: "the deductions are non-cumulative").
//! * **Threshold of the period**: the annual threshold over 12 for monthly pay, over
//!   52 for weekly pay, each truncated to the penny as GOV.UK publishes them (Plan 1
//!   2025-26: £2,172.08 a month, £501.25 a week; postgraduate loan £403.84 a week).
//!   A fortnightly or four-weekly period uses the weekly figure times 2 or 4 (HMRC
//!   SL3 Student Loan Deduction Tables, "pay periods other than weekly or monthly").
//! * **Deduction**: 9% (plans) or 6% (postgraduate loan) of the earnings above the
//!   threshold, rounded down to the whole pound (CSLM17060 steps 1 to 3; CSLM18025).
//! * **More than one plan**: one deduction at 9%, above the lowest threshold of the
//!   employee's plans (GOV.UK, "Collect student loan and postgraduate loan
//!   deductions", "Employee has more than one plan type"; CSLM10111 for plans 1 and 2).
//! * **Plan and postgraduate loan together**: both are deducted, each on its own
//!   threshold (same guidance, "postgraduate loan at the same time as a student loan").

use backoffice_sdk::payroll::{Line, LineKind};
use backoffice_sdk::{Error, Result};

/// An undergraduate repayment plan, as on an SL1 start notice, P45 or starter
/// checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Plan {
    /// Plan 1 (England or Wales before September 2012; Northern Ireland).
    One,
    /// Plan 2 (England or Wales, September 2012 to July 2023).
    Two,
    /// Plan 4 (Scotland).
    Four,
    /// Plan 5 (England, courses from August 2023; repayments from April 2026).
    Five,
}

/// The plan names the profile accepts.
pub const PLAN_NAMES: &str = "plan-1, plan-2, plan-4, plan-5";

impl Plan {
    /// Parse a profile value such as `plan-2`.
    pub fn parse(s: &str) -> Option<Plan> {
        Some(match s {
            "plan-1" => Plan::One,
            "plan-2" => Plan::Two,
            "plan-4" => Plan::Four,
            "plan-5" => Plan::Five,
            _ => return None,
        })
    }

    /// "Plan 2".
    pub fn label(self) -> &'static str {
        match self {
            Plan::One => "Plan 1",
            Plan::Two => "Plan 2",
            Plan::Four => "Plan 4",
            Plan::Five => "Plan 5",
        }
    }
}

/// Annual thresholds of one tax year, in whole pounds; `None` where no repayments are
/// collected through payroll in that year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoanThresholds {
    /// Plan 1.
    pub plan1: i64,
    /// Plan 2.
    pub plan2: i64,
    /// Plan 4.
    pub plan4: i64,
    /// Plan 5 (`None` before 2026-27).
    pub plan5: Option<i64>,
    /// Postgraduate loan.
    pub pgl: i64,
}

impl LoanThresholds {
    fn plan(&self, plan: Plan) -> Option<i64> {
        match plan {
            Plan::One => Some(self.plan1),
            Plan::Two => Some(self.plan2),
            Plan::Four => Some(self.plan4),
            Plan::Five => self.plan5,
        }
    }
}

/// Plan rate, 9%, in basis points (GOV.UK, Rates and thresholds for employers 2025 to
/// 2026 and 2026 to 2027, "Student loan and postgraduate loan deduction rates").
pub const PLAN_RATE_BP: i64 = 900;
/// Postgraduate loan rate, 6%, in basis points (same source).
pub const PGL_RATE_BP: i64 = 600;

/// 2025-26: GOV.UK, "Rates and thresholds for employers 2025 to 2026", student loan
/// recovery thresholds: Plan 1 £26,065, Plan 2 £28,470, Plan 4 £32,745; postgraduate
/// loan £21,000. Plan 5 deductions start on 6 April 2026 (GOV.UK, "Collect student
/// loan and postgraduate loan deductions": no Plan 5 repayments are due before then).
pub const THRESHOLDS_2025_26: LoanThresholds = LoanThresholds {
    plan1: 26_065,
    plan2: 28_470,
    plan4: 32_745,
    plan5: None,
    pgl: 21_000,
};

/// 2026-27: GOV.UK, "Rates and thresholds for employers 2026 to 2027", student loan
/// recovery thresholds: Plan 1 £26,900, Plan 2 £29,385, Plan 4 £33,795, Plan 5
/// £25,000; postgraduate loan £21,000.
pub const THRESHOLDS_2026_27: LoanThresholds = LoanThresholds {
    plan1: 26_900,
    plan2: 29_385,
    plan4: 33_795,
    plan5: Some(25_000),
    pgl: 21_000,
};

/// The threshold of one pay period in pence: the annual figure over 12 (monthly) or
/// over 52 times `weeks` (weekly, fortnightly, four-weekly), the per-period figure
/// truncated to the penny as GOV.UK publishes it.
pub fn period_threshold(annual_pounds: i64, monthly: bool, weeks: i64) -> i64 {
    if monthly {
        annual_pounds * 100 / 12
    } else {
        annual_pounds * 100 / 52 * weeks
    }
}

/// `rate_bp` of the earnings above `threshold` (both pence), rounded down to the
/// whole pound, in pence; 0 at or below the threshold.
pub fn deduction(earnings: i64, threshold: i64, rate_bp: i64) -> i64 {
    let excess = earnings - threshold;
    if excess <= 0 {
        return 0;
    }
    // pence × bp / 10_000 = pence; / 100 again for whole pounds, then back to pence.
    excess * rate_bp / 1_000_000 * 100
}

/// The employee's loans, from the profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loans {
    /// Undergraduate plans, sorted and without repeats.
    pub plans: Vec<Plan>,
    /// Whether a postgraduate loan is repaid.
    pub postgraduate: bool,
}

impl Loans {
    /// Read `student-loan-plans` (a list) and `postgraduate-loan` (a boolean).
    pub fn parse(obj: &serde_json::Map<String, serde_json::Value>) -> Result<Loans> {
        let mut plans = Vec::new();
        match obj.get("student-loan-plans") {
            None => {}
            Some(serde_json::Value::Array(items)) => {
                for item in items {
                    let plan = item.as_str().and_then(Plan::parse).ok_or_else(|| {
                        Error::invalid(format!(
                            "profile.student-loan-plans: {item} is not a student loan plan; accepted are {PLAN_NAMES} (a postgraduate loan is \"postgraduate-loan\": true)"
                        ))
                    })?;
                    if !plans.contains(&plan) {
                        plans.push(plan);
                    }
                }
            }
            Some(other) => {
                return Err(Error::invalid(format!(
                    "profile.student-loan-plans must be a list of plans such as [\"plan-2\"], got {other}; accepted plans are {PLAN_NAMES}"
                )));
            }
        }
        plans.sort();
        let postgraduate = match obj.get("postgraduate-loan") {
            None => false,
            Some(v) => v.as_bool().ok_or_else(|| {
                Error::invalid(format!(
                    "profile.postgraduate-loan must be true or false, got {v}"
                ))
            })?,
        };
        Ok(Loans {
            plans,
            postgraduate,
        })
    }
}

/// The deductions of one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoanDeductions {
    /// Student loan (plans), pence, with the plan whose threshold applied.
    pub student: Option<(Plan, i64)>,
    /// Postgraduate loan, pence.
    pub postgraduate: Option<i64>,
    /// Explanations for the payslip notes.
    pub notes: Vec<String>,
}

impl LoanDeductions {
    /// The payslip lines: `gb-student-loan` and `gb-postgraduate-loan`, when not zero.
    pub fn lines(&self) -> Vec<Line> {
        let mut out = Vec::new();
        if let Some((plan, amount)) = self.student.filter(|(_, a)| *a != 0) {
            out.push(Line {
                code: "gb-student-loan".into(),
                description: format!("Student loan repayment ({})", plan.label()),
                amount,
                kind: LineKind::EmployeeContribution,
            });
        }
        if let Some(amount) = self.postgraduate.filter(|a| *a != 0) {
            out.push(Line {
                code: "gb-postgraduate-loan".into(),
                description: "Postgraduate loan repayment".into(),
                amount,
                kind: LineKind::EmployeeContribution,
            });
        }
        out
    }
}

/// Compute the loan deductions on `earnings` (NI-able pay of the period, pence).
pub fn compute(
    loans: &Loans,
    year: &LoanThresholds,
    year_name: &str,
    earnings: i64,
    monthly: bool,
    weeks: i64,
) -> LoanDeductions {
    let mut out = LoanDeductions::default();
    let money = super::money;
    // The plan with the lowest threshold among those collected this year.
    let lowest = loans
        .plans
        .iter()
        .filter_map(|&p| year.plan(p).map(|t| (t, p)))
        .min();
    for &plan in &loans.plans {
        if year.plan(plan).is_none() {
            out.notes.push(format!(
                "student loan {}: no repayments are collected through payroll in {year_name} (Plan 5 deductions start on 6 April 2026)",
                plan.label()
            ));
        }
    }
    if let Some((annual, plan)) = lowest {
        let threshold = period_threshold(annual, monthly, weeks);
        let amount = deduction(earnings, threshold, PLAN_RATE_BP);
        let also = if loans.plans.len() > 1 {
            " (the lowest threshold of the employee's plans)"
        } else {
            ""
        };
        out.notes.push(format!(
            "student loan {}: 9% of earnings {} above the period threshold {}{also}, rounded down to the pound",
            plan.label(),
            money(earnings),
            money(threshold)
        ));
        out.student = Some((plan, amount));
    }
    if loans.postgraduate {
        let threshold = period_threshold(year.pgl, monthly, weeks);
        let amount = deduction(earnings, threshold, PGL_RATE_BP);
        out.notes.push(format!(
            "postgraduate loan: 6% of earnings {} above the period threshold {}, rounded down to the pound",
            money(earnings),
            money(threshold)
        ));
        out.postgraduate = Some(amount);
    }
    out
}
