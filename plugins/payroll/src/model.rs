//! Pure payroll logic, unit-tested natively: employees' effective-dated records,
//! gross pay for a period, hours, the ledger entry of a run, and printable payslips.

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{Frequency, Line, LineKind, Payslip};
use backoffice_sdk::{Date, Error, Result};
use serde::{Deserialize, Serialize};

use crate::bank::BankAccount;
use crate::payfile::PaymentSettings;

/// How an employee is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// A yearly salary, paid in equal parts per period.
    Salary,
    /// An hourly rate times the hours of the period.
    Hourly,
}

/// One effective-dated version of an employee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Employee {
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 country whose payroll rules apply.
    pub country: String,
    /// ISO 4217 currency of pay.
    pub currency: String,
    pub frequency: Frequency,
    pub basis: Basis,
    /// Yearly salary (basis salary) or hourly rate (basis hourly), minor units.
    pub rate: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_role: Option<String>,
    pub start_date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Date>,
    /// The country-specific tax profile.
    pub profile: serde_json::Value,
    /// Where net pay is paid: stored in full, shown masked by every operation that
    /// returns an employee (see [`Employee::masked`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<BankAccount>,
    /// From when this version applies.
    pub effective_date: Date,
    /// Who recorded this version.
    pub changed_by: String,
    /// When it was recorded (RFC 3339, UTC).
    pub changed_at: String,
}

impl Employee {
    /// Whether the employee works for the company on any day of `[start, end]`.
    pub fn employed_during(&self, start: Date, end: Date) -> bool {
        self.start_date <= end && self.end_date.is_none_or(|e| e >= start)
    }

    /// The employee as readers see it: the bank account masked.
    pub fn masked(mut self) -> Employee {
        self.bank = self.bank.as_ref().map(BankAccount::masked);
        self
    }
}

/// Round `num / den` half away from zero; `den` must be positive.
pub fn div_round(num: i128, den: i128) -> i64 {
    let q = num / den;
    let r = num % den;
    let q = if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    };
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// Hours as hundredths from `"37.5"`, `"80"` or `"7.25"` (at most two decimals).
pub fn parse_hours(text: &str) -> std::result::Result<i64, String> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let frac_ok = frac.is_none_or(|f| digits(f) && f.len() <= 2);
    if !digits(whole) || !frac_ok || whole.len() > 6 {
        return Err(format!(
            "hours {text:?} must be a non-negative decimal with at most two decimals, e.g. \"37.5\""
        ));
    }
    let whole: i64 = whole
        .parse()
        .map_err(|_| format!("hours {text:?} are too large"))?;
    let frac: i64 = format!("{:0<2}", frac.unwrap_or("")).parse().unwrap_or(0);
    Ok(whole * 100 + frac)
}

/// Gross pay of `emp` for the period `[start, end]`, in minor units.
///
/// Salary: the yearly salary divided by the periods in a year, rounded half up to
/// the minor unit, then pro-rated by calendar days when employment starts or ends
/// within the period. Hourly: rate times hours (hundredths), rounded half up.
pub fn gross_for_period(emp: &Employee, start: Date, end: Date, hours: Option<i64>) -> Result<i64> {
    match (emp.basis, hours) {
        (Basis::Hourly, Some(h)) => Ok(div_round(i128::from(emp.rate) * i128::from(h), 100)),
        (Basis::Hourly, None) => Err(Error::invalid(format!(
            "employee {} is paid by the hour: pass their hours for the period in `hours`, e.g. {{\"{}\": \"80\"}}",
            emp.id, emp.id
        ))),
        (Basis::Salary, Some(_)) => Err(Error::invalid(format!(
            "employee {} is salaried: remove them from `hours`",
            emp.id
        ))),
        (Basis::Salary, None) => {
            let per_period = div_round(
                i128::from(emp.rate),
                i128::from(emp.frequency.periods_per_year()),
            );
            let days = start.days_until(end) + 1;
            let from = emp.start_date.max(start);
            let to = emp.end_date.map_or(end, |e| e.min(end));
            let worked = (from.days_until(to) + 1).clamp(0, days);
            if worked == days {
                Ok(per_period)
            } else {
                Ok(div_round(
                    i128::from(per_period) * i128::from(worked),
                    i128::from(days),
                ))
            }
        }
    }
}

