//! UK payroll rules: PAYE income tax and Class 1 National Insurance, tax years
//! 2025-26 and 2026-27.
//!
//! # What is computed
//!
//! * **PAYE income tax** by HMRC's "Specification for PAYE Tax Table Routines" (v24.0,
//!   February 2026): cumulative and week 1 / month 1 basis; suffix codes (L, M, N, T,
//!   including `0T`), prefix K codes with the 50% overriding limit, BR, D0/D1 (and the
//!   Scottish SD0..SD3), NT; prefix S for Scottish rates (starter, basic,
//!   intermediate, higher, advanced, top) and prefix C for Welsh rates (equal to the
//!   rest-of-UK rates in these years). See [`paye`] for every rounding step.
//! * **Class 1 National Insurance**, employee and employer, by the exact percentage
//!   method, categories A, B, C, H, J, M, X and Z. See [`ni`].
//! * **Student and postgraduate loans** (plans 1, 2, 4, 5 and the postgraduate loan),
//!   9% / 6% of the period's NI-able pay above the threshold, rounded down to the
//!   pound. See [`loans`].
//! * **Workplace pensions** under automatic enrolment: qualifying earnings, relief at
//!   source, net pay arrangement and salary sacrifice. See [`pension`].
//!
//! # Periods
//!
//! Frequencies `weekly`, `biweekly` (fortnightly), `four-weekly` and `monthly`. The
//! tax year runs 6 April to 5 April; tax week 1 is 6-12 April and tax month 1 is
//! 6 April to 5 May. The period is the tax week (weekly, fortnightly and four-weekly
//! pay) or tax month (monthly pay) in which the pay date falls, and is returned as
//! [`Payslip::period`]. Cumulative free pay and thresholds are those of that week or
//! month (spec 13.1). On the week 1 / month 1 basis a fortnightly or four-weekly
//! payment uses the week 1 figures times 2 or 4 (spec 13.5). A pay date in tax week
//! 53 (5 April, or 4-5 April in a leap year) is taxed on the week 1 basis with the
//! figures for the weeks in the pay interval (spec 14, weeks 53, 54 and 56).
//!
//! # Profile
//!
//! `tax-code` (required, e.g. `1257L`, `S1257L`, `C1257L`, `K475`, `BR`, `D0`, `NT`,
//! `0T`, optionally followed by ` W1`, ` M1` or ` X`), `basis` (`cumulative`, the
//! default, or `week1-month1`), `ni-category` (default `A`), `student-loan-plans`
//! (e.g. `["plan-2"]`), `postgraduate-loan` (`true`/`false`) and `pension`
//! (`{"scheme": "net-pay", "employee-percent": "5", "employer-percent": "3"}`). See
//! [`profile_schema`].
//!
//! # Year-to-date codes
//!
//! Input `ytd` holds the figures of this employment for the tax year *before* this
//! payment; the output holds them *after* it (previous + this period). Missing codes
//! count as zero; unknown codes are refused.
//!
//! | code          | meaning                                                          |
//! |---------------|------------------------------------------------------------------|
//! | `taxable-pay` | total pay to date for PAYE (P11 column 3, FPS "taxable pay to date"); the cumulative basis adds this period's gross to it |
//! | `tax`         | tax deducted to date, net of refunds (P11 column 7 summed, FPS "total tax to date"); the cumulative basis deducts the tax due to date minus this |
//! | `ni-employee` | employee Class 1 contributions to date                           |
//! | `ni-employer` | employer Class 1 contributions to date                           |
//! | `ni-at-lel`, `ni-lel-pt`, `ni-pt-uel` | NI earnings bands to date, as the FPS reports them: earnings at the LEL, above the LEL up to the PT, above the PT up to the UEL (see [`ni::Bands`]); a bonus adds the part its period's aggregated earnings bring |
//! | `student-loan`, `postgraduate-loan` | loan deductions to date (only once the employee has a loan) |
//! | `pension-employee`, `pension-employer` | pension contributions to date, the employee's before relief at source (only with a pension) |
//! | `period` | the earnings period of the last payment: periods per year × 100 + tax month or week (1201 = month 1, 5203 = week 3) |
//! | `period-ni-pay`, `period-ni-employee`, `period-ni-employer` | NI-able pay and NICs of all payments in that period |
//!
//! # Bonuses (`payment` "bonus", issue 22)
//!
//! A bonus is an extra payment in the tax month or week of its pay date. PAYE needs
//! nothing new: on the cumulative basis the tax due to date is figured on
//! `taxable-pay` (which already holds the period's regular pay when that was paid
//! first) plus the bonus with the same period's free pay and bands, minus the tax
//! paid to date (Specification for PAYE Tax Table Routines v24.0, cumulative basis).
//! Class 1 NICs are worked out on all the earnings paid in the same earnings period
//! together (HMRC CWG2 (2026), more than one payment in an earnings period), minus the
//! NICs already deducted in it; every payment does this, so a regular payment after a
//! bonus in its period is aggregated too. The period is matched by the tax month
//! (monthly) or the tax week of the pay date (weekly, fortnightly, four-weekly: a
//! fortnightly bonus aggregates only with a payment in the same tax week). Refused
//! for a bonus: the week 1/month 1 basis, tax week 53, student and postgraduate
//! loans, pensions.
//!
//! # Lines
//!
//! | code             | kind                  | when                                        |
//! |------------------|-----------------------|---------------------------------------------|
//! | `gb-paye`        | employee tax          | tax deducted this period (positive)         |
//! | `gb-paye-refund` | employee tax          | tax refunded this period (negative), cumulative basis only |
//! | `gb-ni-employee` | employee contribution | employee (primary) Class 1 NICs             |
//! | `gb-ni-employer` | employer contribution | employer (secondary) Class 1 NICs           |
//! | `gb-student-loan` | employee contribution | student loan repayment (the plan with the lowest threshold) |
//! | `gb-postgraduate-loan` | employee contribution | postgraduate loan repayment            |
//! | `gb-pension-employee` | employee contribution | pension, relief at source (80%) or net pay arrangement |
//! | `gb-salary-sacrifice` | employee contribution | pay given up for the pension (salary sacrifice) |
//! | `gb-pension-employer` | employer contribution | employer pension contribution          |
//!
//! Lines with a zero amount are left out.
//!
//! # Not covered
//!
//! Directors' annual earnings periods, salary sacrifice for anything but the pension
//! and other pre-tax deductions, the national minimum wage check on sacrificed pay,
//! the student loan "more than one plan" split once an SL1 names the plan, freeport, investment zone and
//! veteran categories (F, I, L, S, N, E, D, K, V), mariners, payments after leaving,
//! quarterly and other irregular intervals, NI credits, directors' earnings bands (the
//! annual earnings period: the bands here are per pay period).

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{CalcInput, Frequency, Line, LineKind, Payslip, Support};
use backoffice_sdk::{Error, Result};

