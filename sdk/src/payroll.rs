//! Payroll rules: the typed extension point `backoffice:payroll@0.1.0`.
//!
//! A *country rules* plugin computes one payslip for one employee and one pay period:
//! it implements [`Rules`] and registers it with
//! [`export_payroll_rules!`](crate::export_payroll_rules) next to
//! [`export_plugin!`](crate::export_plugin). Its manifest declares what it provides:
//!
//! ```toml
//! [[provides]]
//! interface = "backoffice:payroll/rules@0.1.0"
//! keys = ["US"]
//! ```
//!
//! A plugin that runs payroll (the bundled `payroll` plugin, or a vendor's) calls
//! [`calculate`]: the host routes the call to the rules plugin enabled for the
//! tenant that provides the input's country, in the caller's transaction. The
//! functions here import `backoffice:payroll/engine@0.1.0`; those of [`v0_2`] import
//! `engine@0.2.0`, which also says which plugin, version and package computed each
//! payslip ([`v0_2::calculate_with_rules`]).
//!
//! Amounts are integer minor units of the payslip's currency (cents, pence).
//! Every deduction or contribution line carries a positive amount when it is taken
//! from (or paid on top of) the gross; a refund of tax is a negative amount.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The WIT interface name a rules plugin exports and declares under `[[provides]]`.
pub const RULES_INTERFACE: &str = "backoffice:payroll/rules@0.1.0";

/// How often an employee is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Frequency {
    /// 52 periods a year.
    Weekly,
    /// Every two weeks (UK: fortnightly), 26 periods a year.
    Biweekly,
    /// Every four weeks, 13 periods a year.
    FourWeekly,
    /// Twice a month, 24 periods a year.
    SemiMonthly,
    /// 12 periods a year.
    Monthly,
    /// 4 periods a year.
    Quarterly,
    /// Once a year.
    Annual,
}

impl Frequency {
    /// Every frequency, in the order above.
    pub const ALL: [Frequency; 7] = [
        Frequency::Weekly,
        Frequency::Biweekly,
        Frequency::FourWeekly,
        Frequency::SemiMonthly,
        Frequency::Monthly,
        Frequency::Quarterly,
        Frequency::Annual,
    ];

    /// Pay periods in a year: 52, 26, 13, 24, 12, 4 or 1.
    pub fn periods_per_year(self) -> u32 {
        match self {
            Frequency::Weekly => 52,
            Frequency::Biweekly => 26,
            Frequency::FourWeekly => 13,
            Frequency::SemiMonthly => 24,
            Frequency::Monthly => 12,
            Frequency::Quarterly => 4,
            Frequency::Annual => 1,
        }
    }

    /// The kebab-case name used in JSON, e.g. `semi-monthly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Weekly => "weekly",
            Frequency::Biweekly => "biweekly",
            Frequency::FourWeekly => "four-weekly",
            Frequency::SemiMonthly => "semi-monthly",
            Frequency::Monthly => "monthly",
            Frequency::Quarterly => "quarterly",
            Frequency::Annual => "annual",
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a payslip line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineKind {
    /// A tax withheld from the employee's pay (income tax, surcharges, church tax).
    EmployeeTax,
    /// A social contribution withheld from the employee's pay.
    EmployeeContribution,
    /// A contribution the employer pays on top of the gross; does not change net pay.
    EmployerContribution,
}

impl LineKind {
    /// Whether the line is taken from the employee's pay (and so reduces net pay).
    pub fn reduces_net(self) -> bool {
        !matches!(self, LineKind::EmployerContribution)
    }
}

/// The input of one calculation: one employee, one pay period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CalcInput {
    /// ISO 3166-1 alpha-2 country code of the rules to apply, e.g. `US`, `GB`, `DE`.
    pub country: String,
    /// The date the wages are paid, `YYYY-MM-DD`; selects the tax year and the
    /// parameters in force.
    pub pay_date: String,
    /// The pay frequency; rules plugins refuse the ones their country does not use.
    pub frequency: Frequency,
    /// Gross pay for the period, in minor units of `currency`. Never negative.
    pub gross: i64,
    /// ISO 4217 code of every amount: USD, GBP, EUR.
    pub currency: String,
    /// Year-to-date figures of the same tax year before this period, by code (the
    /// codes are the rules plugin's own; it returns the updated ones in
    /// [`Payslip::ytd`]). Missing codes count as zero.
    #[serde(default)]
    pub ytd: BTreeMap<String, i64>,
    /// The employee's country-specific tax profile (W-4, tax code, Steuerklasse ...),
    /// as the rules plugin's [`Rules::profile_schema`] describes it.
    #[serde(default = "empty_object")]
    pub profile: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// One line of a payslip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Line {
    /// A stable code, e.g. `us-fit`, `us-social-security`, `gb-paye`, `de-lohnsteuer`.
    pub code: String,
    /// What a person reads on the payslip.
    pub description: String,
    /// Minor units; positive when taken from pay or paid by the employer.
    pub amount: i64,
    /// What kind of line it is.
    pub kind: LineKind,
}