/// Ledger accounts a run posts to, and who each country's lines are owed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Settings {
    /// Gross wages (expense).
    pub wages_account: String,
    /// Employer contributions (expense).
    pub employer_contributions_account: String,
    /// Net pay owed to employees (liability).
    pub net_pay_account: String,
    /// Parent of the per-authority liability accounts: `<parent>:<authority>`.
    pub liabilities_parent: String,
    /// Per country: the authority owed taxes and the one owed contributions.
    pub authorities: BTreeMap<String, Authorities>,
    /// Per payslip line code: who is owed the line instead of the country's
    /// authority (`<liabilities-parent>:<payee>`), e.g. the pension scheme for
    /// `gb-pension-employee`. Optional in `set-settings`: left out, the defaults apply.
    #[serde(default = "default_payees")]
    pub payees: BTreeMap<String, String>,
    /// Per country: the employer's own part of the tax profile (a JSON object), given
    /// to the rules as `profile.employer` for every employee of that country whose
    /// profile has no `employer` of its own, e.g. the US state unemployment rates:
    /// `{"US": {"suta": {"PA": {"rate": "3.822", "wage-base": 1000000}}}}`. Optional
    /// in `set-settings`: left out, none.
    #[serde(default)]
    pub employer: BTreeMap<String, serde_json::Value>,
    /// The company's paying accounts and originator ids for payment files, per
    /// scheme. Optional in `set-settings`: left out, none.
    #[serde(default, skip_serializing_if = "PaymentSettings::is_empty")]
    pub payments: PaymentSettings,
}

/// Lines owed to someone other than the country's tax or contributions authority.
fn default_payees() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    // UK workplace pensions are paid to the pension scheme, not to HMRC (student
    // loans, by contrast, are paid to HMRC with PAYE).
    for code in [
        "gb-pension-employee",
        "gb-salary-sacrifice",
        "gb-pension-employer",
    ] {
        out.insert(code.to_string(), "pension-scheme".to_string());
    }
    // A German Minijob's contributions, Pauschsteuer and Umlagen all go to the
    // Minijob-Zentrale (Deutsche Rentenversicherung Knappschaft-Bahn-See), not to the
    // employee's Krankenkasse or the Finanzamt.
    for code in [
        "de-minijob-kv-ag",
        "de-minijob-rv-ag",
        "de-minijob-rv-an",
        "de-minijob-pauschsteuer",
        "de-minijob-u1",
        "de-minijob-u2",
        "de-minijob-u3",
    ] {
        out.insert(code.to_string(), "minijob-zentrale".to_string());
    }
    // US: 401(k) deferrals are paid over to the plan's trust, section 125 reductions
    // to the benefits plan; state income tax to the state's revenue department and
    // state unemployment tax to the state's unemployment fund, not to the IRS (FUTA,
    // by contrast, goes to the IRS with Form 940).
    out.insert("us-401k".into(), "401k-plan".into());
    out.insert("us-section-125".into(), "section-125-plan".into());
    for st in ["pa", "il"] {
        out.insert(format!("us-{st}-income-tax"), format!("{st}-revenue"));
    }
    for st in [
        "ak", "fl", "il", "nh", "nv", "pa", "sd", "tn", "tx", "wa", "wy",
    ] {
        out.insert(format!("us-suta-{st}"), format!("{st}-unemployment"));
    }
    out
}

/// The profile given to the rules: the employee's, with the employer's part from
/// the settings as `employer` when the employee's has none.
pub fn rules_profile(
    settings: &Settings,
    country: &str,
    profile: &serde_json::Value,
) -> serde_json::Value {
    let mut out = profile.clone();
    if let (Some(employer), Some(obj)) = (settings.employer.get(country), out.as_object_mut())
        && !obj.contains_key("employer")
    {
        obj.insert("employer".into(), employer.clone());
    }
    out
}