pub mod loans;
pub mod ni;
pub mod params;
pub mod paye;
pub mod pension;

#[cfg(test)]
mod band_tests;
#[cfg(test)]
mod bonus_tests;
#[cfg(test)]
mod deduction_tests;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

use loans::Loans;
use ni::Category;
use params::{Regime, YEARS, YearParams};
use pension::Pension;

/// The frequencies these rules accept.
const FREQUENCIES: [Frequency; 4] = [
    Frequency::Weekly,
    Frequency::Biweekly,
    Frequency::FourWeekly,
    Frequency::Monthly,
];

/// The largest gross pay accepted, in pence (£10 billion); year-to-date figures may
/// be up to 100 times this. Bounds keep every sum in range (as payroll-us).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// The year-to-date codes these rules read and return; the last four describe the
/// current earnings period (see [`PeriodSoFar`]).
pub const YTD_CODES: [&str; 15] = [
    "taxable-pay",
    "tax",
    "ni-employee",
    "ni-employer",
    "ni-at-lel",
    "ni-lel-pt",
    "ni-pt-uel",
    "student-loan",
    "postgraduate-loan",
    "pension-employee",
    "pension-employer",
    "period",
    "period-ni-pay",
    "period-ni-employee",
    "period-ni-employer",
];

/// What these rules support.
pub fn support() -> Support {
    Support {
        countries: vec!["GB".into()],
        currency: "GBP".into(),
        tax_years: YEARS.iter().map(|y| y.name.to_string()).collect(),
        frequencies: FREQUENCIES.to_vec(),
    }
}

