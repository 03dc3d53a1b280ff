//! Filing figures from approved (posted) pay runs, as JSON: the US Form 941 of a
//! quarter and the W-2 boxes of a year, the UK RTI Full Payment Submission of a run,
//! and the German Lohnsteuer-Anmeldung of a month. Read-only: nothing is stored and
//! nothing is sent to an authority. Every figure is a sum over payslips; the sources
//! are cited per field here and in `docs/plugins/payroll.md` ("Filings").
//!
//! A payslip's figures for its own period are its lines (taxes and contributions)
//! and, for wages, the difference between its year-to-date figures and those it was
//! computed from ([`Record::before`]: the previous approved payslip of the same
//! employee and tax year, or the opening figures, or nothing).

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{Frequency, Payslip};
use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::fps_ni::{NiLetter, chain, has_bands, ni_letters};
use crate::model::div_round;
use crate::runs::{Kind, Run, Slip, Status, Ytd, load_run, ytd_key};
use crate::ytd::OPENING_MARK;

/// One approved payslip with what a filing needs about its run.
#[derive(Debug, Clone)]
pub struct Record {
    pub run: String,
    pub bonus: bool,
    pub period_start: Date,
    pub period_end: Date,
    pub pay_date: Date,
    pub employee: String,
    pub name: String,
    pub frequency: Frequency,
    /// The employee's tax profile the payslip was computed with.
    pub profile: serde_json::Value,
    pub payslip: Payslip,
    /// The year-to-date figures the payslip was computed from (empty: none).
    pub before: BTreeMap<String, i64>,
    /// The run whose payslip of the employee this one was computed from; `None`
    /// when it was computed from the opening figures or from nothing.
    pub previous: Option<String>,
}

impl Record {
    /// The sum of the payslip's lines with one of `codes`.
    pub(crate) fn lines(&self, codes: &[&str]) -> i64 {
        self.payslip
            .lines
            .iter()
            .filter(|l| codes.contains(&l.code.as_str()))
            .map(|l| l.amount)
            .sum()
    }

    /// This payslip's part of a year-to-date figure: after minus before.
    pub(crate) fn period(&self, code: &str) -> i64 {
        self.payslip.ytd.get(code).copied().unwrap_or(0)
            - self.before.get(code).copied().unwrap_or(0)
    }

    fn after(&self, code: &str) -> i64 {
        self.payslip.ytd.get(code).copied().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------
// US Form 941
// ---------------------------------------------------------------------------

/// Wages above which Additional Medicare Tax is withheld, in cents: $200,000 in the
/// calendar year (IRC section 3102(f); Instructions for Form 941 (Rev. March 2025),
/// line 5d).
pub const ADDITIONAL_MEDICARE_THRESHOLD: i64 = 20_000_000;

/// A Form 941 line with two columns: the wages (column 1) and the tax figured on
/// them at the line's rate (column 2), rounded to the cent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Columns {
    pub column_1: i64,
    pub column_2: i64,
}

impl Columns {
    /// `wages` times `rate_per_mille` / 1000, rounded half away from zero.
    fn at(wages: i64, rate_per_mille: i128) -> Columns {
        Columns {
            column_1: wages,
            column_2: div_round(i128::from(wages) * rate_per_mille, 1000),
        }
    }
}

/// The figures of Form 941 (Employer's QUARTERLY Federal Tax Return), cents. Line
/// numbers and rates as in the 2025 form and the Instructions for Form 941 (Rev.
/// March 2025); the 2026 revision was not checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form941Lines {
    /// Employees who received wages for the pay period including March 12, June
    /// 12, September 12 or December 12 (the quarter's third month).
    #[serde(rename = "1")]
    pub line_1: u64,
    /// Wages, tips and other compensation: federal income tax wages (W-2 box 1),
    /// gross less 401(k) deferrals and section 125 reductions.
    #[serde(rename = "2")]
    pub line_2: i64,
    /// Federal income tax withheld (the `us-fit` lines).
    #[serde(rename = "3")]
    pub line_3: i64,
    /// Taxable social security wages, times 0.124.
    #[serde(rename = "5a")]
    pub line_5a: Columns,
    /// Taxable social security tips: none (tips are not paid through payroll).
    #[serde(rename = "5b")]
    pub line_5b: Columns,
    /// Taxable Medicare wages and tips, times 0.029.
    #[serde(rename = "5c")]
    pub line_5c: Columns,
    /// Wages subject to Additional Medicare Tax withholding (above $200,000 in the
    /// year per employee), times 0.009.
    #[serde(rename = "5d")]
    pub line_5d: Columns,
    /// Column 2 of lines 5a to 5d.
    #[serde(rename = "5e")]
    pub line_5e: i64,
    /// Lines 3 + 5e (5f, tax on unreported tips, is 0).
    #[serde(rename = "6")]
    pub line_6: i64,
    /// Fractions of cents: the employee share actually withheld (social security,
    /// Medicare, Additional Medicare lines) minus the employee share figured on line
    /// 5 (5e less the employer's 6.2 % of 5a and 1.45 % of 5c).
    #[serde(rename = "7")]
    pub line_7: i64,
    /// Lines 6 + 7 (sick pay, tips and group-term life adjustments, lines 8 and 9,
    /// are 0).
    #[serde(rename = "10")]
    pub line_10: i64,
    /// Line 10 less nonrefundable credits (line 11: none are claimed here).
    #[serde(rename = "12")]
    pub line_12: i64,
}

/// Form 941 of one quarter from the US payslips paid in it (pay date in the
/// quarter: wages are reported when paid). `year`/`quarter` name the quarter.
pub fn form_941(records: &[Record], year: u16, quarter: u8) -> Form941Lines {
    let mut sum = Form941Sum::new(year, quarter);
    for one in by_employee(records) {
        sum.add_employee(&one);
    }
    sum.lines()
}

/// Form 941's running sums, fed one employee's payslips of the quarter at a time
/// (so a quarter of any head count is filed with only these sums in memory).
#[derive(Debug, Clone)]
pub struct Form941Sum {
    twelfth: Date,
    counted: u64,
    /// Employees with a payslip in the quarter.
    pub employees: u64,
    wages: i64,
    fit: i64,
    ss: i64,
    medicare: i64,
    additional: i64,
    withheld: i64,
}

impl Form941Sum {
    pub fn new(year: u16, quarter: u8) -> Form941Sum {
        Form941Sum {
            twelfth: Date::new(year, quarter * 3, 12).expect("the 12th exists"),
            counted: 0,
            employees: 0,
            wages: 0,
            fit: 0,
            ss: 0,
            medicare: 0,
            additional: 0,
            withheld: 0,
        }
    }

    /// Add one employee's payslips of the quarter (all of them: line 1 counts the
    /// employee once).
    pub fn add_employee(&mut self, records: &[Record]) {
        if records.is_empty() {
            return;
        }
        self.employees += 1;
        if records
            .iter()
            .any(|r| !r.bonus && r.period_start <= self.twelfth && self.twelfth <= r.period_end)
        {
            self.counted += 1;
        }
        for r in records {
            self.wages += r.period("fit-wages");
            self.fit += r.lines(&["us-fit"]);
            self.ss += r.period("social-security-wages");
            self.medicare += r.period("medicare-wages");
            let above = |v: i64| (v - ADDITIONAL_MEDICARE_THRESHOLD).max(0);
            self.additional += above(r.after("medicare-wages"))
                - above(r.before.get("medicare-wages").copied().unwrap_or(0));
            self.withheld += r.lines(&[
                "us-social-security",
                "us-medicare",
                "us-additional-medicare",
            ]);
        }
    }

