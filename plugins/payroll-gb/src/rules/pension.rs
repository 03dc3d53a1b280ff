//! Workplace pension contributions under automatic enrolment (Pensions Act 2008).
//!
//! * **Earnings.** By default contributions are a percentage of the period's
//!   *qualifying earnings*: pay between the lower and upper levels of the qualifying
//!   earnings band for the pay reference period (Pensions Act 2008 ss. 13 and 15A,
//!   figures from The Pensions Regulator below). `"earnings": "all"` takes the whole
//!   gross pay of the period instead (a scheme certified on pensionable pay). The
//!   earnings are those before any salary sacrifice.
//! * **Rounding.** Each contribution is rounded half up to the penny. Neither the Act
//!   nor TPR prescribes a rounding; schemes differ, so check your provider's rule.
//! * **How the employee's share is taken** (HMRC Pensions Tax Manual PTM044210 the
//!   three methods, PTM044220 relief at source, PTM044230 net pay arrangement; HMRC,
//!   "Salary sacrifice and the effects on PAYE" for salary sacrifice):
//!   * `relief-at-source`: deducted from pay after tax and National Insurance at 80% of
//!     the contribution; the scheme claims the relief at the relevant rate, 20% (the
//!     basic rate in 2025-26 and 2026-27, which is also the Scottish and Welsh basic
//!     rate in both years), from HMRC (Finance Act 2004 s. 192).
//!   * `net-pay`: deducted in full before tax (pay for PAYE falls by it); National
//!     Insurance and student loans are still due on the whole gross pay.
//!   * `salary-sacrifice`: the employee gives up that much pay, and the employer pays
//!     it into the scheme: pay for PAYE, National Insurance and student loans all fall
//!     by it. The payslip shows it as the line `gb-salary-sacrifice` because the
//!     payslip's gross is the pay before the sacrifice.
//! * The statutory minimums (3% employer, 8% in total, of qualifying earnings) and the
//!   £10,000 earnings trigger decide who must be enrolled and at what rates; they are
//!   the employer's choice of inputs here and are not enforced.

use backoffice_sdk::payroll::{Frequency, Line, LineKind};
use backoffice_sdk::{Error, Result};

/// The lower and upper levels of qualifying earnings for one pay reference period, in
/// whole pounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    /// Lower level of qualifying earnings.
    pub lower: i64,
    /// Upper level of qualifying earnings.
    pub upper: i64,
}

/// The Pensions Regulator, "Automatic enrolment earnings thresholds", 2025-2026
/// (annual £6,240 to £50,270; trigger £10,000), as published per pay reference period:
/// 1 week £120 to £967, fortnight £240 to £1,934, 4 weeks £480 to £3,867, 1 month £520
/// to £4,189. For 2026-27 the DWP kept every threshold unchanged (GOV.UK, "Review of
/// the automatic enrolment earnings trigger and qualifying earnings band for
/// 2026/27"), so the same period figures apply in both years.
pub fn band(frequency: Frequency) -> Band {
    match frequency {
        Frequency::Weekly => Band {
            lower: 120,
            upper: 967,
        },
        Frequency::Biweekly => Band {
            lower: 240,
            upper: 1_934,
        },
        Frequency::FourWeekly => Band {
            lower: 480,
            upper: 3_867,
        },
        _ => Band {
            lower: 520,
            upper: 4_189,
        },
    }
}

/// How the employee's contribution is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Deducted after tax at 80%.
    ReliefAtSource,
    /// Deducted before tax.
    NetPay,
    /// Pay given up for an employer contribution.
    SalarySacrifice,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::ReliefAtSource => "relief at source",
            Scheme::NetPay => "net pay arrangement",
            Scheme::SalarySacrifice => "salary sacrifice",
        }
    }
}

/// The employee's share: a percentage (basis points) of the earnings, or a fixed
/// amount per period (pence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Basis points of the pensionable earnings.
    Percent(i64),
    /// Pence per pay period.
    Amount(i64),
}