/// The result of one calculation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Payslip {
    /// The country of the rules applied.
    pub country: String,
    /// The tax year the pay date falls in, as the country names it: `2025`, `2025-26`.
    pub tax_year: String,
    /// The pay period within the tax year when the country numbers them (UK tax
    /// week or month), otherwise `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// ISO 4217 code of every amount.
    pub currency: String,
    /// Gross pay of the period, as in the input.
    pub gross: i64,
    /// Taxes and contributions, in the order a payslip shows them.
    pub lines: Vec<Line>,
    /// Gross minus every line that [reduces net pay](LineKind::reduces_net).
    pub net: i64,
    /// The year-to-date figures after this period, to pass as `ytd` next period.
    pub ytd: BTreeMap<String, i64>,
    /// Remarks for the reader, e.g. which parameters were applied.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Payslip {
    /// Sum of the lines of `kind`.
    pub fn total(&self, kind: LineKind) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.kind == kind)
            .map(|l| l.amount)
            .sum()
    }

    /// Build a payslip from its lines, computing `net` as gross minus the lines
    /// that reduce net pay.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: &CalcInput,
        tax_year: impl Into<String>,
        period: Option<u32>,
        lines: Vec<Line>,
        ytd: BTreeMap<String, i64>,
        notes: Vec<String>,
    ) -> Payslip {
        let deducted: i64 = lines
            .iter()
            .filter(|l| l.kind.reduces_net())
            .map(|l| l.amount)
            .sum();
        Payslip {
            country: input.country.clone(),
            tax_year: tax_year.into(),
            period,
            currency: input.currency.clone(),
            gross: input.gross,
            net: input.gross - deducted,
            lines,
            ytd,
            notes,
        }
    }
}

/// What a rules plugin supports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Support {
    /// Countries (ISO 3166-1 alpha-2) it computes; must match its manifest's keys.
    pub countries: Vec<String>,
    /// ISO 4217 currency of its amounts.
    pub currency: String,
    /// Tax years it has parameters for, as [`Payslip::tax_year`] names them.
    pub tax_years: Vec<String>,
    /// Pay frequencies it accepts.
    pub frequencies: Vec<Frequency>,
}

/// What a country rules plugin implements; register it with
/// [`export_payroll_rules!`](crate::export_payroll_rules).
pub trait Rules {
    /// Countries, currency, tax years and frequencies supported.
    fn support() -> Support;

    /// A JSON Schema of the `profile` this plugin accepts, for forms and validation.
    fn profile_schema() -> serde_json::Value;

    /// Compute one payslip. Refuse, with [`Error::InvalidInput`] naming the field and
    /// what is accepted, any input the rules do not support.
    fn calculate(input: &CalcInput) -> Result<Payslip>;
}