/// JSON Schema of the tax profile.
pub fn profile_schema() -> serde_json::Value {
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "UK PAYE and National Insurance profile",
        "description": "The employee's tax code as HMRC issued it (P45, P6/P9 coding notice or starter checklist) and National Insurance category letter.",
        "type": "object",
        "additionalProperties": false,
        "required": ["tax-code"],
        "properties": {
            "tax-code": {
                "type": "string",
                "description": "HMRC tax code: a number with suffix L, M, N or T (1257L, 0T), K followed by a number (K475), BR, D0, D1 or NT; prefix S for a Scottish taxpayer (S1257L, SBR, SD0..SD3), C for a Welsh taxpayer (C1257L). May end with ' W1', ' M1' or ' X' for the week 1/month 1 (non-cumulative) basis, e.g. the emergency code '1257L M1'.",
                "pattern": "^\\s*[SsCc]?([0-9]{1,6}[LMNTlmnt]|[Kk][0-9]{1,6}|[Bb][Rr]|[Dd][0-9]|[Nn][Tt])(\\s+([Ww]1|[Mm]1|[Xx]))?\\s*$",
                "examples": ["1257L", "S1257L", "C1257L", "K475", "BR", "D0", "NT", "0T", "1257L M1"]
            },
            "basis": {
                "type": "string",
                "enum": ["cumulative", "week1-month1"],
                "default": "cumulative",
                "description": "PAYE basis: 'cumulative' (tax on pay to date, refunds possible) or 'week1-month1' (each payment taxed on its own, as HMRC instructs with a W1/M1/X code). A ' W1', ' M1' or ' X' ending on the tax code means 'week1-month1'."
            },
            "ni-category": {
                "type": "string",
                "enum": ["A", "B", "C", "H", "J", "M", "X", "Z"],
                "default": "A",
                "description": "Class 1 National Insurance category letter: A standard; B married woman or widow paying the reduced rate; C over State Pension age; H apprentice under 25; J deferment; M under 21; X not liable (e.g. under 16); Z under 21 with deferment."
            },
            "student-loan-plans": {
                "type": "array",
                "items": {"type": "string", "enum": ["plan-1", "plan-2", "plan-4", "plan-5"]},
                "uniqueItems": true,
                "default": [],
                "description": "Student loan repayment plans from the SL1 start notice, P45 or starter checklist. With more than one plan, 9% is deducted above the lowest threshold of them."
            },
            "postgraduate-loan": {
                "type": "boolean",
                "default": false,
                "description": "The employee repays a postgraduate loan (6% above its threshold), alone or together with a plan."
            },
            "payment": {
                "type": "string",
                "enum": ["regular", "bonus"],
                "default": "regular",
                "description": "Set by payroll per payment, never stored with the employee: 'bonus' for an extra payment (a bonus run) in the same tax period as the regular pay. PAYE is cumulative on the pay to date as for any payment; National Insurance is figured on all the earnings of the period together (HMRC CWG2), less what was already deducted in it. Cumulative basis only; not with student loans or a pension (refused)."
            },
            "pension": {
                "type": "object",
                "additionalProperties": false,
                "required": ["scheme"],
                "description": "Workplace pension (automatic enrolment). Contributions are a percentage of qualifying earnings (or of all pay), each rounded half up to the penny.",
                "properties": {
                    "scheme": {"type": "string", "enum": ["relief-at-source", "net-pay", "salary-sacrifice"], "description": "relief-at-source: 80% of the employee contribution taken after tax; net-pay: taken before tax; salary-sacrifice: pay given up, reducing pay for tax, NI and student loans."},
                    "employee-percent": {"type": "string", "pattern": "^[0-9]{1,3}(\\.[0-9]{1,2})?$", "description": "Employee contribution, percent of the pensionable earnings, e.g. \"5\" (before relief at source)."},
                    "employee-amount": {"type": "integer", "minimum": 0, "description": "Instead of a percentage: a fixed employee contribution per pay period, pence."},
                    "employer-percent": {"type": "string", "pattern": "^[0-9]{1,3}(\\.[0-9]{1,2})?$", "default": "0", "description": "Employer contribution, percent of the pensionable earnings, e.g. \"3\"."},
                    "earnings": {"type": "string", "enum": ["qualifying", "all"], "default": "qualifying", "description": "qualifying: pay between the lower and upper levels of qualifying earnings for the period; all: all pay of the period."}
                }
            }
        }
    })
}