    /// The lines from the sums.
    pub fn lines(&self) -> Form941Lines {
        let line_5a = Columns::at(self.ss, 124);
        let line_5c = Columns::at(self.medicare, 29);
        let line_5d = Columns::at(self.additional, 9);
        let line_5e = line_5a.column_2 + line_5c.column_2 + line_5d.column_2;
        let employer_share = div_round(i128::from(self.ss) * 62, 1000)
            + div_round(i128::from(self.medicare) * 145, 10_000);
        let line_7 = self.withheld - (line_5e - employer_share);
        let line_6 = self.fit + line_5e;
        let line_10 = line_6 + line_7;
        Form941Lines {
            line_1: self.counted,
            line_2: self.wages,
            line_3: self.fit,
            line_5a,
            line_5b: Columns::default(),
            line_5c,
            line_5d,
            line_5e,
            line_6,
            line_7,
            line_10,
            line_12: line_10,
        }
    }
}

/// `records` grouped by employee (employee order; run order within each).
fn by_employee(records: &[Record]) -> Vec<Vec<Record>> {
    let mut groups: BTreeMap<&str, Vec<Record>> = BTreeMap::new();
    for r in records {
        groups.entry(&r.employee).or_default().push(r.clone());
    }
    groups.into_values().collect()
}

// ---------------------------------------------------------------------------
// US Form W-2
// ---------------------------------------------------------------------------

/// Box 16/17 of one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StateBoxes {
    /// Box 15: the state's two-letter code.
    pub state: String,
    /// Box 16: state wages.
    pub wages: i64,
    /// Box 17: state income tax withheld.
    pub tax: i64,
}

/// One employee's Form W-2 boxes for a year, cents (General Instructions for Forms
/// W-2 and W-3 (2025), "Specific Instructions for Form W-2", boxes 1 to 17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct W2 {
    pub employee: String,
    pub name: String,
    /// Box 1: wages, tips, other compensation (federal income tax wages).
    pub box_1: i64,
    /// Box 2: federal income tax withheld.
    pub box_2: i64,
    /// Box 3: social security wages (up to the year's wage base).
    pub box_3: i64,
    /// Box 4: social security tax withheld.
    pub box_4: i64,
    /// Box 5: Medicare wages and tips.
    pub box_5: i64,
    /// Box 6: Medicare tax withheld, including Additional Medicare Tax.
    pub box_6: i64,
    /// Box 12 code D: elective deferrals to a section 401(k) plan.
    pub box_12_d: i64,
    /// Boxes 15 to 17 per state with income tax withheld (none for states without
    /// income tax on wages).
    pub states: Vec<StateBoxes>,
    /// The runs whose payslips are summed.
    pub runs: Vec<String>,
}

/// The W-2 boxes of every employee with US payslips in `records` (all paid in one
/// calendar year), in employee id order.
pub fn w2(records: &[Record]) -> Vec<W2> {
    by_employee(records)
        .iter()
        .filter_map(|one| w2_of(one))
        .collect()
}

/// One employee's W-2 boxes from their US payslips of the year, in run order
/// (`None` for no payslip).
pub fn w2_of(records: &[Record]) -> Option<W2> {
    let first = records.first()?;
    let mut w = W2 {
        employee: first.employee.clone(),
        name: first.name.clone(),
        box_1: 0,
        box_2: 0,
        box_3: 0,
        box_4: 0,
        box_5: 0,
        box_6: 0,
        box_12_d: 0,
        states: Vec::new(),
        runs: Vec::new(),
    };
    for r in records {
        // The latest name (records come in run order).
        w.name = r.name.clone();
        w.box_1 += r.period("fit-wages");
        w.box_2 += r.lines(&["us-fit"]);
        w.box_3 += r.period("social-security-wages");
        w.box_4 += r.lines(&["us-social-security"]);
        w.box_5 += r.period("medicare-wages");
        w.box_6 += r.lines(&["us-medicare", "us-additional-medicare"]);
        w.box_12_d += r.lines(&["us-401k"]);
        let state_tax: i64 = r
            .payslip
            .lines
            .iter()
            .filter(|l| l.code.starts_with("us-") && l.code.ends_with("-income-tax"))
            .map(|l| l.amount)
            .sum();
        let state_wages = r.period("state-wages");
        if let Some(state) = r.profile.get("state").and_then(|s| s.as_str())
            && (state_tax != 0 || state_wages != 0)
        {
            let state = state.to_ascii_uppercase();
            match w.states.iter_mut().find(|s| s.state == state) {
                Some(s) => {
                    s.wages += state_wages;
                    s.tax += state_tax;
                }
                None => w.states.push(StateBoxes {
                    state,
                    wages: state_wages,
                    tax: state_tax,
                }),
            }
        }
        if !w.runs.contains(&r.run) {
            w.runs.push(r.run.clone());
        }
    }
    Some(w)
}

// ---------------------------------------------------------------------------
// UK RTI Full Payment Submission
// ---------------------------------------------------------------------------

/// One employee's payment in an FPS, pence. Names of the data items as in HMRC's
/// "RTI Data Items Guide" for 2026-27 (Full Payment Submission, "Employee details"
/// and "Employment details" groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FpsEmployee {
    /// Payroll ID (the employee id here).
    pub payroll_id: String,
    pub name: String,
    /// Tax code operated on this payment, with its basis (`W1`, `M1` or `X` for
    /// the non-cumulative basis) when not cumulative.
    pub tax_code: String,
    /// Tax week/month basis: `true` when the code is operated week 1 / month 1.
    pub week1_month1: bool,
    /// Pay frequency: `W1` weekly, `W2` fortnightly, `W4` four-weekly, `M1`
    /// monthly.
    pub pay_frequency: &'static str,
    /// Payment date.
    pub payment_date: Date,
    /// Tax week number (weekly pay) or tax month number (monthly pay).
    pub period: Option<u32>,
    /// Taxable pay in this pay period (gross less net pay pension contributions and
    /// salary sacrifice).
    pub taxable_pay_in_period: i64,
    /// Value of tax deducted or refunded from this payment (a refund is negative).
    pub tax_deducted: i64,
    /// Taxable pay to date in this employment.
    pub taxable_pay_to_date: i64,
    /// Total tax to date in this employment including this submission.
    pub tax_to_date: i64,
    /// National Insurance category letter.
    pub ni_category: String,
    /// Gross earnings for NICs in this period (gross less salary sacrifice).
    pub gross_earnings_for_nics_in_period: i64,
    /// Employee's contributions due on all earnings above the PT in this period.
    pub employee_nics_in_period: i64,
    /// Employer NICs in this period.
    pub employer_nics_in_period: i64,
    /// Employee's contributions year to date.
    pub employee_nics_year_to_date: i64,
    /// Student Loan recovered in this pay period.
    pub student_loan_recovered: i64,
    /// Postgraduate Loan recovered in this pay period.
    pub postgraduate_loan_recovered: i64,
    /// Pay after statutory deductions (the net pay of the payslip).
    pub net_pay: i64,
    /// The NI letter groups: per category letter, the earnings bands and NICs year
    /// to date (see [`crate::fps_ni`]).
    pub ni_letters: Vec<NiLetter>,
}