/// Read the check of a payslip a rules plugin returned: lines and net consistent.
pub fn check_payslip(input: &CalcInput, slip: &Payslip) -> Result<()> {
    let deducted: i64 = slip
        .lines
        .iter()
        .filter(|l| l.kind.reduces_net())
        .map(|l| l.amount)
        .sum();
    if slip.gross != input.gross || slip.net != slip.gross - deducted {
        return Err(Error::internal(format!(
            "the {} rules returned an inconsistent payslip: gross {} net {} but lines deduct {}",
            slip.country, slip.gross, slip.net, deducted
        )));
    }
    if slip.currency != input.currency {
        return Err(Error::internal(format!(
            "the {} rules returned amounts in {} for an input in {}",
            slip.country, slip.currency, input.currency
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_json_is_kebab_case_and_strict() {
        let input: CalcInput = serde_json::from_str(
            r#"{"country":"US","pay-date":"2025-03-14","frequency":"semi-monthly","gross":250000,"currency":"USD","ytd":{"gross":500000},"profile":{"filing-status":"single"}}"#,
        )
        .unwrap();
        assert_eq!(input.frequency, Frequency::SemiMonthly);
        assert_eq!(input.ytd["gross"], 500000);
        let bad = serde_json::from_str::<CalcInput>(
            r#"{"country":"US","pay-date":"2025-03-14","frequency":"monthly","gross":1,"currency":"USD","salary":2}"#,
        );
        assert!(bad.unwrap_err().to_string().contains("salary"));
    }

    #[test]
    fn net_is_gross_minus_employee_lines() {
        let input: CalcInput = serde_json::from_str(
            r#"{"country":"GB","pay-date":"2025-05-30","frequency":"monthly","gross":300000,"currency":"GBP"}"#,
        )
        .unwrap();
        let line = |code: &str, amount, kind| Line {
            code: code.into(),
            description: code.into(),
            amount,
            kind,
        };
        let slip = Payslip::new(
            &input,
            "2025-26",
            Some(2),
            vec![
                line("gb-paye", 39000, LineKind::EmployeeTax),
                line("gb-ni-employee", 12000, LineKind::EmployeeContribution),
                line("gb-ni-employer", 30000, LineKind::EmployerContribution),
            ],
            BTreeMap::new(),
            vec![],
        );
        assert_eq!(slip.net, 300000 - 39000 - 12000);
        assert_eq!(slip.total(LineKind::EmployerContribution), 30000);
        check_payslip(&input, &slip).unwrap();
    }
}

// ---- WIT glue: conversions between the serde types above and the generated ones.

mod glue {
    use std::marker::PhantomData;

    use super::{CalcInput, Frequency, Line, LineKind, Payslip, Rules, Support};
    use crate::__private::payroll_bindings::backoffice::payroll::{engine, types as c};
    use crate::__private::payroll_rules_bindings::backoffice::payroll::types as p;
    use crate::__private::payroll_rules_bindings::exports::backoffice::payroll::rules;
    use crate::Error;

    /// Implements the generated `rules` export for a [`Rules`] type.
    pub struct RulesAdapter<R>(PhantomData<R>);

    macro_rules! conversions {
        ($m:ident) => {
            impl From<Frequency> for $m::Frequency {
                fn from(f: Frequency) -> Self {
                    match f {
                        Frequency::Weekly => $m::Frequency::Weekly,
                        Frequency::Biweekly => $m::Frequency::Biweekly,
                        Frequency::FourWeekly => $m::Frequency::FourWeekly,
                        Frequency::SemiMonthly => $m::Frequency::SemiMonthly,
                        Frequency::Monthly => $m::Frequency::Monthly,
                        Frequency::Quarterly => $m::Frequency::Quarterly,
                        Frequency::Annual => $m::Frequency::Annual,
                    }
                }
            }

            impl From<$m::Frequency> for Frequency {
                fn from(f: $m::Frequency) -> Self {
                    match f {
                        $m::Frequency::Weekly => Frequency::Weekly,
                        $m::Frequency::Biweekly => Frequency::Biweekly,
                        $m::Frequency::FourWeekly => Frequency::FourWeekly,
                        $m::Frequency::SemiMonthly => Frequency::SemiMonthly,
                        $m::Frequency::Monthly => Frequency::Monthly,
                        $m::Frequency::Quarterly => Frequency::Quarterly,
                        $m::Frequency::Annual => Frequency::Annual,
                    }
                }
            }

            impl From<&CalcInput> for $m::CalcInput {
                fn from(i: &CalcInput) -> Self {
                    $m::CalcInput {
                        country: i.country.clone(),
                        pay_date: i.pay_date.clone(),
                        frequency: i.frequency.into(),
                        gross: i.gross,
                        currency: i.currency.clone(),
                        ytd: figures_out!($m, &i.ytd),
                        profile: i.profile.to_string(),
                    }
                }
            }

            impl TryFrom<$m::CalcInput> for CalcInput {
                type Error = Error;
                fn try_from(i: $m::CalcInput) -> Result<Self, Error> {
                    let profile = serde_json::from_str(&i.profile)
                        .map_err(|e| Error::invalid(format!("the tax profile is not JSON: {e}")))?;
                    Ok(CalcInput {
                        country: i.country,
                        pay_date: i.pay_date,
                        frequency: i.frequency.into(),
                        gross: i.gross,
                        currency: i.currency,
                        ytd: i.ytd.into_iter().map(|f| (f.code, f.amount)).collect(),
                        profile,
                    })
                }
            }

            impl From<Payslip> for $m::Payslip {
                fn from(s: Payslip) -> Self {
                    $m::Payslip {
                        country: s.country,
                        tax_year: s.tax_year,
                        period: s.period,
                        currency: s.currency,
                        gross: s.gross,
                        lines: s
                            .lines
                            .into_iter()
                            .map(|l| $m::Line {
                                code: l.code,
                                description: l.description,
                                amount: l.amount,
                                kind: match l.kind {
                                    LineKind::EmployeeTax => $m::LineKind::EmployeeTax,
                                    LineKind::EmployeeContribution => {
                                        $m::LineKind::EmployeeContribution
                                    }
                                    LineKind::EmployerContribution => {
                                        $m::LineKind::EmployerContribution
                                    }
                                },
                            })
                            .collect(),
                        net: s.net,
                        ytd: figures_out!($m, &s.ytd),
                        notes: s.notes,
                    }
                }
            }

            impl From<$m::Payslip> for Payslip {
                fn from(s: $m::Payslip) -> Self {
                    Payslip {
                        country: s.country,
                        tax_year: s.tax_year,
                        period: s.period,
                        currency: s.currency,
                        gross: s.gross,
                        lines: s
                            .lines
                            .into_iter()
                            .map(|l| Line {
                                code: l.code,
                                description: l.description,
                                amount: l.amount,
                                kind: match l.kind {
                                    $m::LineKind::EmployeeTax => LineKind::EmployeeTax,
                                    $m::LineKind::EmployeeContribution => {
                                        LineKind::EmployeeContribution
                                    }
                                    $m::LineKind::EmployerContribution => {
                                        LineKind::EmployerContribution
                                    }
                                },
                            })
                            .collect(),
                        net: s.net,
                        ytd: s.ytd.into_iter().map(|f| (f.code, f.amount)).collect(),
                        notes: s.notes,
                    }
                }
            }

            impl From<Support> for $m::Support {
                fn from(s: Support) -> Self {
                    $m::Support {
                        countries: s.countries,
                        currency: s.currency,
                        tax_years: s.tax_years,
                        frequencies: s.frequencies.into_iter().map(Into::into).collect(),
                    }
                }
            }

            impl From<$m::Support> for Support {
                fn from(s: $m::Support) -> Self {
                    Support {
                        countries: s.countries,
                        currency: s.currency,
                        tax_years: s.tax_years,
                        frequencies: s.frequencies.into_iter().map(Into::into).collect(),
                    }
                }
            }
        };
    }

    macro_rules! figures_out {
        ($m:ident, $map:expr) => {
            $map.iter()
                .map(|(code, amount)| $m::Figure {
                    code: code.clone(),
                    amount: *amount,
                })
                .collect()
        };
    }

    conversions!(c);
    conversions!(p);

    impl<R: Rules> rules::Guest for RulesAdapter<R> {
        fn describe() -> p::Support {
            R::support().into()
        }

        fn profile_schema() -> String {
            R::profile_schema().to_string()
        }

        fn calculate(input: p::CalcInput) -> Result<p::Payslip, p::Error> {
            let input = CalcInput::try_from(input)?;
            Ok(R::calculate(&input)?.into())
        }
    }

    pub(super) fn calculate(input: &CalcInput) -> Result<Payslip, Error> {
        Ok(engine::calculate(&input.into())?.into())
    }

    pub(super) fn support(country: &str) -> Result<Support, Error> {
        Ok(engine::describe(country)?.into())
    }

    pub(super) fn profile_schema(country: &str) -> Result<serde_json::Value, Error> {
        let text = engine::profile_schema(country)?;
        serde_json::from_str(&text)
            .map_err(|e| Error::internal(format!("the {country} profile schema is not JSON: {e}")))
    }

    pub(super) fn countries() -> Vec<String> {
        engine::countries()
    }

    /// The same four calls over `backoffice:payroll/engine@0.2.0`.
    pub(super) mod v0_2 {
        use super::super::{CalcInput, Calculation, Payslip, RulesProvider, Support};
        use crate::__private::payroll_v0_2_bindings::backoffice::payroll0_2_0::engine;
        use crate::Error;

        pub(in super::super) fn calculate(input: &CalcInput) -> Result<Calculation, Error> {
            let engine::Calculation { payslip, provider } = engine::calculate(&input.into())?;
            Ok(Calculation {
                payslip: Payslip::from(payslip),
                rules: RulesProvider {
                    plugin: provider.plugin,
                    version: provider.version,
                    digest: provider.digest,
                },
            })
        }

        pub(in super::super) fn support(country: &str) -> Result<Support, Error> {
            Ok(engine::describe(country)?.into())
        }

        pub(in super::super) fn profile_schema(country: &str) -> Result<serde_json::Value, Error> {
            let text = engine::profile_schema(country)?;
            serde_json::from_str(&text).map_err(|e| {
                Error::internal(format!("the {country} profile schema is not JSON: {e}"))
            })
        }

        pub(in super::super) fn countries() -> Vec<String> {
            engine::countries()
        }
    }
}

pub use glue::RulesAdapter;

/// The installed rules plugin that computed a payslip, as the host reports it
/// (`backoffice:payroll/engine@0.2.0`): enough to trace a payslip to the exact rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RulesProvider {
    /// Plugin id, e.g. `payroll-us`.
    pub plugin: String,
    /// Its version installed when it computed, e.g. `0.1.0`.
    pub version: String,
    /// SHA-256 of its installed package file, lowercase hex, as
    /// `backoffice plugin list --json` shows it.
    pub digest: String,
}

/// A payslip and the rules plugin that computed it ([`v0_2::calculate_with_rules`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Calculation {
    /// The payslip, checked as [`calculate`] checks it.
    pub payslip: Payslip,
    /// The rules plugin that computed it.
    pub rules: RulesProvider,
}

/// The consumer calls over `backoffice:payroll/engine@0.2.0`, which also names the
/// rules plugin behind each payslip ([`calculate_with_rules`](v0_2::calculate_with_rules)).
///
/// The functions of [`payroll`](crate::payroll) itself import `engine@0.1.0`, which
/// every host since extension points serves; these need a host that serves 0.2.0 (this
/// repository's, from the release that adds it). The types are the same: switch a
/// plugin over by importing this module as `payroll`
/// (`use backoffice_sdk::payroll::{v0_2 as payroll, CalcInput}`). A plugin that mixes
/// both imports both engines, which works but shows both in `plugin inspect`.
pub mod v0_2 {
    pub use super::{
        CalcInput, Calculation, Frequency, Line, LineKind, Payslip, RulesProvider, Support,
        check_payslip,
    };
    use crate::Result;

    /// Compute a payslip with the rules plugin the tenant has enabled for
    /// `input.country`, and learn which plugin, version and package computed it.
    /// Requires the `plugins` capability.
    pub fn calculate_with_rules(input: &CalcInput) -> Result<Calculation> {
        let c = super::glue::v0_2::calculate(input)?;
        check_payslip(input, &c.payslip)?;
        Ok(c)
    }

    /// [`calculate_with_rules`] without the provider, for a check or a probe whose
    /// payslip is not kept.
    pub fn calculate(input: &CalcInput) -> Result<Payslip> {
        Ok(calculate_with_rules(input)?.payslip)
    }

    /// What the rules enabled for `country` support.
    pub fn support(country: &str) -> Result<Support> {
        super::glue::v0_2::support(country)
    }

    /// The tax profile schema of the rules enabled for `country`.
    pub fn profile_schema(country: &str) -> Result<serde_json::Value> {
        super::glue::v0_2::profile_schema(country)
    }

    /// Countries with rules enabled for this tenant.
    pub fn countries() -> Vec<String> {
        super::glue::v0_2::countries()
    }
}

/// Compute a payslip with the rules plugin the tenant has enabled for
/// `input.country`, in this call's transaction. Requires the `plugins` capability.
///
/// [`Error::NotFound`] names what to install and enable when no enabled plugin
/// provides the country.
pub fn calculate(input: &CalcInput) -> Result<Payslip> {
    let slip = glue::calculate(input)?;
    check_payslip(input, &slip)?;
    Ok(slip)
}

/// What the rules enabled for `country` support.
pub fn support(country: &str) -> Result<Support> {
    glue::support(country)
}

/// The tax profile schema of the rules enabled for `country`.
pub fn profile_schema(country: &str) -> Result<serde_json::Value> {
    glue::profile_schema(country)
}

/// Countries with rules enabled for this tenant.
pub fn countries() -> Vec<String> {
    glue::countries()
}

/// Check a rules plugin against its fixture file (`tests/data/payroll/<cc>.json`):
/// the file names its `country` and `sources`, has at least 15 `cases` with unique
/// names and a `source` each, and every case's `input` gives exactly the expected
/// `lines` (code to amount), `net` and, when given, `ytd`. Returns every problem,
/// for a test to print at once.
pub fn fixture_problems(
    text: &str,
    country: &str,
    calculate: impl Fn(&CalcInput) -> Result<Payslip>,
) -> Vec<String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fixture {
        country: String,
        sources: Vec<String>,
        cases: Vec<Case>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Case {
        name: String,
        source: String,
        input: CalcInput,
        expect: Expect,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Expect {
        lines: BTreeMap<String, i64>,
        net: i64,
        #[serde(default)]
        ytd: Option<BTreeMap<String, i64>>,
    }
    let fixture: Fixture = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) => return vec![format!("the fixture does not parse: {e}")],
    };
    let mut problems = Vec::new();
    if fixture.country != country {
        problems.push(format!(
            "the fixture is for {}, not {country}",
            fixture.country
        ));
    }
    if fixture.sources.is_empty() {
        problems.push("the fixture lists no sources".into());
    }
    if fixture.cases.len() < 15 {
        problems.push(format!(
            "only {} cases; at least 15 are needed",
            fixture.cases.len()
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for case in &fixture.cases {
        let name = &case.name;
        if !names.insert(name.clone()) {
            problems.push(format!("{name}: duplicate case name"));
        }
        if case.source.trim().is_empty() {
            problems.push(format!("{name}: no source"));
        }
        let slip = match calculate(&case.input) {
            Ok(slip) => slip,
            Err(e) => {
                problems.push(format!("{name}: error {e}"));
                continue;
            }
        };
        if let Err(e) = check_payslip(&case.input, &slip) {
            problems.push(format!("{name}: {e}"));
        }
        let got: BTreeMap<String, i64> = slip
            .lines
            .iter()
            .map(|l| (l.code.clone(), l.amount))
            .collect();
        if got.len() != slip.lines.len() {
            problems.push(format!("{name}: duplicate line codes"));
        }
        let codes: std::collections::BTreeSet<&String> =
            got.keys().chain(case.expect.lines.keys()).collect();
        for code in codes {
            let (want, have) = (case.expect.lines.get(code), got.get(code));
            if want != have {
                problems.push(format!(
                    "{name}: line {code}: expected {want:?}, got {have:?}"
                ));
            }
        }
        if slip.net != case.expect.net {
            problems.push(format!(
                "{name}: net: expected {}, got {}",
                case.expect.net, slip.net
            ));
        }
        if let Some(ytd) = &case.expect.ytd
            && ytd != &slip.ytd
        {
            problems.push(format!("{name}: ytd: expected {ytd:?}, got {:?}", slip.ytd));
        }
    }
    problems
}