/// Compute one payslip.
pub fn calculate(input: &CalcInput) -> Result<Payslip> {
    if input.country != "GB" {
        return Err(Error::invalid(format!(
            "country '{}' is not supported by payroll-gb: it computes 'GB' (United Kingdom) only",
            input.country
        )));
    }
    if input.currency != "GBP" {
        return Err(Error::invalid(format!(
            "currency '{}' is not supported by payroll-gb: UK payroll amounts are in 'GBP' (pence)",
            input.currency
        )));
    }
    if input.gross < 0 {
        return Err(Error::invalid(format!(
            "gross {} is negative: gross pay must be zero or more pence",
            input.gross
        )));
    }
    if input.gross > MAX_AMOUNT {
        return Err(Error::invalid(format!(
            "gross {} is above the largest amount accepted, {MAX_AMOUNT} pence",
            input.gross
        )));
    }
    if !FREQUENCIES.contains(&input.frequency) {
        return Err(Error::invalid(format!(
            "frequency '{}' is not supported by payroll-gb: UK PAYE tables exist for weekly, biweekly (fortnightly), four-weekly and monthly pay",
            input.frequency
        )));
    }
    let date = Date::parse(&input.pay_date)?;
    let year = year_for(&date)?;
    let profile = Profile::parse(&input.profile)?;
    let ytd = Ytd::parse(&input.ytd)?;
    let regime = profile.code.regime(year);
    let kind = profile.code.resolve(regime)?;

    // Period within the tax year.
    let days = date.days_since(year.start_year, 4, 6);
    let (period, periods_per_year, weeks_in_interval) = match input.frequency {
        Frequency::Monthly => (date.tax_month(), 12, 1),
        Frequency::Weekly => (days / 7 + 1, 52, 1),
        Frequency::Biweekly => (days / 7 + 1, 52, 2),
        _ => (days / 7 + 1, 52, 4),
    };
    let mut notes = Vec::new();
    let mut cumulative = profile.cumulative;
    if profile.bonus {
        refuse_unsupported_bonus(&profile, period, periods_per_year)?;
    }
    if periods_per_year == 52 && period == 53 && cumulative {
        cumulative = false;
        notes.push(format!(
            "pay date {} is in tax week 53: taxed on the week 1 basis for {} week(s) (PAYE tax table routines, paragraph 14)",
            input.pay_date, weeks_in_interval
        ));
    }

    // Pension first: a net pay arrangement lowers pay for PAYE, a salary sacrifice
    // also pay for National Insurance and student loans.
    let pension = match &profile.pension {
        Some(p) => Some(pension::compute(
            p,
            input.gross,
            input.frequency,
            year.name,
        )?),
        None => None,
    };
    let (taxable_gross, ni_gross) = pension.as_ref().map_or((input.gross, input.gross), |c| {
        (input.gross - c.reduces_taxable, input.gross - c.reduces_ni)
    });

    // PAYE.
    let paye = compute_paye(
        &kind,
        regime,
        year,
        taxable_gross,
        &ytd,
        cumulative,
        i64::from(period),
        periods_per_year,
        weeks_in_interval,
    );
    notes.push(format!(
        "tax code {} ({} rates {}), {} basis, tax {} {}",
        profile.code.text,
        regime.name,
        year.name,
        if cumulative {
            "cumulative"
        } else {
            "week 1/month 1"
        },
        if periods_per_year == 12 {
            "month"
        } else {
            "week"
        },
        period
    ));
    notes.extend(paye.notes.iter().cloned());

    // National Insurance.
    let thresholds = match input.frequency {
        Frequency::Monthly => year.ni_monthly,
        _ => year.ni_weekly.times(weeks_in_interval),
    };
    // Earlier payments in the same earnings period are aggregated with this one.
    let key = periods_per_year * 100 + i64::from(period);
    let before = if ytd.period.key == key {
        ytd.period
    } else {
        PeriodSoFar {
            key,
            ..PeriodSoFar::default()
        }
    };
    let (all_employee, all_employer) = ni::contributions(
        before.ni_pay + ni_gross,
        &thresholds,
        &year.ni_rates,
        profile.category,
    );
    let (ni_employee, ni_employer) = (
        all_employee - before.ni_employee,
        all_employer - before.ni_employer,
    );
    // The FPS earnings bands of the period, less those of the earlier payments in it
    // (aggregated like the NICs): what this payment adds.
    let bands = ni::Bands::of(before.ni_pay + ni_gross, &thresholds, profile.category)
        .minus(ni::Bands::of(before.ni_pay, &thresholds, profile.category));
    if before.ni_pay > 0 || before.ni_employee > 0 {
        notes.push(format!(
            "National Insurance on the earnings of the period together (HMRC CWG2): {} paid earlier in this period + {} now, less {} employee and {} employer NICs already deducted",
            money(before.ni_pay),
            money(ni_gross),
            money(before.ni_employee),
            money(before.ni_employer)
        ));
    }
    notes.push(format!(
        "National Insurance category {}, {} thresholds: LEL {}, PT {}, ST {}, UEL {}",
        profile.category.letter(),
        input.frequency,
        money(thresholds.lel * 100),
        money(thresholds.pt * 100),
        money(thresholds.st * 100),
        money(thresholds.uel * 100),
    ));

    // Student and postgraduate loans, on the NI-able pay of the period.
    let loans = loans::compute(
        &profile.loans,
        &year.loans,
        year.name,
        ni_gross,
        input.frequency == Frequency::Monthly,
        weeks_in_interval,
    );
    notes.extend(loans.notes.iter().cloned());
    if let Some(c) = &pension {
        notes.extend(c.notes.iter().cloned());
    }

    let mut lines = Vec::new();
    if paye.deducted > 0 {
        lines.push(Line {
            code: "gb-paye".into(),
            description: "Income tax (PAYE)".into(),
            amount: paye.deducted,
            kind: LineKind::EmployeeTax,
        });
    } else if paye.deducted < 0 {
        lines.push(Line {
            code: "gb-paye-refund".into(),
            description: "Income tax refund (PAYE)".into(),
            amount: paye.deducted,
            kind: LineKind::EmployeeTax,
        });
    }
    if ni_employee != 0 {
        lines.push(Line {
            code: "gb-ni-employee".into(),
            description: format!(
                "Employee National Insurance (Class 1, category {})",
                profile.category.letter()
            ),
            amount: ni_employee,
            kind: LineKind::EmployeeContribution,
        });
    }
    let student_loan = loans.student.map_or(0, |(_, amount)| amount);
    let postgraduate_loan = loans.postgraduate.unwrap_or(0);
    lines.extend(loans.lines());
    lines.extend(
        pension
            .as_ref()
            .and_then(pension::Contributions::employee_line),
    );
    if ni_employer != 0 {
        lines.push(Line {
            code: "gb-ni-employer".into(),
            description: format!(
                "Employer National Insurance (Class 1, category {})",
                profile.category.letter()
            ),
            amount: ni_employer,
            kind: LineKind::EmployerContribution,
        });
    }

    lines.extend(
        pension
            .as_ref()
            .and_then(pension::Contributions::employer_line),
    );
    let pension_employer = pension.as_ref().map_or(0, |c| c.employer);

    let mut out = BTreeMap::new();
    out.insert("taxable-pay".to_string(), ytd.taxable_pay + taxable_gross);
    out.insert("tax".to_string(), ytd.tax + paye.deducted);
    out.insert("ni-employee".to_string(), ytd.ni_employee + ni_employee);
    out.insert("ni-employer".to_string(), ytd.ni_employer + ni_employer);
    out.insert("ni-at-lel".to_string(), ytd.bands.at_lel + bands.at_lel);
    out.insert("ni-lel-pt".to_string(), ytd.bands.lel_pt + bands.lel_pt);
    out.insert("ni-pt-uel".to_string(), ytd.bands.pt_uel + bands.pt_uel);
    out.insert("period".to_string(), key);
    out.insert("period-ni-pay".to_string(), before.ni_pay + ni_gross);
    out.insert("period-ni-employee".to_string(), all_employee);
    out.insert("period-ni-employer".to_string(), all_employer);
    // The loan and pension codes appear once the employee has them (or had them
    // earlier in the year), so payslips without them keep the four PAYE/NI codes.
    let mut extra = |code: &str, before: i64, now: i64, has: bool| {
        if has || before != 0 {
            out.insert(code.to_string(), before + now);
        }
    };
    extra(
        "student-loan",
        ytd.student_loan,
        student_loan,
        !profile.loans.plans.is_empty(),
    );
    extra(
        "postgraduate-loan",
        ytd.postgraduate_loan,
        postgraduate_loan,
        profile.loans.postgraduate,
    );
    let has_pension = pension.is_some();
    extra(
        "pension-employee",
        ytd.pension_employee,
        pension.as_ref().map_or(0, |c| c.employee_gross),
        has_pension,
    );
    extra(
        "pension-employer",
        ytd.pension_employer,
        pension_employer,
        has_pension,
    );

    // Deductions may not take more than the pay: a net pay pension of the whole pay
    // still leaves National Insurance to deduct, for example.
    let deducted: i64 = lines
        .iter()
        .filter(|l| l.kind != LineKind::EmployerContribution)
        .map(|l| l.amount)
        .sum();
    if deducted > input.gross {
        return Err(Error::invalid(format!(
            "the deductions of the period, {}, are more than the pay, {}: lower the pension contribution (profile.pension) so that tax, National Insurance, loans and pension fit in the pay",
            money(deducted),
            money(input.gross)
        )));
    }

    Ok(Payslip::new(
        input,
        year.name,
        Some(period),
        lines,
        out,
        notes,
    ))
}