/// The FPS payments of a run's UK payslips, in employee id order, with each
/// employee's NI letter groups from `letters` (none when absent).
pub fn fps(records: &[Record], letters: &BTreeMap<String, Vec<NiLetter>>) -> Vec<FpsEmployee> {
    let mut out: Vec<FpsEmployee> = records
        .iter()
        .map(|r| fps_employee(r, letters.get(&r.employee).cloned().unwrap_or_default()))
        .collect();
    out.sort_by(|a, b| a.payroll_id.cmp(&b.payroll_id));
    out
}

/// One employee's FPS payment from their payslip in the run and their NI letter
/// groups.
pub fn fps_employee(r: &Record, ni_letters: Vec<NiLetter>) -> FpsEmployee {
    let text = |k: &str| r.profile.get(k).and_then(|v| v.as_str());
    let code = text("tax-code").unwrap_or("").trim().to_ascii_uppercase();
    let week1 = text("basis") == Some("week1-month1")
        || code.ends_with(" W1")
        || code.ends_with(" M1")
        || code.ends_with(" X");
    FpsEmployee {
        payroll_id: r.employee.clone(),
        name: r.name.clone(),
        tax_code: code,
        week1_month1: week1,
        pay_frequency: match r.frequency {
            Frequency::Weekly => "W1",
            Frequency::Biweekly => "W2",
            Frequency::FourWeekly => "W4",
            _ => "M1",
        },
        payment_date: r.pay_date,
        period: r.payslip.period,
        taxable_pay_in_period: r.period("taxable-pay"),
        tax_deducted: r.lines(&["gb-paye", "gb-paye-refund"]),
        taxable_pay_to_date: r.after("taxable-pay"),
        tax_to_date: r.after("tax"),
        ni_category: text("ni-category").unwrap_or("A").to_ascii_uppercase(),
        gross_earnings_for_nics_in_period: r.payslip.gross - r.lines(&["gb-salary-sacrifice"]),
        employee_nics_in_period: r.lines(&["gb-ni-employee"]),
        employer_nics_in_period: r.lines(&["gb-ni-employer"]),
        employee_nics_year_to_date: r.after("ni-employee"),
        student_loan_recovered: r.lines(&["gb-student-loan"]),
        postgraduate_loan_recovered: r.lines(&["gb-postgraduate-loan"]),
        net_pay: r.payslip.net,
        ni_letters,
    }
}

// ---------------------------------------------------------------------------
// German Lohnsteuer-Anmeldung
// ---------------------------------------------------------------------------

/// The Kennzahlen of a Lohnsteuer-Anmeldung (amtliches Vordruckmuster, § 41a EStG;
/// numbers as listed by Haufe Personal Office, "2.1 Auszufüllende Kennziffern"),
/// cents. The Kirchensteuer is split by the denomination of the payslip line
/// (`de-kirchensteuer-<key>`, `payroll-de` 0.2.0): Kz 61 evangelisch (`ev`), Kz 62
/// römisch-katholisch (`rk`); other denominations are entered on the lines the
/// Land's form gives them (see [`Kirchensteuer`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LstaLines {
    /// Kz 86: Zahl der Arbeitnehmer (employees taxed by their
    /// Lohnsteuerabzugsmerkmale; Minijobs taxed at the flat 2 % are not counted).
    #[serde(rename = "86")]
    pub kz_86: u64,
    /// Kz 42: Summe der einzubehaltenden Lohnsteuer (the `de-lohnsteuer` lines).
    #[serde(rename = "42")]
    pub kz_42: i64,
    /// Kz 49: Solidaritätszuschlag (the `de-solidaritaetszuschlag` lines).
    #[serde(rename = "49")]
    pub kz_49: i64,
    /// Kz 61: evangelische Kirchensteuer (the `de-kirchensteuer-ev` lines).
    #[serde(rename = "61")]
    pub kz_61: i64,
    /// Kz 62: römisch-katholische Kirchensteuer (the `de-kirchensteuer-rk` lines).
    #[serde(rename = "62")]
    pub kz_62: i64,
    /// Kz 83: Gesamtbetrag: Kz 42 + Kz 49 + all Kirchensteuer.
    #[serde(rename = "83")]
    pub kz_83: i64,
}

/// The Kirchensteuer of a Lohnsteuer-Anmeldung by denomination, cents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kirchensteuer {
    /// All Kirchensteuer withheld (every `de-kirchensteuer...` line).
    pub total: i64,
    /// Per denomination key of the ELStAM (`ev`, `rk`, `ak`, ...): `ev` and `rk`
    /// always (they are Kz 61 and 62), the others when withheld.
    pub by_denomination: BTreeMap<String, i64>,
    /// Withheld under the undivided `de-kirchensteuer` line (a profile that says
    /// only `"kirchensteuer": true`), and from whom: the user assigns it.
    pub not_assigned: i64,
    pub not_assigned_employees: Vec<String>,
}

/// The Lohnsteuer-Anmeldung of the German payslips paid in one month, and the
/// Kirchensteuer withheld by denomination.
pub fn lohnsteuer_anmeldung(records: &[Record]) -> (LstaLines, Kirchensteuer) {
    let mut sum = LstaSum::new();
    for one in by_employee(records) {
        sum.add_employee(&one);
    }
    sum.finish()
}

/// The Lohnsteuer-Anmeldung's running sums, fed one employee's payslips of the
/// month at a time.
#[derive(Debug, Clone)]
pub struct LstaSum {
    employees: u64,
    lst: i64,
    soli: i64,
    kist: Kirchensteuer,
}

impl Default for LstaSum {
    fn default() -> Self {
        Self::new()
    }
}

impl LstaSum {
    pub fn new() -> LstaSum {
        let mut kist = Kirchensteuer::default();
        kist.by_denomination.insert("ev".into(), 0);
        kist.by_denomination.insert("rk".into(), 0);
        LstaSum {
            employees: 0,
            lst: 0,
            soli: 0,
            kist,
        }
    }

    /// Add one employee's payslips of the month (Kz 86 counts the employee once).
    pub fn add_employee(&mut self, records: &[Record]) {
        if records
            .iter()
            .any(|r| r.lines(&["de-minijob-pauschsteuer"]) == 0)
        {
            self.employees += 1;
        }
        let mut unassigned = false;
        for r in records {
            self.lst += r.lines(&["de-lohnsteuer"]);
            self.soli += r.lines(&["de-solidaritaetszuschlag"]);
            for l in &r.payslip.lines {
                if l.code == "de-kirchensteuer" {
                    self.kist.not_assigned += l.amount;
                    unassigned = true;
                } else if let Some(key) = l.code.strip_prefix("de-kirchensteuer-") {
                    *self
                        .kist
                        .by_denomination
                        .entry(key.to_string())
                        .or_insert(0) += l.amount;
                } else {
                    continue;
                }
                self.kist.total += l.amount;
            }
        }
        if let (true, Some(first)) = (unassigned, records.first()) {
            self.kist
                .not_assigned_employees
                .push(first.employee.clone());
        }
    }