/// Who a country's payroll lines are owed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Authorities {
    /// Employee taxes (income tax, surcharges, church tax).
    pub taxes: String,
    /// Employee and employer social contributions.
    pub contributions: String,
}

impl Default for Settings {
    fn default() -> Self {
        let a = |t: &str, c: &str| Authorities {
            taxes: t.into(),
            contributions: c.into(),
        };
        Settings {
            wages_account: "expenses:payroll:wages".into(),
            employer_contributions_account: "expenses:payroll:employer-contributions".into(),
            net_pay_account: "liabilities:payroll:net-pay".into(),
            liabilities_parent: "liabilities:payroll".into(),
            authorities: BTreeMap::from([
                // Form 941: federal income tax, Social Security and Medicare go to the IRS.
                ("US".into(), a("irs", "irs")),
                // PAYE and National Insurance are both paid to HMRC.
                ("GB".into(), a("hmrc", "hmrc")),
                // Lohnsteuer to the Finanzamt; social insurance to the Krankenkasse as
                // the collecting agency (Einzugsstelle).
                ("DE".into(), a("finanzamt", "krankenkasse")),
            ]),
            payees: default_payees(),
            employer: BTreeMap::new(),
            payments: PaymentSettings::default(),
        }
    }
}

impl Settings {
    /// The liability account for a line of `kind` in `country`.
    pub fn liability_account(&self, country: &str, kind: LineKind) -> String {
        let fallback = country.to_ascii_lowercase();
        let who = self
            .authorities
            .get(country)
            .map_or(fallback.as_str(), |a| {
                if kind == LineKind::EmployeeTax {
                    &a.taxes
                } else {
                    &a.contributions
                }
            });
        format!("{}:{who}", self.liabilities_parent)
    }

    /// The liability account for one payslip line: its payee when the line code has
    /// one, else the country's authority for its kind.
    pub fn line_account(&self, country: &str, line: &Line) -> String {
        match self.payees.get(&line.code) {
            Some(payee) => format!("{}:{payee}", self.liabilities_parent),
            None => self.liability_account(country, line.kind),
        }
    }

    /// Every account a run may post to, with its ledger type.
    pub fn accounts(&self) -> Vec<(String, &'static str)> {
        let mut out = vec![
            (self.wages_account.clone(), "expense"),
            (self.employer_contributions_account.clone(), "expense"),
            (self.net_pay_account.clone(), "liability"),
        ];
        for a in self.authorities.values() {
            for who in [&a.taxes, &a.contributions] {
                let name = format!("{}:{who}", self.liabilities_parent);
                if !out.iter().any(|(n, _)| *n == name) {
                    out.push((name, "liability"));
                }
            }
        }
        for who in self.payees.values() {
            let name = format!("{}:{who}", self.liabilities_parent);
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, "liability"));
            }
        }
        out
    }
}

/// One posting of the run's ledger entry: positive amounts are debits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Posting {
    pub account: String,
    pub amount: i64,
    pub currency: String,
}

/// The postings of one balanced entry for a run's payslips: per currency, debit
/// wages (gross) and employer contributions; credit each authority what is owed to
/// it (employee and employer lines) and employees their net pay.
pub fn run_postings(settings: &Settings, slips: &[&Payslip]) -> Vec<Posting> {
    let mut sums = PostingSums::default();
    for slip in slips {
        sums.add(settings, slip);
    }
    sums.postings()
}

/// The sums of a run's entry per currency and account, payslip by payslip.
#[derive(Debug, Default)]
pub struct PostingSums {
    sums: BTreeMap<(String, String), i64>,
}

impl PostingSums {
    /// Add one payslip: wages, net pay, each line owed, employer contributions.
    pub fn add(&mut self, settings: &Settings, slip: &Payslip) {
        let mut add = |account: String, amount: i64| {
            *self
                .sums
                .entry((slip.currency.clone(), account))
                .or_default() += amount;
        };
        add(settings.wages_account.clone(), slip.gross);
        add(settings.net_pay_account.clone(), -slip.net);
        for line in &slip.lines {
            add(settings.line_account(&slip.country, line), -line.amount);
            if line.kind == LineKind::EmployerContribution {
                add(settings.employer_contributions_account.clone(), line.amount);
            }
        }
    }