/// What a bonus (`payment` "bonus") does not support yet, refused with the reason.
fn refuse_unsupported_bonus(profile: &Profile, period: u32, periods_per_year: i64) -> Result<()> {
    let why = if !profile.cumulative {
        Some("the week 1/month 1 basis (the tax of the period would have to be aggregated as well)")
    } else if periods_per_year == 52 && period == 53 {
        Some("a pay date in tax week 53")
    } else if !profile.loans.plans.is_empty() || profile.loans.postgraduate {
        Some("student or postgraduate loans (the period's repayment would have to be aggregated)")
    } else if profile.pension.is_some() {
        Some("a workplace pension (qualifying earnings are per pay reference period)")
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::invalid(format!(
            "profile.payment 'bonus': payroll-gb does not compute bonuses with {why} yet; pay the bonus with the regular pay of the period instead"
        ))),
        None => Ok(()),
    }
}

/// The result of the PAYE routine for one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayeResult {
    /// Tax deducted (positive) or refunded (negative) this period, in pence.
    pub deducted: i64,
    /// Explanations for the payslip notes.
    pub notes: Vec<String>,
}

/// The PAYE routine (spec 4 to 14) for one payment of `gross` pence.
///
/// `n` is the tax week or month number and `periods` 52 or 12; `weeks` the number
/// of weeks in the pay interval (1, 2 or 4; 1 for monthly pay).
#[allow(clippy::too_many_arguments)]
pub fn compute_paye(
    kind: &CodeKind,
    regime: &Regime,
    year: &YearParams,
    gross: i64,
    ytd: &Ytd,
    cumulative: bool,
    n: i64,
    periods: i64,
    weeks: i64,
) -> PayeResult {
    let mut notes = Vec::new();
    // Cumulative: pay, free pay and thresholds to date at period n (spec 4, 13.1).
    // Week 1/month 1: this payment alone, with the figures of week/month 1 times the
    // weeks in the interval (spec 8, 13.5, 14).
    let (pay, at) = if cumulative {
        (ytd.taxable_pay + gross, n)
    } else {
        (gross, weeks)
    };
    let due = match *kind {
        // Spec 7 and 11: code NT, no tax deducted or refunded.
        CodeKind::Nt => {
            notes.push("code NT: no tax deducted or refunded".into());
            return PayeResult { deducted: 0, notes };
        }
        // Spec 5, 9 (BR) and 6, 10 (Dx): the whole of the pay (to date), rounded down
        // to the pound, at one rate.
        CodeKind::Flat(rate) => flat_due(pay, rate, &mut notes),
        CodeKind::Suffix(code) | CodeKind::K(code) => {
            let is_k = matches!(kind, CodeKind::K(_));
            // Spec 4.3.1/4.3.2: pay adjustment to date = Table A Week 1/Month 1 value
            // × period number (each factor already a whole number of pence).
            let adjustment = paye::table_a_unit(code, periods) * at;
            // Spec 4.3.2: Un = Pn − free pay to date, or Pn + additional pay (K codes).
            let un = if is_k {
                pay + adjustment
            } else {
                pay - adjustment
            };
            notes.push(format!(
                "{} pay to date {}, taxable pay to date {}",
                if is_k { "additional" } else { "free" },
                money(adjustment),
                money(un)
            ));
            paye::tax_to_date(un, at, periods, regime)
        }
    };
    notes.push(format!("tax due to date {}", money(due)));
    let mut deducted = if cumulative {
        // Spec 4.5 Stage 4: tax this period = tax due to date − tax deducted to date;
        // negative is a refund.
        due - ytd.tax
    } else {
        // Spec 8.3: each payment in isolation, never a refund.
        due.max(0)
    };
    if matches!(kind, CodeKind::K(_)) {
        // Spec 4.5: for K codes the deduction may not exceed the overriding limit,
        // 50% of the pay in the period, rounded down to the penny.
        let limit = paye::overriding_limit(gross, year.overriding_limit_bp);
        if deducted > limit {
            notes.push(format!(
                "overriding limit: tax restricted to {} (50% of the pay in the period); {} not deducted",
                money(limit),
                money(deducted - limit)
            ));
            deducted = limit;
        }
    }
    PayeResult { deducted, notes }
}