    /// The Kennzahlen and the Kirchensteuer by denomination.
    pub fn finish(self) -> (LstaLines, Kirchensteuer) {
        let kist = self.kist;
        let kz = |key: &str| kist.by_denomination.get(key).copied().unwrap_or(0);
        (
            LstaLines {
                kz_86: self.employees,
                kz_42: self.lst,
                kz_49: self.soli,
                kz_61: kz("ev"),
                kz_62: kz("rk"),
                kz_83: self.lst + self.soli + kist.total,
            },
            kist,
        )
    }
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// The runs paid from `from` to `to` (pay dates), in run order: the approved ones
/// filed and the drafts left out. A few runs, whatever the head count.
pub(crate) struct Period {
    pub(crate) posted: Vec<Run>,
    pub(crate) drafts: Vec<String>,
}

pub(crate) fn runs_paid(from: Date, to: Date) -> Result<Period> {
    let mut period = Period {
        posted: Vec::new(),
        drafts: Vec::new(),
    };
    for item in storage::scan_prefix("run/").page_size(100).iter::<Run>() {
        let (_, r) = item?;
        if from <= r.pay_date && r.pay_date <= to {
            if r.status == Status::Posted {
                period.posted.push(r);
            } else {
                period.drafts.push(r.id);
            }
        }
    }
    Ok(period)
}

/// The most employees one filing call lists (W-2, FPS): more are asked for in pages
/// with `after` and `limit`. About 2 MB of JSON for the FPS, half the 4 MiB a call
/// returns, with room in an instance of a few MiB.
pub(crate) const MAX_FILING_PAGE: u32 = 2000;

/// Payslips read per round trip from all the runs of a filing together.
const MERGE_PAGE_BUDGET: u32 = 1000;

/// One run's payslips of a country, read in employee order a page at a time.
struct Cursor<'a> {
    run: &'a Run,
    iter: backoffice_sdk::storage::ScanIter<Slip>,
    country: &'a str,
    head: Option<Slip>,
}

impl Cursor<'_> {
    fn advance(&mut self) -> Result<()> {
        self.head = None;
        for item in self.iter.by_ref() {
            let (_, slip) = item?;
            if slip.payslip.country == self.country {
                self.head = Some(slip);
                break;
            }
        }
        Ok(())
    }
}

/// Each employee's payslips of `country` in `runs` (approved, in run order), one
/// employee at a time in employee id order, starting after employee `after`: a merge
/// of the runs' payslips (each run's are stored in employee order), so only a page
/// of each run's payslips is in memory. `f` returns whether to go on.
pub(crate) fn for_each_employee_records(
    runs: &[Run],
    country: &str,
    after: Option<&str>,
    mut f: impl FnMut(Vec<Record>) -> Result<bool>,
) -> Result<()> {
    let with_country: Vec<&Run> = runs
        .iter()
        .filter(|r| r.countries.contains_key(country))
        .collect();
    if with_country.is_empty() {
        return Ok(());
    }
    let page = (MERGE_PAGE_BUDGET / with_country.len() as u32).clamp(4, 250);
    let mut cursors = Vec::new();
    for run in with_country {
        let prefix = format!("slip/{}/", run.id);
        let mut scan = storage::scan_prefix(&prefix).page_size(page);
        if let Some(a) = after {
            scan = scan.after(format!("{prefix}{a}"));
        }
        let mut c = Cursor {
            run,
            iter: scan.iter::<Slip>(),
            country,
            head: None,
        };
        c.advance()?;
        cursors.push(c);
    }
    loop {
        let Some(next) = cursors
            .iter()
            .filter_map(|c| c.head.as_ref().map(|s| s.employee.id.clone()))
            .min()
        else {
            return Ok(());
        };
        let mut records = Vec::new();
        for c in cursors.iter_mut() {
            if c.head.as_ref().is_some_and(|s| s.employee.id == next)
                && let Some(slip) = c.head.take()
            {
                records.push(record(c.run, slip)?);
                c.advance()?;
            }
        }
        if !f(records)? {
            return Ok(());
        }
    }
}