    /// The entry's postings, leaving out accounts that sum to zero.
    pub fn postings(self) -> Vec<Posting> {
        self.sums
            .into_iter()
            .filter(|(_, amount)| *amount != 0)
            .map(|((currency, account), amount)| Posting {
                account,
                amount,
                currency,
            })
            .collect()
    }
}

/// `12345` with exponent 2 as `123.45`.
pub fn format_minor(amount: i64, exponent: u32) -> String {
    if exponent == 0 {
        return amount.to_string();
    }
    let scale = 10i64.pow(exponent);
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let scale_u = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale_u,
        abs % scale_u,
        width = exponent as usize
    )
}

fn kind_label(kind: LineKind) -> &'static str {
    match kind {
        LineKind::EmployeeTax => "Tax",
        LineKind::EmployeeContribution => "Contribution",
        LineKind::EmployerContribution => "Employer",
    }
}

/// What a printed payslip shows about the employee and the run.
#[derive(Debug, Clone)]
pub struct SlipHeader<'a> {
    pub company: &'a str,
    pub employee: &'a Employee,
    pub run: &'a str,
    pub period_start: Date,
    pub period_end: Date,
    pub pay_date: Date,
    /// A bonus payslip (off-cycle), headed as such.
    pub bonus: bool,
}