fn flat_due(pay: i64, rate_bp: i64, notes: &mut Vec<String>) -> i64 {
    notes.push(format!(
        "whole of pay {} taxed at {}.{:02}%",
        money(paye::floor_pound(pay.max(0))),
        rate_bp / 100,
        rate_bp % 100
    ));
    paye::flat_tax(pay, rate_bp)
}

/// Pence as "£1,234.56" (with a leading minus when negative).
pub fn money(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let abs = pence.unsigned_abs();
    let pounds = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}£{grouped}.{:02}", abs % 100)
}

// ---------------------------------------------------------------------------------
// Dates and tax years.
// ---------------------------------------------------------------------------------

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Year.
    pub y: i32,
    /// Month 1..=12.
    pub m: u32,
    /// Day 1..=31.
    pub d: u32,
}

impl Date {
    /// Parse a strict `YYYY-MM-DD` date.
    pub fn parse(s: &str) -> Result<Date> {
        let bad = || {
            Error::invalid(format!(
                "pay-date '{s}' is not a valid date: expected YYYY-MM-DD, e.g. 2025-04-30"
            ))
        };
        let b = s.as_bytes();
        if b.len() != 10
            || b[4] != b'-'
            || b[7] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let y: i32 = s[0..4].parse().map_err(|_| bad())?;
        let m: u32 = s[5..7].parse().map_err(|_| bad())?;
        let d: u32 = s[8..10].parse().map_err(|_| bad())?;
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return Err(bad());
        }
        Ok(Date { y, m, d })
    }

    /// Days since 1970-01-01 (proleptic Gregorian).
    fn days(self) -> i64 {
        days_from_civil(self.y, self.m, self.d)
    }

    /// Days from `y-m-d` to this date.
    pub fn days_since(self, y: i32, m: u32, d: u32) -> u32 {
        (self.days() - days_from_civil(y, m, d)) as u32
    }

    /// The tax month (1 = 6 April to 5 May ... 12 = 6 March to 5 April).
    pub fn tax_month(self) -> u32 {
        let m = if self.d >= 6 { self.m } else { self.m + 11 };
        (m + 12 - 4) % 12 + 1
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days-from-civil algorithm.
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The tax year name for a start year: 2025 -> "2025-26".
fn tax_year_name(start: i32) -> String {
    format!("{}-{:02}", start, (start + 1).rem_euclid(100))
}

/// The parameters of the tax year the date falls in.
fn year_for(date: &Date) -> Result<&'static YearParams> {
    let start = if (date.m, date.d) >= (4, 6) {
        date.y
    } else {
        date.y - 1
    };
    YEARS.iter().find(|y| y.start_year == start).ok_or_else(|| {
        let names: Vec<&str> = YEARS.iter().map(|y| y.name).collect();
        Error::invalid(format!(
            "pay date {:04}-{:02}-{:02} is in tax year {}; payroll-gb has rules for {}",
            date.y,
            date.m,
            date.d,
            tax_year_name(start),
            names.join(" and ")
        ))
    })
}

// ---------------------------------------------------------------------------------
// Profile and tax codes.
// ---------------------------------------------------------------------------------

/// Which rates a tax code prefix selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// No prefix: England and Northern Ireland.
    RestOfUk,
    /// Prefix S.
    Scotland,
    /// Prefix C.
    Wales,
}

/// The body of a tax code, before the rates are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeBody {
    /// A number with suffix L, M, N or T.
    Suffix(u32),
    /// Prefix K and a number.
    K(u32),
    /// BR.
    Br,
    /// D and a digit.
    D(u32),
    /// NT.
    Nt,
}

/// How the PAYE routine treats a code, once the rates are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// Free pay from Table A.
    Suffix(u32),
    /// Additional pay from Table A, overriding limit.
    K(u32),
    /// The whole of the pay at one rate (BR, Dx), in basis points.
    Flat(i64),
    /// No tax.
    Nt,
}

/// A parsed tax code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxCode {
    /// The code as given, normalised (upper case, single space).
    pub text: String,
    /// Prefix S / C / none.
    pub region: Region,
    /// The body.
    pub body: CodeBody,
    /// Whether the code ends with W1, M1 or X.
    pub week1: bool,
}