/// The refusals of a filing made from the runs paid in a period: none approved, or
/// none paying an employee of `country`.
pub(crate) fn check_found(
    country: &str,
    period: &Period,
    (from, to): (Date, Date),
    what: &str,
    label: &str,
) -> Result<()> {
    let drafts = if period.drafts.is_empty() {
        String::new()
    } else {
        format!(
            " (draft runs {} are not counted until approved)",
            period.drafts.join(", ")
        )
    };
    if period.posted.is_empty() {
        return Err(Error::not_found(format!(
            "no approved pay run has a pay date in {label} ({from} to {to}){drafts}; {what} is made from approved runs: approve the period's runs first (approve-run)"
        )));
    }
    if !period
        .posted
        .iter()
        .any(|r| r.countries.contains_key(country))
    {
        return Err(Error::invalid(format!(
            "the approved runs paid in {label} ({}) pay no employee of country {country}; {what} covers employees paid under the {country} rules only",
            period
                .posted
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// The approved runs of `period` that pay someone in `country`, in run order.
pub(crate) fn runs_with(period: &Period, country: &str) -> Vec<String> {
    period
        .posted
        .iter()
        .filter(|r| r.countries.contains_key(country))
        .map(|r| r.id.clone())
        .collect()
}

/// Paging of a filing listing employees: `after` an employee id, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub(crate) limit: u32,
    /// No limit was given: more than a page is refused rather than cut.
    pub(crate) asked: bool,
}

pub(crate) fn paging(limit: Option<u32>) -> Result<Paging> {
    match limit {
        None => Ok(Paging {
            limit: MAX_FILING_PAGE,
            asked: false,
        }),
        Some(n) if (1..=MAX_FILING_PAGE).contains(&n) => Ok(Paging {
            limit: n,
            asked: true,
        }),
        Some(n) => Err(Error::invalid(format!(
            "limit is {n}: give the most employees per page, 1 to {MAX_FILING_PAGE}"
        ))),
    }
}

/// The error of a filing with more employees than one answer holds, when no page
/// was asked for.
pub(crate) fn too_many(what: &str, shown: u32) -> Error {
    Error::invalid(format!(
        "{what} lists more than {shown} employees, more than one answer holds; ask for it in pages: \"limit\": {shown} (or fewer), then \"after\" set to the \"next\" of each answer until it has none"
    ))
}

pub(crate) fn record(run: &Run, slip: Slip) -> Result<Record> {
    let previous = slip
        .ytd_after_run
        .clone()
        .filter(|m| !m.starts_with(OPENING_MARK));
    let before = match &slip.ytd_after_run {
        None => BTreeMap::new(),
        Some(mark) if mark.starts_with(OPENING_MARK) => {
            let key = ytd_key(
                &slip.employee.id,
                &slip.employee.country,
                &slip.payslip.tax_year,
            );
            storage::get::<Ytd>(&key)?
                .and_then(|y| y.opening)
                .map(|o| o.figures().clone())
                .unwrap_or_default()
        }
        Some(prev) => storage::get::<Slip>(&format!("slip/{prev}/{}", slip.employee.id))?
            .map(|s| s.payslip.ytd)
            .unwrap_or_default(),
    };
    Ok(Record {
        run: run.id.clone(),
        bonus: run.kind == Kind::Bonus,
        period_start: run.period_start,
        period_end: run.period_end,
        pay_date: run.pay_date,
        employee: slip.employee.id.clone(),
        name: slip.employee.name.clone(),
        frequency: slip.employee.frequency,
        profile: slip.employee.profile.clone(),
        payslip: slip.payslip,
        before,
        previous,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct QuarterInput {
    pub(crate) year: u16,
    pub(crate) quarter: u8,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Form941Out {
    pub(crate) form: &'static str,
    pub(crate) year: u16,
    pub(crate) quarter: u8,
    pub(crate) currency: &'static str,
    pub(crate) lines: Form941Lines,
    /// The sum of the payslips' federal income tax and employee and employer
    /// social security and Medicare lines: what was deposited if each run's taxes
    /// were deposited. Differs from line 12 by the employer share's rounding.
    pub(crate) payslip_liability: i64,
    pub(crate) employees: u64,
    pub(crate) runs: Vec<String>,
    pub(crate) drafts_not_counted: Vec<String>,
}

pub(crate) fn quarter_dates(year: u16, quarter: u8) -> Result<(Date, Date)> {
    let bad = || {
        Error::invalid(format!(
            "quarter {year}-Q{quarter}: give a year from 2000 to 2100 and a quarter from 1 to 4"
        ))
    };
    if !(1..=4).contains(&quarter) {
        return Err(bad());
    }
    let from = Date::new(year, quarter * 3 - 2, 1).ok_or_else(bad)?;
    let last = Date::new(year, quarter * 3, 1).ok_or_else(bad)?;
    let to = Date::new(year, quarter * 3, last.days_in_month()).ok_or_else(bad)?;
    Ok((from, to))
}

pub(crate) fn form_941_op(input: QuarterInput) -> Result<Form941Out> {
    let (from, to) = quarter_dates(input.year, input.quarter)?;
    let label = format!("{}-Q{}", input.year, input.quarter);
    let period = runs_paid(from, to)?;
    check_found("US", &period, (from, to), "Form 941", &label)?;
    // One employee's payslips at a time: only the sums stay in memory.
    let mut sum = Form941Sum::new(input.year, input.quarter);
    let mut payslip_liability = 0;
    for_each_employee_records(&period.posted, "US", None, |records| {
        sum.add_employee(&records);
        payslip_liability += records
            .iter()
            .map(|r| {
                r.lines(&[
                    "us-fit",
                    "us-social-security",
                    "us-medicare",
                    "us-additional-medicare",
                    "us-social-security-employer",
                    "us-medicare-employer",
                ])
            })
            .sum::<i64>();
        Ok(true)
    })?;
    Ok(Form941Out {
        form: "941",
        year: input.year,
        quarter: input.quarter,
        currency: "USD",
        lines: sum.lines(),
        payslip_liability,
        employees: sum.employees,
        runs: runs_with(&period, "US"),
        drafts_not_counted: period.drafts,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct W2Input {
    year: u16,
    #[serde(default)]
    employee: Option<String>,
    /// Paging: the employees after this employee id.
    #[serde(default)]
    after: Option<String>,
    /// Paging: at most this many employees.
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct W2Out {
    form: &'static str,
    year: u16,
    currency: &'static str,
    employees: Vec<W2>,
    drafts_not_counted: Vec<String>,
    /// More employees follow: pass as `after` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

pub(crate) fn w2_op(input: W2Input) -> Result<W2Out> {
    let bad = || {
        Error::invalid(format!(
            "year {}: give a year from 2000 to 2100",
            input.year
        ))
    };
    let from = Date::new(input.year, 1, 1).ok_or_else(bad)?;
    let to = Date::new(input.year, 12, 31).ok_or_else(bad)?;
    let label = input.year.to_string();
    let paging = paging(input.limit)?;
    if input.employee.is_some() && (input.after.is_some() || input.limit.is_some()) {
        return Err(Error::invalid(
            "give either employee (one W-2) or after and limit (a page of W-2s), not both",
        ));
    }
    let period = runs_paid(from, to)?;
    check_found("US", &period, (from, to), "Form W-2", &label)?;
    let mut employees = Vec::new();
    let mut next = None;
    match &input.employee {
        Some(id) => {
            // One employee: their payslip of each run, read directly.
            let mut records = Vec::new();
            for run in &period.posted {
                if !run.countries.contains_key("US") {
                    continue;
                }
                if let Some(slip) = storage::get::<Slip>(&format!("slip/{}/{id}", run.id))?
                    && slip.payslip.country == "US"
                {
                    records.push(record(run, slip)?);
                }
            }
            match w2_of(&records) {
                Some(w) => employees.push(w),
                None => {
                    return Err(Error::not_found(format!(
                        "employee {id} has no US payslip in an approved run paid in {}; leave employee out for every employee's W-2",
                        input.year
                    )));
                }
            }
        }
        None => {
            let mut more = false;
            for_each_employee_records(&period.posted, "US", input.after.as_deref(), |records| {
                if employees.len() as u32 == paging.limit {
                    more = true;
                    return Ok(false);
                }
                employees.extend(w2_of(&records));
                Ok(true)
            })?;
            if more {
                if !paging.asked {
                    return Err(too_many(
                        &format!("Form W-2 of {}", input.year),
                        paging.limit,
                    ));
                }
                next = employees.last().map(|w: &W2| w.employee.clone());
            }
        }
    }
    Ok(W2Out {
        form: "W-2",
        year: input.year,
        currency: "USD",
        employees,
        drafts_not_counted: period.drafts,
        next,
    })
}

/// The RTI header's RelatedTaxYear of a UK tax year named `2025-26`: `25-26`.
pub fn related_tax_year(tax_year: &str) -> String {
    match tax_year.split_once('-') {
        Some((start, end)) if start.len() == 4 => format!("{}-{end}", &start[2..]),
        _ => tax_year.to_string(),
    }
}

/// The last day of a UK tax year named `2025-26`: 5 April 2026.
pub fn gb_tax_year_end(tax_year: &str) -> Option<Date> {
    let start: u16 = tax_year.get(..4)?.parse().ok()?;
    Date::new(start + 1, 4, 5)
}

/// What an FPS correcting a tax year that has ended carries.
///
/// HMRC, "Correct payroll errors" / "Fixing mistakes on your FPS or EPS" (GOV.UK,
/// PAYE Online for employers): a mistake in pay or deductions of the 2020-21 tax
/// year or a later one, found after the year ended, is corrected with an additional
/// FPS for that year giving the **correct year-to-date figures** (the Earlier Year
/// Update is only for 2019-20 and earlier, which payroll never paid). The final FPS
/// of a year is due by 19 April after it ends; after that date the correction is
/// late and says why: late reporting reason `H`, "Correction to an earlier
/// submission" (RTI Data Items Guide 2026-27, FPS "Late reporting reason"). The
/// payment date is that of the last payment of the year to the employee; an
/// adjustment keeps the pay date of the run it corrects, which is the employee's
/// last of the tax year (create-adjustment refuses any other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct EarlierYear {
    /// The run corrected.
    pub corrects_run: String,
    /// The last day of the tax year corrected (5 April).
    pub tax_year_ended: Date,
    /// 19 April after the year: the final FPS's deadline.
    pub final_submission_due: Date,
    /// `H` (correction to an earlier submission) once the deadline has passed;
    /// none before it (the FPS is then on time for the year).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_reporting_reason: Option<&'static str>,
}

/// The earlier-year marks of the FPS of an adjustment of run `original` whose
/// payslips are of UK tax year `tax_year`, as of `today`: none while the year runs.
pub fn earlier_year(tax_year: &str, original: &str, today: Date) -> Option<EarlierYear> {
    let ended = gb_tax_year_end(tax_year)?;
    if today <= ended {
        return None;
    }
    let due = Date::new(ended.year(), 4, 19)?;
    Some(EarlierYear {
        corrects_run: original.to_string(),
        tax_year_ended: ended,
        final_submission_due: due,
        late_reporting_reason: (today > due).then_some("H"),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct FpsInput {
    run: String,
    /// Paging: the employees after this employee id.
    #[serde(default)]
    after: Option<String>,
    /// Paging: at most this many employees.
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct FpsOut {
    pub(crate) submission: &'static str,
    pub(crate) run: String,
    pub(crate) tax_year: String,
    /// The header's RelatedTaxYear (`YY-YY`, e.g. `26-27`): the tax year the
    /// submission is for (RTI Data Items Guide 2026-27, "Related tax year").
    pub(crate) related_tax_year: String,
    pub(crate) payment_date: Date,
    /// An adjustment of a tax year that has ended: the FPS that corrects it (see
    /// [`EarlierYear`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) earlier_year_correction: Option<EarlierYear>,
    pub(crate) currency: &'static str,
    pub(crate) employees: Vec<FpsEmployee>,
    /// What the FPS needs and the payslips do not give.
    pub(crate) not_included: Vec<String>,
    /// More employees follow: pass as `after` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
}

impl FpsInput {
    /// The first `limit` employees of run `run`.
    pub(crate) fn whole(run: String, limit: u32) -> FpsInput {
        FpsInput {
            run,
            after: None,
            limit: Some(limit),
        }
    }
}

/// Payslips of the run read per round trip by the FPS.
const FPS_PAGE: u32 = 250;

pub(crate) fn fps_op(input: FpsInput) -> Result<FpsOut> {
    let paging = paging(input.limit)?;
    let run = load_run(&input.run)?;
    if run.status != Status::Posted {
        return Err(Error::conflict(format!(
            "run {} is a draft: an FPS reports payments made, so only approved runs are filed; approve it first (approve-run)",
            run.id
        )));
    }
    if !run.countries.contains_key("GB") {
        return Err(Error::invalid(format!(
            "run {} pays no employee of country GB; an FPS reports UK PAYE employees only",
            run.id
        )));
    }
    // One employee at a time: their payslip, the payslips of the tax year it was
    // built on (for the NI letter groups), and their FPS payment.
    let prefix = format!("slip/{}/", run.id);
    let mut scan = storage::scan_prefix(&prefix).page_size(FPS_PAGE);
    if let Some(a) = &input.after {
        scan = scan.after(format!("{prefix}{a}"));
    }
    let mut tax_year = None;
    let mut runs = BTreeMap::new();
    let mut employees = Vec::new();
    let mut without_bands = Vec::new();
    let mut more = false;
    for item in scan.iter::<Slip>() {
        let (_, slip) = item?;
        if slip.payslip.country != "GB" {
            continue;
        }
        if employees.len() as u32 == paging.limit {
            more = true;
            break;
        }
        tax_year.get_or_insert_with(|| slip.payslip.tax_year.clone());
        let r = record(&run, slip)?;
        let year = chain(r.clone(), &mut runs)?;
        if year.iter().any(|p| !has_bands(p)) {
            without_bands.push(r.employee.clone());
        }
        employees.push(fps_employee(&r, ni_letters(&year)));
    }
    if more && !paging.asked {
        return Err(too_many(
            &format!("the FPS of run {}", run.id),
            paging.limit,
        ));
    }
    let tax_year = match tax_year {
        Some(t) => t,
        // A page after the last employee: the run's tax year from its first one.
        None => storage::scan_prefix(&prefix)
            .page_size(FPS_PAGE)
            .iter::<Slip>()
            .find_map(|item| match item {
                Ok((_, s)) if s.payslip.country == "GB" => Some(Ok(s.payslip.tax_year)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .transpose()?
            .unwrap_or_default(),
    };
    let mut not_included = vec![
        "employee identity (NI number, date of birth, gender, address) and employer references (PAYE reference, Accounts Office reference): not stored by payroll".to_string(),
        "directors' NICs (annual earnings period, director's NIC calculation method): payroll-gb computes every employee on pay-period earnings periods".to_string(),
    ];
    if !without_bands.is_empty() {
        not_included.push(format!(
            "NI earnings bands of payslips computed before payroll-gb 0.2.0 (employees {}): those payslips carry none, so the bands year to date leave them out; add their bands by hand",
            without_bands.join(", ")
        ));
    }
    let next = if more {
        employees.last().map(|e: &FpsEmployee| e.payroll_id.clone())
    } else {
        None
    };
    let earlier_year_correction = match &run.adjusts {
        Some(original) => earlier_year(&tax_year, original, context::today()),
        None => None,
    };
    Ok(FpsOut {
        submission: "FPS",
        run: run.id,
        related_tax_year: related_tax_year(&tax_year),
        tax_year,
        earlier_year_correction,
        payment_date: run.pay_date,
        currency: "GBP",
        employees,
        not_included,
        next,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct MonthInput {
    pub(crate) year: u16,
    pub(crate) month: u8,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct LstaOut {
    pub(crate) form: &'static str,
    pub(crate) year: u16,
    pub(crate) month: u8,
    pub(crate) currency: &'static str,
    pub(crate) kennzahlen: LstaLines,
    /// All Kirchensteuer withheld (unchanged from 0.1.0).
    pub(crate) kirchensteuer: i64,
    /// The Kirchensteuer per denomination key (Kz 61 is `ev`, Kz 62 `rk`).
    pub(crate) kirchensteuer_nach_konfession: BTreeMap<String, i64>,
    /// Kirchensteuer of profiles without a denomination, and whose.
    pub(crate) kirchensteuer_ohne_konfession: Unassigned,
    pub(crate) runs: Vec<String>,
    pub(crate) drafts_not_counted: Vec<String>,
}

/// Kirchensteuer the filing cannot assign to a denomination.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Unassigned {
    pub(crate) amount: i64,
    pub(crate) employees: Vec<String>,
}

pub(crate) fn lohnsteuer_anmeldung_op(input: MonthInput) -> Result<LstaOut> {
    let bad = || {
        Error::invalid(format!(
            "month {}-{:02}: give a year from 2000 to 2100 and a month from 1 to 12",
            input.year, input.month
        ))
    };
    let from = Date::new(input.year, input.month, 1).ok_or_else(bad)?;
    let to = Date::new(input.year, input.month, from.days_in_month()).ok_or_else(bad)?;
    let label = format!("{}-{:02}", input.year, input.month);
    let period = runs_paid(from, to)?;
    check_found(
        "DE",
        &period,
        (from, to),
        "the Lohnsteuer-Anmeldung",
        &label,
    )?;
    let mut sum = LstaSum::new();
    for_each_employee_records(&period.posted, "DE", None, |records| {
        sum.add_employee(&records);
        Ok(true)
    })?;
    let (kennzahlen, kist) = sum.finish();
    Ok(LstaOut {
        form: "Lohnsteuer-Anmeldung",
        year: input.year,
        month: input.month,
        currency: "EUR",
        kennzahlen,
        kirchensteuer: kist.total,
        kirchensteuer_nach_konfession: kist.by_denomination,
        kirchensteuer_ohne_konfession: Unassigned {
            amount: kist.not_assigned,
            employees: kist.not_assigned_employees,
        },
        runs: runs_with(&period, "DE"),
        drafts_not_counted: period.drafts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use backoffice_sdk::payroll::{Line, LineKind};
    use serde_json::json;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn line(code: &str, amount: i64, kind: LineKind) -> Line {
        Line {
            code: code.into(),
            description: code.into(),
            amount,
            kind,
        }
    }

    fn rec(
        employee: &str,
        country: &str,
        period: (&str, &str),
        lines: Vec<Line>,
        before: &[(&str, i64)],
        after: &[(&str, i64)],
    ) -> Record {
        let gross = after
            .iter()
            .find(|(c, _)| *c == "gross")
            .map_or(0, |(_, v)| *v)
            - before
                .iter()
                .find(|(c, _)| *c == "gross")
                .map_or(0, |(_, v)| *v);
        let deducted: i64 = lines
            .iter()
            .filter(|l| l.kind.reduces_net())
            .map(|l| l.amount)
            .sum();
        let map = |v: &[(&str, i64)]| v.iter().map(|(c, a)| (c.to_string(), *a)).collect();
        Record {
            run: "r-000001".into(),
            bonus: false,
            period_start: d(period.0),
            period_end: d(period.1),
            pay_date: d(period.1),
            employee: employee.into(),
            name: employee.into(),
            frequency: Frequency::Monthly,
            profile: json!({"state": "PA", "tax-code": "1257l", "ni-category": "a"}),
            payslip: Payslip {
                country: country.into(),
                tax_year: "2026".into(),
                period: Some(12),
                currency: "USD".into(),
                gross,
                net: gross - deducted,
                lines,
                ytd: map(after),
                notes: vec![],
            },
            before: map(before),
            previous: None,
        }
    }

    /// Two employees, one crossing the $200,000 Additional Medicare threshold and
    /// the social security wage base within the quarter.
    #[test]
    fn form_941_adds_the_quarters_payslips() {
        use LineKind::*;
        let low = rec(
            "A",
            "US",
            ("2026-03-01", "2026-03-31"),
            vec![
                line("us-fit", 80_000, EmployeeTax),
                line("us-social-security", 31_000, EmployeeContribution),
                line("us-medicare", 7_250, EmployeeContribution),
                line("us-401k", 50_000, EmployeeContribution),
                line("us-pa-income-tax", 13_816, EmployeeTax),
                line("us-social-security-employer", 31_000, EmployerContribution),
                line("us-medicare-employer", 7_250, EmployerContribution),
            ],
            &[("gross", 1_000_000), ("fit-wages", 950_000)],
            &[
                ("gross", 1_500_000),
                ("fit-wages", 1_400_000),
                ("social-security-wages", 500_000),
                ("medicare-wages", 500_000),
                ("state-wages", 450_000),
            ],
        );
        // $250,000 paid on top of $150,000: $200,000 above the $200,000 threshold.
        let high = rec(
            "B",
            "US",
            ("2026-02-01", "2026-02-28"),
            vec![
                line("us-fit", 5_000_000, EmployeeTax),
                line("us-social-security", 1_000_000, EmployeeContribution),
                line("us-medicare", 362_500, EmployeeContribution),
                line("us-additional-medicare", 180_000, EmployeeContribution),
                line(
                    "us-social-security-employer",
                    1_000_000,
                    EmployerContribution,
                ),
                line("us-medicare-employer", 362_500, EmployerContribution),
            ],
            &[("medicare-wages", 15_000_000)],
            &[
                ("medicare-wages", 40_000_000),
                ("fit-wages", 25_000_000),
                ("social-security-wages", 16_129_032),
            ],
        );
        let f = form_941(&[low.clone(), high.clone()], 2026, 1);
        // Only A's period includes March 12.
        assert_eq!(f.line_1, 1);
        assert_eq!(f.line_2, 450_000 + 25_000_000);
        assert_eq!(f.line_3, 5_080_000);
        assert_eq!(f.line_5a.column_1, 500_000 + 16_129_032);
        // 16,629,032 x 0.124 = 2,061,999.968, rounded to the cent.
        assert_eq!(f.line_5a.column_2, 2_062_000);
        assert_eq!(f.line_5c.column_1, 500_000 + 25_000_000);
        assert_eq!(f.line_5c.column_2, 739_500);
        assert_eq!(f.line_5d, Columns::at(20_000_000, 9));
        assert_eq!(f.line_5d.column_2, 180_000);
        assert_eq!(f.line_5e, 2_062_000 + 739_500 + 180_000);
        assert_eq!(f.line_6, 5_080_000 + f.line_5e);
        // Employee share figured: 5e less 6.2 % of 5a (1,031,000) and 1.45 % of 5c
        // (369,750); withheld: 31,000 + 7,250 + 1,000,000 + 362,500 + 180,000.
        let figured = f.line_5e - 1_031_000 - 369_750;
        assert_eq!(figured, 1_580_750);
        assert_eq!(f.line_7, 0);
        assert_eq!(f.line_10, f.line_6);
        assert_eq!(f.line_12, f.line_10);
        // A cent more withheld than line 5 figures (per-payment rounding) is line 7.
        let mut rounded = low.clone();
        rounded.payslip.lines[1].amount += 1;
        let f = form_941(&[rounded, high.clone()], 2026, 1);
        assert_eq!(f.line_7, 1);
        assert_eq!(f.line_10, f.line_6 + 1);
        // W-2 of the same payslips.
        let w = w2(&[low, high]);
        assert_eq!(w.len(), 2);
        assert_eq!(
            (w[0].box_1, w[0].box_2, w[0].box_3, w[0].box_4),
            (450_000, 80_000, 500_000, 31_000)
        );
        assert_eq!(
            (w[0].box_5, w[0].box_6, w[0].box_12_d),
            (500_000, 7_250, 50_000)
        );
        assert_eq!(
            w[0].states,
            vec![StateBoxes {
                state: "PA".into(),
                wages: 450_000,
                tax: 13_816
            }]
        );
        assert_eq!(w[1].box_6, 362_500 + 180_000);
    }

    #[test]
    fn fps_and_lohnsteuer_anmeldung_from_payslips() {
        use LineKind::*;
        let gb = rec(
            "G",
            "GB",
            ("2026-05-01", "2026-05-31"),
            vec![
                line("gb-paye", 39_020, EmployeeTax),
                line("gb-ni-employee", 15_616, EmployeeContribution),
                line("gb-student-loan", 4_900, EmployeeContribution),
                line("gb-ni-employer", 38_745, EmployerContribution),
            ],
            &[
                ("gross", 300_000),
                ("taxable-pay", 300_000),
                ("tax", 39_020),
            ],
            &[
                ("gross", 600_000),
                ("taxable-pay", 600_000),
                ("tax", 78_040),
                ("ni-employee", 31_232),
            ],
        );
        let f = fps(&[gb], &BTreeMap::new());
        assert_eq!(f[0].tax_code, "1257L");
        assert_eq!(f[0].ni_category, "A");
        assert_eq!(f[0].pay_frequency, "M1");
        assert_eq!(f[0].taxable_pay_in_period, 300_000);
        assert_eq!((f[0].tax_deducted, f[0].tax_to_date), (39_020, 78_040));
        assert_eq!(f[0].taxable_pay_to_date, 600_000);
        assert_eq!(f[0].student_loan_recovered, 4_900);
        assert_eq!(f[0].gross_earnings_for_nics_in_period, 300_000);
        assert_eq!(f[0].net_pay, 300_000 - 39_020 - 15_616 - 4_900);
        assert!(!f[0].week1_month1);

        let de = |id: &str, lines| rec(id, "DE", ("2026-01-01", "2026-01-31"), lines, &[], &[]);
        let (k, kist) = lohnsteuer_anmeldung(&[
            de(
                "D1",
                vec![
                    line("de-lohnsteuer", 97_366, EmployeeTax),
                    line("de-solidaritaetszuschlag", 1_234, EmployeeTax),
                    line("de-kirchensteuer", 8_762, EmployeeTax),
                ],
            ),
            de("D2", vec![line("de-lohnsteuer", 10_000, EmployeeTax)]),
            // A Minijob with the flat 2 % tax: not an employee of Kz 86, nothing
            // in Kz 42 (paid to the Minijob-Zentrale).
            de(
                "M1",
                vec![line("de-minijob-pauschsteuer", 1_206, EmployerContribution)],
            ),
        ]);
        assert_eq!(k.kz_86, 2);
        assert_eq!(k.kz_42, 107_366);
        assert_eq!(k.kz_49, 1_234);
        assert_eq!(kist.total, 8_762);
        assert_eq!((kist.not_assigned, k.kz_61, k.kz_62), (8_762, 0, 0));
        assert_eq!(kist.not_assigned_employees, vec!["D1".to_string()]);
        assert_eq!(k.kz_83, 107_366 + 1_234 + 8_762);
    }

    #[test]
    fn kirchensteuer_split_by_denomination() {
        use LineKind::*;
        let de = |id: &str, lines| rec(id, "DE", ("2026-01-01", "2026-01-31"), lines, &[], &[]);
        let (k, kist) = lohnsteuer_anmeldung(&[
            de("E", vec![line("de-kirchensteuer-ev", 5_000, EmployeeTax)]),
            de("R", vec![line("de-kirchensteuer-rk", 7_000, EmployeeTax)]),
            de("A", vec![line("de-kirchensteuer-ak", 300, EmployeeTax)]),
            de("L", vec![line("de-kirchensteuer", 100, EmployeeTax)]),
        ]);
        assert_eq!((k.kz_61, k.kz_62), (5_000, 7_000));
        assert_eq!(
            kist.by_denomination,
            BTreeMap::from([
                ("ak".to_string(), 300),
                ("ev".to_string(), 5_000),
                ("rk".to_string(), 7_000)
            ])
        );
        assert_eq!(kist.not_assigned, 100);
        assert_eq!(kist.total, 12_400);
        assert_eq!(k.kz_83, 12_400);
    }

    /// Two monthly payslips, the second computed from the first, and a letter
    /// change in between: one group per letter, each payslip's part of the bands.
    #[test]
    fn fps_ni_letters_add_each_payslips_part_under_its_letter() {
        use LineKind::*;
        let april = rec(
            "G",
            "GB",
            ("2026-04-01", "2026-04-30"),
            vec![
                line("gb-ni-employee", 15_616, EmployeeContribution),
                line("gb-ni-employer", 38_745, EmployerContribution),
            ],
            &[],
            &[
                ("gross", 300_000),
                ("ni-at-lel", 55_900),
                ("ni-lel-pt", 48_900),
                ("ni-pt-uel", 195_200),
            ],
        );
        let mut may = rec(
            "G",
            "GB",
            ("2026-05-01", "2026-05-31"),
            vec![line("gb-ni-employer", 1_950, EmployerContribution)],
            &[
                ("gross", 300_000),
                ("ni-at-lel", 55_900),
                ("ni-lel-pt", 48_900),
                ("ni-pt-uel", 195_200),
            ],
            &[
                ("gross", 380_000),
                ("ni-at-lel", 111_800),
                ("ni-lel-pt", 73_000),
                ("ni-pt-uel", 195_200),
            ],
        );
        may.profile = json!({"tax-code": "1257L", "ni-category": "c"});
        let letters = crate::fps_ni::ni_letters(&[may, april]);
        assert_eq!(letters.len(), 2);
        assert_eq!(letters[0].ni_category, "A");
        assert_eq!(
            (
                letters[0].earnings_at_lel_year_to_date,
                letters[0].earnings_above_lel_up_to_pt_year_to_date,
                letters[0].earnings_above_pt_up_to_uel_year_to_date,
                letters[0].employee_nics_year_to_date,
                letters[0].employer_nics_year_to_date,
                letters[0].gross_earnings_for_nics_year_to_date,
            ),
            (55_900, 48_900, 195_200, 15_616, 38_745, 300_000)
        );
        assert_eq!(letters[1].ni_category, "C");
        assert_eq!(
            (
                letters[1].earnings_at_lel_year_to_date,
                letters[1].earnings_above_lel_up_to_pt_year_to_date,
                letters[1].earnings_above_pt_up_to_uel_year_to_date,
                letters[1].employee_nics_year_to_date,
                letters[1].employer_nics_year_to_date,
                letters[1].gross_earnings_for_nics_year_to_date,
            ),
            (55_900, 24_100, 0, 0, 1_950, 80_000)
        );
    }

    /// A UK adjustment's FPS: nothing special while the tax year runs; once it has
    /// ended, an earlier-year correction, late (reason H) after 19 April.
    #[test]
    fn fps_of_an_adjustment_after_the_tax_year_is_an_earlier_year_correction() {
        assert_eq!(related_tax_year("2025-26"), "25-26");
        assert_eq!(related_tax_year("2026-27"), "26-27");
        assert_eq!(gb_tax_year_end("2025-26"), Some(d("2026-04-05")));
        assert_eq!(earlier_year("2025-26", "r-000001", d("2026-04-05")), None);
        let on_time = earlier_year("2025-26", "r-000001", d("2026-04-19")).unwrap();
        assert_eq!(on_time.tax_year_ended, d("2026-04-05"));
        assert_eq!(on_time.final_submission_due, d("2026-04-19"));
        assert_eq!(on_time.late_reporting_reason, None);
        let late = earlier_year("2025-26", "r-000001", d("2026-04-20")).unwrap();
        assert_eq!(late.late_reporting_reason, Some("H"));
        assert_eq!(late.corrects_run, "r-000001");
        assert_eq!(earlier_year("2026-27", "r-000001", d("2026-12-04")), None);
    }
}