/// A plain-text payslip, fixed width, for printing or email.
pub fn payslip_text(h: &SlipHeader<'_>, slip: &Payslip, exponent: u32) -> String {
    let m = |a: i64| format!("{:>14}", format_minor(a, exponent));
    let mut out = String::new();
    out.push_str(&format!(
        "{}  {}  run {}\n",
        if h.bonus { "BONUS PAYSLIP" } else { "PAYSLIP" },
        h.company,
        h.run
    ));
    out.push_str(&format!(
        "Employee: {} ({})\n",
        h.employee.name, h.employee.id
    ));
    out.push_str(&format!(
        "Period:   {} to {}   Paid: {}   Tax year: {}{}\n",
        h.period_start,
        h.period_end,
        h.pay_date,
        slip.tax_year,
        slip.period
            .map(|p| format!(" period {p}"))
            .unwrap_or_default()
    ));
    out.push_str(&format!("Currency: {}\n\n", slip.currency));
    let mut pay = vec![("Gross pay".to_string(), slip.gross)];
    for kind in [LineKind::EmployeeTax, LineKind::EmployeeContribution] {
        for l in slip.lines.iter().filter(|l| l.kind == kind) {
            pay.push((
                format!("{}: {}", kind_label(kind), l.description),
                -l.amount,
            ));
        }
    }
    pay.push(("NET PAY".to_string(), slip.net));
    let employer: Vec<_> = slip
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::EmployerContribution)
        .map(|l| (l.description.clone(), l.amount))
        .collect();
    // One label column wide enough for the longest description (at least 44
    // characters), so the amounts always line up.
    let width = pay
        .iter()
        .chain(&employer)
        .map(|(label, _)| label.chars().count() + 2)
        .max()
        .unwrap_or(0)
        .max(44);
    let row = |(label, amount): &(String, i64)| format!("{label:<width$}{}\n", m(*amount));
    pay.iter().for_each(|r| out.push_str(&row(r)));
    if !employer.is_empty() {
        out.push_str("\nPaid by the employer on top of gross pay:\n");
        employer.iter().for_each(|r| out.push_str(&row(r)));
    }
    for note in &slip.notes {
        out.push_str(&format!("\nNote: {note}"));
    }
    if !slip.notes.is_empty() {
        out.push('\n');
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained printable HTML payslip (no scripts, no external resources).
pub fn payslip_html(h: &SlipHeader<'_>, slip: &Payslip, exponent: u32) -> String {
    let m = |a: i64| format_minor(a, exponent);
    let row = |label: &str, amount: String, class: &str| {
        format!(
            "<tr class=\"{class}\"><th scope=\"row\">{}</th><td>{}</td></tr>\n",
            escape(label),
            amount
        )
    };
    let mut rows = row("Gross pay", m(slip.gross), "gross");
    for kind in [LineKind::EmployeeTax, LineKind::EmployeeContribution] {
        for l in slip.lines.iter().filter(|l| l.kind == kind) {
            rows.push_str(&row(
                &format!("{}: {}", kind_label(kind), l.description),
                m(-l.amount),
                "deduction",
            ));
        }
    }
    rows.push_str(&row("Net pay", m(slip.net), "net"));
    let mut employer = String::new();
    for l in slip
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::EmployerContribution)
    {
        employer.push_str(&row(&l.description, m(l.amount), "employer"));
    }
    let employer = if employer.is_empty() {
        String::new()
    } else {
        format!("<h2>Paid by the employer on top of gross pay</h2>\n<table>\n{employer}</table>\n")
    };
    let notes: String = slip
        .notes
        .iter()
        .map(|n| format!("<p class=\"note\">{}</p>\n", escape(n)))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Payslip {run} {id}</title>\n\
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;color:#111}}table{{border-collapse:collapse;width:100%}}\
th,td{{padding:.3em .5em;border-bottom:1px solid #ccc;text-align:left}}td{{text-align:right;font-variant-numeric:tabular-nums}}\
tr.net th,tr.net td{{font-weight:bold;border-top:2px solid #111}}</style></head>\n<body>\n\
<h1>{title}</h1>\n<p>{company} &middot; run {run}</p>\n<dl>\
<dt>Employee</dt><dd>{name} ({id})</dd><dt>Period</dt><dd>{ps} to {pe}</dd><dt>Paid</dt><dd>{pd}</dd>\
<dt>Tax year</dt><dd>{ty}</dd><dt>Currency</dt><dd>{cur}</dd></dl>\n<table>\n{rows}</table>\n{employer}{notes}</body></html>\n",
        run = escape(h.run),
        id = escape(&h.employee.id),
        company = escape(h.company),
        title = if h.bonus { "Bonus payslip" } else { "Payslip" },
        name = escape(&h.employee.name),
        ps = h.period_start,
        pe = h.period_end,
        pd = h.pay_date,
        ty = escape(&slip.tax_year),
        cur = escape(&slip.currency),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use backoffice_sdk::payroll::Line;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn emp(basis: Basis, rate: i64) -> Employee {
        Employee {
            id: "E1".into(),
            name: "Ada".into(),
            country: "GB".into(),
            currency: "GBP".into(),
            frequency: Frequency::Monthly,
            basis,
            rate,
            department: None,
            job_role: None,
            start_date: d("2025-01-01"),
            end_date: None,
            profile: serde_json::json!({}),
            bank: None,
            effective_date: d("2025-01-01"),
            changed_by: "alice".into(),
            changed_at: "2025-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn rounding_and_hours() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(parse_hours("37.5"), Ok(3750));
        assert_eq!(parse_hours("80"), Ok(8000));
        assert_eq!(parse_hours("7.25"), Ok(725));
        for bad in ["", "-1", "1.234", "a", "1.", "1e3"] {
            assert!(parse_hours(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gross_salary_hourly_and_proration() {
        let e = emp(Basis::Salary, 3_000_000);
        let (s, t) = (d("2025-06-01"), d("2025-06-30"));
        assert_eq!(gross_for_period(&e, s, t, None).unwrap(), 250_000);
        let mut late = e.clone();
        late.start_date = d("2025-06-16");
        // 15 of 30 days.
        assert_eq!(gross_for_period(&late, s, t, None).unwrap(), 125_000);
        let mut leaver = e.clone();
        leaver.end_date = Some(d("2025-06-10"));
        assert_eq!(gross_for_period(&leaver, s, t, None).unwrap(), 83_333);
        let h = emp(Basis::Hourly, 1_525);
        assert_eq!(gross_for_period(&h, s, t, Some(16_050)).unwrap(), 244_763);
        assert!(
            gross_for_period(&h, s, t, None)
                .unwrap_err()
                .to_string()
                .contains("hours")
        );
        assert!(gross_for_period(&e, s, t, Some(1)).is_err());
    }

    #[test]
    fn run_entry_balances_per_currency() {
        let line = |code: &str, amount, kind| Line {
            code: code.into(),
            description: code.into(),
            amount,
            kind,
        };
        let slip = |country: &str, currency: &str, gross, lines: Vec<Line>| {
            let deducted: i64 = lines
                .iter()
                .filter(|l| l.kind.reduces_net())
                .map(|l| l.amount)
                .sum();
            Payslip {
                country: country.into(),
                tax_year: "2025".into(),
                period: None,
                currency: currency.into(),
                gross,
                net: gross - deducted,
                lines,
                ytd: BTreeMap::new(),
                notes: vec![],
            }
        };
        let us = slip(
            "US",
            "USD",
            500_000,
            vec![
                line("us-fit", 60_000, LineKind::EmployeeTax),
                line("us-ss", 31_000, LineKind::EmployeeContribution),
                line("us-ss-er", 31_000, LineKind::EmployerContribution),
            ],
        );
        let de = slip(
            "DE",
            "EUR",
            400_000,
            vec![
                line("de-lst", 50_000, LineKind::EmployeeTax),
                line("de-rv", 37_200, LineKind::EmployeeContribution),
                line("de-rv-ag", 37_200, LineKind::EmployerContribution),
            ],
        );
        let postings = run_postings(&Settings::default(), &[&us, &de]);
        for cur in ["USD", "EUR"] {
            let sum: i64 = postings
                .iter()
                .filter(|p| p.currency == cur)
                .map(|p| p.amount)
                .sum();
            assert_eq!(sum, 0, "{cur} balances");
        }
        let find = |acct: &str, cur: &str| {
            postings
                .iter()
                .find(|p| p.account == acct && p.currency == cur)
                .map(|p| p.amount)
        };
        assert_eq!(find("liabilities:payroll:irs", "USD"), Some(-122_000));
        assert_eq!(find("liabilities:payroll:finanzamt", "EUR"), Some(-50_000));
        assert_eq!(
            find("liabilities:payroll:krankenkasse", "EUR"),
            Some(-74_400)
        );
        assert_eq!(
            find("expenses:payroll:employer-contributions", "USD"),
            Some(31_000)
        );
        assert_eq!(find("liabilities:payroll:net-pay", "USD"), Some(-409_000));
        let header = SlipHeader {
            company: "acme",
            employee: &emp(Basis::Salary, 1),
            run: "r-000001",
            period_start: d("2025-06-01"),
            period_end: d("2025-06-30"),
            pay_date: d("2025-06-30"),
            bonus: false,
        };
        let text = payslip_text(&header, &us, 2);
        assert!(
            text.contains("NET PAY") && text.contains("4090.00"),
            "{text}"
        );
        // A long description widens the label column; every amount still ends in
        // the same column.
        let mut long = de.clone();
        long.lines[1].description =
            "Rentenversicherung, Arbeitnehmeranteil (allgemeiner Beitragssatz)".into();
        let text = payslip_text(&header, &long, 2);
        let ends: std::collections::BTreeSet<usize> = text
            .lines()
            .filter(|l| l.ends_with(".00"))
            .map(|l| l.chars().count())
            .collect();
        assert_eq!(ends.len(), 1, "{text}");
        assert!(text.contains("allgemeiner Beitragssatz)  "), "{text}");
        let html = payslip_html(&header, &us, 2);
        assert!(
            html.contains("<th scope=\"row\">Net pay</th><td>4090.00</td>"),
            "{html}"
        );
    }

    #[test]
    fn payees_route_pension_and_minijob_lines() {
        let line = |code: &str, amount, kind| Line {
            code: code.into(),
            description: code.into(),
            amount,
            kind,
        };
        let slip = Payslip {
            country: "GB".into(),
            tax_year: "2026-27".into(),
            period: Some(1),
            currency: "GBP".into(),
            gross: 300_000,
            net: 300_000 - 39_020 - 15_616 - 4_900 - 12_400,
            lines: vec![
                line("gb-paye", 39_020, LineKind::EmployeeTax),
                line("gb-ni-employee", 15_616, LineKind::EmployeeContribution),
                line("gb-student-loan", 4_900, LineKind::EmployeeContribution),
                line(
                    "gb-pension-employee",
                    12_400,
                    LineKind::EmployeeContribution,
                ),
                line("gb-ni-employer", 38_745, LineKind::EmployerContribution),
                line("gb-pension-employer", 7_440, LineKind::EmployerContribution),
            ],
            ytd: BTreeMap::new(),
            notes: vec![],
        };
        let settings = Settings::default();
        let postings = run_postings(&settings, &[&slip]);
        assert_eq!(postings.iter().map(|p| p.amount).sum::<i64>(), 0);
        let find = |acct: &str| {
            postings
                .iter()
                .find(|p| p.account == acct)
                .map(|p| p.amount)
        };
        // PAYE, NI and the student loan to HMRC; both pension lines to the scheme.
        assert_eq!(
            find("liabilities:payroll:hmrc"),
            Some(-(39_020 + 15_616 + 4_900 + 38_745))
        );
        assert_eq!(
            find("liabilities:payroll:pension-scheme"),
            Some(-(12_400 + 7_440))
        );
        let names: Vec<String> = settings.accounts().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"liabilities:payroll:pension-scheme".to_string()));
        assert!(names.contains(&"liabilities:payroll:minijob-zentrale".to_string()));
        // Settings stored before payees existed still load, with the defaults.
        let old: Settings = serde_json::from_value(serde_json::json!({
            "wages-account": "w", "employer-contributions-account": "e",
            "net-pay-account": "n", "liabilities-parent": "l", "authorities": {}
        }))
        .expect("old settings");
        assert_eq!(old.payees, default_payees());
    }

    #[test]
    fn employer_profile_and_us_payees() {
        let mut settings = Settings::default();
        let suta = serde_json::json!({"suta": {"PA": {"rate": "3.822", "wage-base": 1_000_000}}});
        settings.employer.insert("US".into(), suta.clone());
        // The employer's part is added under `employer` for that country only, and
        // an employee's own `employer` is kept.
        let p = rules_profile(&settings, "US", &serde_json::json!({"state": "PA"}));
        assert_eq!(p, serde_json::json!({"state": "PA", "employer": suta}));
        let own = serde_json::json!({"employer": {"suta": {}}});
        assert_eq!(rules_profile(&settings, "US", &own), own);
        assert_eq!(
            rules_profile(&settings, "GB", &serde_json::json!({})),
            serde_json::json!({})
        );
        // 401(k), section 125, state tax and SUTA lines have their own payees;
        // FUTA stays with the IRS.
        let line = |code: &str, kind| Line {
            code: code.into(),
            description: code.into(),
            amount: 1,
            kind,
        };
        for (code, kind, account) in [
            (
                "us-401k",
                LineKind::EmployeeContribution,
                "liabilities:payroll:401k-plan",
            ),
            (
                "us-section-125",
                LineKind::EmployeeContribution,
                "liabilities:payroll:section-125-plan",
            ),
            (
                "us-pa-income-tax",
                LineKind::EmployeeTax,
                "liabilities:payroll:pa-revenue",
            ),
            (
                "us-suta-pa",
                LineKind::EmployerContribution,
                "liabilities:payroll:pa-unemployment",
            ),
            (
                "us-futa",
                LineKind::EmployerContribution,
                "liabilities:payroll:irs",
            ),
        ] {
            assert_eq!(
                settings.line_account("US", &line(code, kind)),
                account,
                "{code}"
            );
        }
        // Settings stored before `employer` existed still load, with none.
        let old: Settings = serde_json::from_value(serde_json::json!({
            "wages-account": "w", "employer-contributions-account": "e",
            "net-pay-account": "n", "liabilities-parent": "l", "authorities": {}
        }))
        .expect("old settings");
        assert!(old.employer.is_empty());
    }

    #[test]
    fn minor_units_format() {
        assert_eq!(format_minor(123_456, 2), "1234.56");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(7, 0), "7");
    }
}