impl TaxCode {
    /// Parse a tax code as HMRC writes it.
    pub fn parse(raw: &str) -> Result<TaxCode> {
        let bad = |why: &str| {
            Error::invalid(format!(
                "profile.tax-code '{raw}' is not a valid tax code ({why}): expected a number with suffix L, M, N or T (1257L, 0T), K and a number (K475), BR, D0, D1 or NT, optionally prefixed by S (Scottish) or C (Welsh) and followed by ' W1', ' M1' or ' X' for the week 1/month 1 basis"
            ))
        };
        let upper = raw.trim().to_ascii_uppercase();
        let mut parts = upper.split_whitespace();
        let code = parts.next().ok_or_else(|| bad("it is empty"))?;
        let week1 = match parts.next() {
            None => false,
            Some("W1" | "M1" | "X") => true,
            Some(_) => return Err(bad("the basis after the code must be W1, M1 or X")),
        };
        if parts.next().is_some() {
            return Err(bad("unexpected text after the basis"));
        }
        let (region, rest) = match code.as_bytes().first() {
            Some(b'S') => (Region::Scotland, &code[1..]),
            Some(b'C') => (Region::Wales, &code[1..]),
            _ => (Region::RestOfUk, code),
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|c| c.is_ascii_digit());
        let body = if rest == "BR" {
            CodeBody::Br
        } else if rest == "NT" {
            CodeBody::Nt
        } else if let Some(d) = rest.strip_prefix('D') {
            if d.len() != 1 || !digits(d) {
                return Err(bad("D must be followed by one digit"));
            }
            CodeBody::D(d.parse().map_err(|_| bad("bad D digit"))?)
        } else if let Some(k) = rest.strip_prefix('K') {
            if !digits(k) {
                return Err(bad("K must be followed by a number of up to 6 digits"));
            }
            let number: u32 = k.parse().map_err(|_| bad("bad K number"))?;
            if number == 0 {
                return Err(bad("K0 is not a code; use 0T"));
            }
            CodeBody::K(number)
        } else {
            // The suffix is the last character, which may be more than one byte.
            let last = rest.char_indices().last().map_or(0, |(at, _)| at);
            let (number, suffix) = rest.split_at(last);
            match suffix {
                "L" | "M" | "N" | "T" => {}
                "" => return Err(bad("it is empty")),
                _ if digits(rest) => return Err(bad("the number needs a suffix L, M, N or T")),
                _ => return Err(bad("unknown suffix or prefix")),
            }
            if !digits(number) {
                return Err(bad("the suffix must follow a number of up to 6 digits"));
            }
            CodeBody::Suffix(number.parse().map_err(|_| bad("bad number"))?)
        };
        let text = if week1 {
            upper.split_whitespace().collect::<Vec<_>>().join(" ")
        } else {
            code.to_string()
        };
        Ok(TaxCode {
            text,
            region,
            body,
            week1,
        })
    }

    /// The rates the code's prefix selects in a year.
    pub fn regime(&self, year: &'static YearParams) -> &'static Regime {
        match self.region {
            Region::RestOfUk => &year.ruk,
            Region::Scotland => &year.scotland,
            Region::Wales => &year.wales,
        }
    }

    /// Resolve BR and Dx to their rates.
    pub fn resolve(&self, regime: &Regime) -> Result<CodeKind> {
        Ok(match self.body {
            CodeBody::Suffix(n) => CodeKind::Suffix(n),
            CodeBody::K(n) => CodeKind::K(n),
            CodeBody::Nt => CodeKind::Nt,
            CodeBody::Br => {
                CodeKind::Flat(paye::band_rate(regime.bands, regime.basic).unwrap_or_default())
            }
            CodeBody::D(x) => {
                let index = regime.basic + 1 + x as usize;
                let rate = paye::band_rate(regime.bands, index).ok_or_else(|| {
                    let max = regime.bands.len() - regime.basic - 2;
                    Error::invalid(format!(
                        "profile.tax-code '{}': D{} does not exist with {} rates; accepted are D0 to D{}",
                        self.text, x, regime.name, max
                    ))
                })?;
                CodeKind::Flat(rate)
            }
        })
    }
}

/// The optional profile fields, for messages.
const PROFILE_FIELDS: &str =
    "'basis', 'ni-category', 'student-loan-plans', 'postgraduate-loan', 'pension' and 'payment'";

/// The validated profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The tax code.
    pub code: TaxCode,
    /// Cumulative basis (false: week 1/month 1).
    pub cumulative: bool,
    /// NI category.
    pub category: Category,
    /// Student and postgraduate loans.
    pub loans: Loans,
    /// Workplace pension, if any.
    pub pension: Option<Pension>,
    /// `payment` "bonus": an extra payment in the period (set by payroll per payment).
    pub bonus: bool,
}