/// The `pension` object of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pension {
    /// How the employee's share is taken.
    pub scheme: Scheme,
    /// The employee's share (before relief at source).
    pub employee: Share,
    /// The employer's percentage, in basis points.
    pub employer_bp: i64,
    /// Qualifying earnings (true) or all pay of the period (false).
    pub qualifying: bool,
}

const FIELDS: &str =
    "'scheme', 'employee-percent', 'employee-amount', 'employer-percent' and 'earnings'";

impl Pension {
    /// Read the optional `pension` object of the profile.
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Option<Pension>> {
        let Some(value) = value else { return Ok(None) };
        let obj = value.as_object().ok_or_else(|| {
            Error::invalid(format!(
                "profile.pension must be an object with {FIELDS}, got {value}"
            ))
        })?;
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "scheme" | "employee-percent" | "employee-amount" | "employer-percent" | "earnings"
            ) {
                return Err(Error::invalid(format!(
                    "profile.pension field '{key}' is not known: accepted fields are {FIELDS}"
                )));
            }
        }
        let scheme = match obj.get("scheme").and_then(|v| v.as_str()) {
            Some("relief-at-source") => Scheme::ReliefAtSource,
            Some("net-pay") => Scheme::NetPay,
            Some("salary-sacrifice") => Scheme::SalarySacrifice,
            _ => {
                return Err(Error::invalid(format!(
                    "profile.pension.scheme {} is not known: accepted are \"relief-at-source\", \"net-pay\" and \"salary-sacrifice\"",
                    obj.get("scheme")
                        .map_or("(missing)".to_string(), |v| v.to_string())
                )));
            }
        };
        let employee = match (obj.get("employee-percent"), obj.get("employee-amount")) {
            (Some(p), None) => Share::Percent(percent("employee-percent", p)?),
            (None, Some(a)) => Share::Amount(a.as_i64().filter(|a| *a >= 0).ok_or_else(|| {
                Error::invalid(format!(
                    "profile.pension.employee-amount must be a whole number of pence per pay period, zero or more, got {a}"
                ))
            })?),
            (None, None) => Share::Percent(0),
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "profile.pension: give either employee-percent or employee-amount, not both",
                ));
            }
        };
        let employer_bp = match obj.get("employer-percent") {
            None => 0,
            Some(p) => percent("employer-percent", p)?,
        };
        let qualifying = match obj.get("earnings").map(|v| v.as_str()) {
            None | Some(Some("qualifying")) => true,
            Some(Some("all")) => false,
            Some(_) => {
                return Err(Error::invalid(format!(
                    "profile.pension.earnings {} is not known: accepted are \"qualifying\" (the qualifying earnings band, the default) and \"all\" (all pay of the period)",
                    obj.get("earnings").map_or(String::new(), |v| v.to_string())
                )));
            }
        };
        Ok(Some(Pension {
            scheme,
            employee,
            employer_bp,
            qualifying,
        }))
    }
}

/// A percentage given as a decimal string with at most two decimals, 0 to 100, in
/// basis points.
fn percent(field: &str, value: &serde_json::Value) -> Result<i64> {
    let bad = || {
        Error::invalid(format!(
            "profile.pension.{field} must be a percentage from \"0\" to \"100\" as a string with at most two decimals, e.g. \"5\" or \"3.5\", got {value}"
        ))
    };
    let s = value.as_str().ok_or_else(bad)?;
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 2
        || (s.contains('.') && frac.is_empty())
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let bp = whole * 100 + frac;
    if bp > 10_000 {
        return Err(bad());
    }
    Ok(bp)
}

/// Half up to the penny: `pence × bp / 10_000`.
fn pct(pence: i64, bp: i64) -> i64 {
    (pence * bp + 5_000) / 10_000
}