impl Profile {
    /// Validate the profile JSON.
    pub fn parse(value: &serde_json::Value) -> Result<Profile> {
        let obj = value.as_object().ok_or_else(|| {
            Error::invalid(format!(
                "profile must be a JSON object with 'tax-code' and optionally {PROFILE_FIELDS}, got {value}"
            ))
        })?;
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "tax-code"
                    | "basis"
                    | "ni-category"
                    | "student-loan-plans"
                    | "postgraduate-loan"
                    | "pension"
                    | "payment"
            ) {
                return Err(Error::invalid(format!(
                    "profile field '{key}' is not known: accepted fields are 'tax-code', {PROFILE_FIELDS}"
                )));
            }
        }
        let string = |key: &str| -> Result<Option<&str>> {
            match obj.get(key) {
                None => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(other) => Err(Error::invalid(format!(
                    "profile.{key} must be a string, got {other}"
                ))),
            }
        };
        let code_text = string("tax-code")?.ok_or_else(|| {
            Error::invalid(
                "profile.tax-code is required: the employee's HMRC tax code, e.g. '1257L' (or the emergency code '1257L M1')",
            )
        })?;
        let code = TaxCode::parse(code_text)?;
        let cumulative = match string("basis")? {
            None => !code.week1,
            Some("cumulative") if code.week1 => {
                return Err(Error::invalid(format!(
                    "profile.basis 'cumulative' contradicts profile.tax-code '{code_text}', whose W1/M1/X ending means the week 1/month 1 basis"
                )));
            }
            Some("cumulative") => true,
            Some("week1-month1") => false,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "profile.basis '{other}' is not known: accepted are 'cumulative' and 'week1-month1'"
                )));
            }
        };
        let category = match string("ni-category")? {
            None => Category::A,
            Some(s) => Category::parse(s).ok_or_else(|| {
                Error::invalid(format!(
                    "profile.ni-category '{s}' is not supported: accepted letters are {}",
                    ni::CATEGORIES
                ))
            })?,
        };
        let bonus = match string("payment")? {
            None | Some("regular") => false,
            Some("bonus") => true,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "profile.payment '{other}' is not known: accepted are 'regular' and 'bonus'"
                )));
            }
        };
        Ok(Profile {
            bonus,
            code,
            cumulative,
            category,
            loans: Loans::parse(obj)?,
            pension: Pension::parse(obj.get("pension"))?,
        })
    }
}

/// The validated year-to-date figures before this payment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ytd {
    /// Pay to date for PAYE.
    pub taxable_pay: i64,
    /// Tax deducted to date.
    pub tax: i64,
    /// Employee NICs to date.
    pub ni_employee: i64,
    /// Employer NICs to date.
    pub ni_employer: i64,
    /// The FPS NI earnings bands to date (`ni-at-lel`, `ni-lel-pt`, `ni-pt-uel`).
    pub bands: ni::Bands,
    /// Student loan (plan) deductions to date.
    pub student_loan: i64,
    /// Postgraduate loan deductions to date.
    pub postgraduate_loan: i64,
    /// Employee pension contributions to date (before relief at source).
    pub pension_employee: i64,
    /// Employer pension contributions to date.
    pub pension_employer: i64,
    /// The earnings period of the last payment and what was paid in it.
    pub period: PeriodSoFar,
}

/// The last payment's earnings period and the National Insurance figures of all the
/// payments in it, so that a further payment in the same period (a bonus) is
/// aggregated with them: HMRC CWG2 (2026) "Employer further guide to PAYE and
/// National Insurance contributions", the part on more than one payment in an
/// earnings period (earnings paid in the same earnings period are added together and
/// NICs worked out on the total; the section number was not verified offline).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodSoFar {
    /// `period`: periods per year × 100 + the tax week or month number (1201 = tax
    /// month 1, 5203 = tax week 3), 0 for none.
    pub key: i64,
    /// `period-ni-pay`: NI-able pay of the period so far, pence.
    pub ni_pay: i64,
    /// `period-ni-employee`, `period-ni-employer`: NICs deducted in the period so far.
    pub ni_employee: i64,
    pub ni_employer: i64,
}

impl Ytd {
    /// Validate the `ytd` map.
    pub fn parse(map: &BTreeMap<String, i64>) -> Result<Ytd> {
        let mut ytd = Ytd::default();
        for (key, &value) in map {
            let slot = match key.as_str() {
                "taxable-pay" => &mut ytd.taxable_pay,
                "tax" => &mut ytd.tax,
                "ni-employee" => &mut ytd.ni_employee,
                "ni-employer" => &mut ytd.ni_employer,
                "ni-at-lel" => &mut ytd.bands.at_lel,
                "ni-lel-pt" => &mut ytd.bands.lel_pt,
                "ni-pt-uel" => &mut ytd.bands.pt_uel,
                "student-loan" => &mut ytd.student_loan,
                "postgraduate-loan" => &mut ytd.postgraduate_loan,
                "pension-employee" => &mut ytd.pension_employee,
                "pension-employer" => &mut ytd.pension_employer,
                "period" => &mut ytd.period.key,
                "period-ni-pay" => &mut ytd.period.ni_pay,
                "period-ni-employee" => &mut ytd.period.ni_employee,
                "period-ni-employer" => &mut ytd.period.ni_employer,
                _ => {
                    return Err(Error::invalid(format!(
                        "ytd code '{key}' is not known: payroll-gb reads {}",
                        YTD_CODES.join(", ")
                    )));
                }
            };
            // Tax to date may be negative only in odd cases (refunds of tax from a
            // previous employment are not handled here), so every figure must be >= 0.
            if value < 0 {
                return Err(Error::invalid(format!(
                    "ytd.{key} {value} is negative: year-to-date figures are zero or more pence"
                )));
            }
            if value > MAX_AMOUNT * 100 {
                return Err(Error::invalid(format!(
                    "ytd.{key} {value} is above the largest amount accepted, {} pence",
                    MAX_AMOUNT * 100
                )));
            }
            *slot = value;
        }
        Ok(ytd)
    }
}