/// The contributions of one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contributions {
    /// How the employee's share was taken.
    pub scheme: Scheme,
    /// The employee's contribution before any relief at source, pence.
    pub employee_gross: i64,
    /// What is taken from the employee's pay (80% of it at relief at source), pence.
    pub employee_deducted: i64,
    /// The employer's contribution, pence.
    pub employer: i64,
    /// What the contribution takes off pay for PAYE.
    pub reduces_taxable: i64,
    /// What the contribution takes off pay for National Insurance and student loans.
    pub reduces_ni: i64,
    /// Explanations for the payslip notes.
    pub notes: Vec<String>,
}

/// Compute the period's contributions on `gross` pence.
pub fn compute(
    p: &Pension,
    gross: i64,
    frequency: Frequency,
    year_name: &str,
) -> Result<Contributions> {
    let band = band(frequency);
    let earnings = if p.qualifying {
        (gross.min(band.upper * 100) - band.lower * 100).max(0)
    } else {
        gross
    };
    let money = super::money;
    let mut notes = vec![if p.qualifying {
        format!(
            "pension ({}): qualifying earnings {} (pay between {} and {} for a {frequency} period, {year_name})",
            p.scheme.name(),
            money(earnings),
            money(band.lower * 100),
            money(band.upper * 100)
        )
    } else {
        format!(
            "pension ({}): contributions on all pay of the period, {}",
            p.scheme.name(),
            money(earnings)
        )
    }];
    let employee_gross = match p.employee {
        Share::Percent(bp) => pct(earnings, bp),
        // No pay, nothing to deduct a fixed amount from.
        Share::Amount(_) if gross == 0 => 0,
        Share::Amount(a) => a,
    };
    if employee_gross > gross {
        return Err(Error::invalid(format!(
            "profile.pension: the employee contribution of {} is more than the pay of the period, {}; a contribution may be at most the pay",
            money(employee_gross),
            money(gross)
        )));
    }
    let employer = pct(earnings, p.employer_bp);
    let (employee_deducted, reduces_taxable, reduces_ni) = match p.scheme {
        Scheme::ReliefAtSource => {
            let net = pct(employee_gross, 8_000);
            if employee_gross > 0 {
                notes.push(format!(
                    "pension relief at source: contribution {}, of which {} taken from net pay and {} basic-rate relief claimed by the scheme",
                    money(employee_gross),
                    money(net),
                    money(employee_gross - net)
                ));
            }
            (net, 0, 0)
        }
        Scheme::NetPay => (employee_gross, employee_gross, 0),
        Scheme::SalarySacrifice => (employee_gross, employee_gross, employee_gross),
    };
    Ok(Contributions {
        scheme: p.scheme,
        employee_gross,
        employee_deducted,
        employer,
        reduces_taxable,
        reduces_ni,
        notes,
    })
}

impl Contributions {
    /// The employee's line, when anything is taken from pay: `gb-pension-employee`
    /// (relief at source, net pay arrangement) or `gb-salary-sacrifice`.
    pub fn employee_line(&self) -> Option<Line> {
        let (code, description) = match self.scheme {
            Scheme::ReliefAtSource => (
                "gb-pension-employee",
                "Pension contribution (relief at source, 80% of the contribution)",
            ),
            Scheme::NetPay => (
                "gb-pension-employee",
                "Pension contribution (net pay arrangement, before tax)",
            ),
            Scheme::SalarySacrifice => (
                "gb-salary-sacrifice",
                "Pension salary sacrifice (before tax and National Insurance)",
            ),
        };
        (self.employee_deducted != 0).then(|| Line {
            code: code.into(),
            description: description.into(),
            amount: self.employee_deducted,
            kind: LineKind::EmployeeContribution,
        })
    }

    /// The employer's line `gb-pension-employer`, when not zero.
    pub fn employer_line(&self) -> Option<Line> {
        (self.employer != 0).then(|| Line {
            code: "gb-pension-employer".into(),
            description: "Employer pension contribution".into(),
            amount: self.employer,
            kind: LineKind::EmployerContribution,
        })
    }
}
