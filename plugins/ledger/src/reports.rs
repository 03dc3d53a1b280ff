//! Report operations: balance, trial balance, balance sheet, income statement,
//! register and export. They read the balance index (never the entries) except
//! register, which reads the per-account posting index.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::date::Date;
use crate::model::{self, Account, Kind};
use crate::report::{self, Rows};
use crate::store::{self, Precisions};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct AsOfInput {
    as_of: Option<Date>,
    prefix: Option<String>,
    depth: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RangeInput {
    from: Option<Date>,
    to: Option<Date>,
    prefix: Option<String>,
    depth: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Row {
    account: String,
    amounts: Vec<Amount>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct BalanceOutput {
    as_of: Option<Date>,
    rows: Vec<Row>,
    totals: Vec<Amount>,
}

fn rows_out(rows: &Rows, prec: &mut Precisions) -> Result<Vec<Row>> {
    rows.iter()
        .map(|(account, m)| {
            Ok(Row {
                account: account.clone(),
                amounts: prec.amounts(m)?,
            })
        })
        .collect()
}

fn check_depth(depth: Option<usize>) -> Result<()> {
    match depth {
        Some(0) => Err(Error::invalid("depth must be at least 1")),
        _ => Ok(()),
    }
}

pub(crate) fn balance(input: AsOfInput) -> Result<BalanceOutput> {
    check_depth(input.depth)?;
    let prefix = model::normalise_prefix(input.prefix.as_deref());
    let bal = store::balances_as_of(input.as_of)?;
    let rows = report::rollup(&bal, prefix.as_deref(), input.depth, false, &|_| true);
    let mut prec = Precisions::default();
    Ok(BalanceOutput {
        as_of: input.as_of,
        totals: prec.amounts(&report::totals(&rows))?,
        rows: rows_out(&rows, &mut prec)?,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct TrialRow {
    account: String,
    #[serde(rename = "type")]
    kind: Option<Kind>,
    debit: Vec<Amount>,
    credit: Vec<Amount>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct TrialBalanceOutput {
    as_of: Option<Date>,
    rows: Vec<TrialRow>,
    debit: Vec<Amount>,
    credit: Vec<Amount>,
    balanced: bool,
}

/// The type of a shown (possibly rolled-up) account: its own, or its first sub-account's.
fn kind_of(shown: &str, accounts: &BTreeMap<String, Account>) -> Option<Kind> {
    accounts
        .get(shown)
        .or_else(|| {
            accounts
                .range(shown.to_owned()..)
                .find(|(n, _)| model::under(n, Some(shown)))
                .map(|(_, a)| a)
        })
        .map(|a| a.kind)
}

pub(crate) fn trial_balance(input: AsOfInput) -> Result<TrialBalanceOutput> {
    check_depth(input.depth)?;
    let prefix = model::normalise_prefix(input.prefix.as_deref());
    let accounts = store::accounts()?;
    let bal = store::balances_as_of(input.as_of)?;
    let rows = report::rollup(&bal, prefix.as_deref(), input.depth, false, &|_| true);
    let mut prec = Precisions::default();
    let (mut debit, mut credit) = (BTreeMap::new(), BTreeMap::new());
    let mut out = Vec::with_capacity(rows.len());
    for (account, m) in &rows {
        let d: BTreeMap<String, i64> = m
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(c, v)| (c.clone(), *v))
            .collect();
        let c: BTreeMap<String, i64> = m
            .iter()
            .filter(|(_, v)| **v < 0)
            .map(|(c, v)| (c.clone(), v.saturating_neg()))
            .collect();
        report::add_into(&mut debit, &d);
        report::add_into(&mut credit, &c);
        out.push(TrialRow {
            account: account.clone(),
            kind: kind_of(account, &accounts),
            debit: prec.amounts(&d)?,
            credit: prec.amounts(&c)?,
        });
    }
    Ok(TrialBalanceOutput {
        as_of: input.as_of,
        rows: out,
        balanced: debit == credit,
        debit: prec.amounts(&debit)?,
        credit: prec.amounts(&credit)?,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Section {
    #[serde(rename = "type")]
    kind: Kind,
    title: &'static str,
    rows: Vec<Row>,
    totals: Vec<Amount>,
}

fn section(
    kind: Kind,
    bal: &report::Balances,
    accounts: &BTreeMap<String, Account>,
    prefix: Option<&str>,
    depth: Option<usize>,
    prec: &mut Precisions,
) -> Result<(Section, BTreeMap<String, i64>)> {
    let rows = report::rollup(bal, prefix, depth, kind.credit_normal(), &|a| {
        accounts.get(a).map(|x| x.kind) == Some(kind)
    });
    let totals = report::totals(&rows);
    let title = match kind {
        Kind::Asset => "Assets",
        Kind::Liability => "Liabilities",
        Kind::Equity => "Equity",
        Kind::Income => "Income",
        Kind::Expense => "Expenses",
    };
    Ok((
        Section {
            kind,
            title,
            rows: rows_out(&rows, prec)?,
            totals: prec.amounts(&totals)?,
        },
        totals,
    ))
}

fn net(parts: &[(BTreeMap<String, i64>, bool)], prec: &mut Precisions) -> Result<Vec<Amount>> {
    let mut n: BTreeMap<String, i64> = BTreeMap::new();
    for (m, minus) in parts {
        for (c, v) in m {
            let slot = n.entry(c.clone()).or_default();
            *slot = if *minus {
                slot.saturating_sub(*v)
            } else {
                slot.saturating_add(*v)
            };
        }
    }
    n.retain(|_, v| *v != 0);
    prec.amounts(&n)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct StatementOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    as_of: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<Date>,
    sections: Vec<Section>,
    net: Vec<Amount>,
}

pub(crate) fn balance_sheet(input: AsOfInput) -> Result<StatementOutput> {
    check_depth(input.depth)?;
    let prefix = model::normalise_prefix(input.prefix.as_deref());
    let accounts = store::accounts()?;
    let bal = store::balances_as_of(input.as_of)?;
    let mut prec = Precisions::default();
    let mut sections = Vec::new();
    let mut parts = Vec::new();
    for (kind, minus) in [
        (Kind::Asset, false),
        (Kind::Liability, true),
        (Kind::Equity, true),
    ] {
        let (s, t) = section(
            kind,
            &bal,
            &accounts,
            prefix.as_deref(),
            input.depth,
            &mut prec,
        )?;
        sections.push(s);
        parts.push((t, minus));
    }
    Ok(StatementOutput {
        as_of: input.as_of,
        from: None,
        to: None,
        sections,
        net: net(&parts, &mut prec)?,
    })
}

/// Movements within `from..=to`: the balance at `to` minus the balance before `from`.
fn movements(from: Option<Date>, to: Option<Date>) -> Result<report::Balances> {
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Error::invalid(format!("from ({f}) is after to ({t})")));
    }
    let end = store::balances_as_of(to)?;
    match from.and_then(Date::pred) {
        Some(before) => Ok(report::difference(
            &end,
            &store::balances_as_of(Some(before))?,
        )),
        None => Ok(end),
    }
}

pub(crate) fn income_statement(input: RangeInput) -> Result<StatementOutput> {
    check_depth(input.depth)?;
    let prefix = model::normalise_prefix(input.prefix.as_deref());
    let accounts = store::accounts()?;
    let bal = movements(input.from, input.to)?;
    let mut prec = Precisions::default();
    let (inc, ti) = section(
        Kind::Income,
        &bal,
        &accounts,
        prefix.as_deref(),
        input.depth,
        &mut prec,
    )?;
    let (exp, te) = section(
        Kind::Expense,
        &bal,
        &accounts,
        prefix.as_deref(),
        input.depth,
        &mut prec,
    )?;
    Ok(StatementOutput {
        as_of: None,
        from: input.from,
        to: input.to,
        sections: vec![inc, exp],
        net: net(&[(ti, false), (te, true)], &mut prec)?,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RegisterInput {
    account: Option<String>,
    from: Option<Date>,
    to: Option<Date>,
    depth: Option<usize>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RegisterRow {
    date: Date,
    entry: String,
    description: String,
    account: String,
    amount: Amount,
    balance: Vec<Amount>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RegisterOutput {
    opening: Vec<Amount>,
    rows: Vec<RegisterRow>,
    closing: Vec<Amount>,
    truncated: bool,
}

const MAX_REGISTER: usize = 5000;

pub(crate) fn register(input: RegisterInput) -> Result<RegisterOutput> {
    check_depth(input.depth)?;
    let limit = input.limit.unwrap_or(1000);
    if !(1..=MAX_REGISTER).contains(&limit) {
        return Err(Error::invalid(format!("limit must be 1 to {MAX_REGISTER}")));
    }
    if let (Some(f), Some(t)) = (input.from, input.to)
        && f > t
    {
        return Err(Error::invalid(format!("from ({f}) is after to ({t})")));
    }
    let prefix = model::normalise_prefix(input.account.as_deref());
    let accounts = store::accounts()?;
    let mut running: BTreeMap<String, i64> = BTreeMap::new();
    if let Some(before) = input.from.and_then(Date::pred) {
        let bal = store::balances_as_of(Some(before))?;
        for ((a, c), v) in bal {
            if model::under(&a, prefix.as_deref()) {
                let slot = running.entry(c).or_default();
                *slot = slot.saturating_add(v);
            }
        }
        running.retain(|_, v| *v != 0);
    }
    let mut prec = Precisions::default();
    let opening = prec.amounts(&running)?;
    let mut all = Vec::new();
    for name in accounts
        .keys()
        .filter(|n| model::under(n, prefix.as_deref()))
    {
        for (k, r) in store::register_rows(name, input.from, input.to)? {
            all.push((k, name.clone(), r));
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let truncated = all.len() > limit;
    let mut rows = Vec::with_capacity(all.len().min(limit));
    for (k, account, r) in all.into_iter().take(limit) {
        let slot = running.entry(r.c.clone()).or_default();
        *slot = slot.saturating_add(r.n);
        running.retain(|_, v| *v != 0);
        rows.push(RegisterRow {
            date: Date::parse(&k[..10.min(k.len())]).map_err(Error::internal)?,
            entry: r.e,
            description: r.d,
            account: model::clip(&account, input.depth).to_owned(),
            amount: prec.amount(&r.c, r.n)?,
            balance: prec.amounts(&running)?,
        });
    }
    Ok(RegisterOutput {
        opening,
        closing: prec.amounts(&running)?,
        rows,
        truncated,
    })
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum What {
    Entries,
    Balance,
    TrialBalance,
    BalanceSheet,
    IncomeStatement,
    Register,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Format {
    Json,
    Csv,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct ExportInput {
    what: What,
    format: Format,
    as_of: Option<Date>,
    from: Option<Date>,
    to: Option<Date>,
    prefix: Option<String>,
    depth: Option<usize>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ExportOutput {
    format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    csv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::internal(e.to_string()))
}

fn amount_rows(account: &str, amounts: &[Amount], out: &mut Vec<Vec<String>>, lead: &[String]) {
    for a in amounts {
        let mut r = lead.to_vec();
        r.extend([
            account.to_owned(),
            a.currency.clone(),
            a.amount.to_string(),
            a.formatted.clone(),
        ]);
        out.push(r);
    }
}

pub(crate) fn export(input: ExportInput) -> Result<ExportOutput> {
    let as_of = AsOfInput {
        as_of: input.as_of,
        prefix: input.prefix.clone(),
        depth: input.depth,
    };
    let mut next_cursor = None;
    let (json, header, rows): (serde_json::Value, Vec<&str>, Vec<Vec<String>>) = match input.what {
        What::Entries => {
            let limit = input.limit.unwrap_or(1000).clamp(1, MAX_REGISTER);
            let after = match &input.cursor {
                Some(c) => {
                    store::parse_id(c).ok_or_else(|| Error::invalid(format!("bad cursor {c:?}")))?
                }
                None => 0,
            };
            let prefix = model::normalise_prefix(input.prefix.as_deref());
            let page = store::entries_page(after, limit)?;
            if page.len() == limit {
                next_cursor = page.last().map(|e| e.id.clone());
            }
            let entries: Vec<_> = page
                .into_iter()
                .filter(|e| {
                    input.from.is_none_or(|f| e.date >= f) && input.to.is_none_or(|t| e.date <= t)
                })
                .filter(|e| {
                    e.postings
                        .iter()
                        .any(|p| model::under(&p.account, prefix.as_deref()))
                })
                .collect();
            let mut prec = Precisions::default();
            let mut rows = Vec::new();
            for e in &entries {
                for p in &e.postings {
                    rows.push(vec![
                        e.id.clone(),
                        e.date.to_string(),
                        e.description.clone(),
                        e.payee.clone().unwrap_or_default(),
                        p.account.clone(),
                        p.currency.clone(),
                        p.amount.to_string(),
                        prec.amount(&p.currency, p.amount)?.formatted,
                        e.reverses.clone().unwrap_or_default(),
                    ]);
                }
            }
            (
                to_json(&entries)?,
                vec![
                    "entry",
                    "date",
                    "description",
                    "payee",
                    "account",
                    "currency",
                    "amount",
                    "formatted",
                    "reverses",
                ],
                rows,
            )
        }
        What::Balance => {
            let b = balance(as_of)?;
            let mut rows = Vec::new();
            for r in &b.rows {
                amount_rows(&r.account, &r.amounts, &mut rows, &[]);
            }
            (
                to_json(&b)?,
                vec!["account", "currency", "amount", "formatted"],
                rows,
            )
        }
        What::TrialBalance => {
            let t = trial_balance(as_of)?;
            let mut rows = Vec::new();
            for r in &t.rows {
                amount_rows(&r.account, &r.debit, &mut rows, &["debit".to_owned()]);
                amount_rows(&r.account, &r.credit, &mut rows, &["credit".to_owned()]);
            }
            (
                to_json(&t)?,
                vec!["side", "account", "currency", "amount", "formatted"],
                rows,
            )
        }
        What::BalanceSheet | What::IncomeStatement => {
            let s = if input.what == What::BalanceSheet {
                balance_sheet(as_of)?
            } else {
                income_statement(RangeInput {
                    from: input.from,
                    to: input.to,
                    prefix: input.prefix.clone(),
                    depth: input.depth,
                })?
            };
            let mut rows = Vec::new();
            for sec in &s.sections {
                for r in &sec.rows {
                    amount_rows(&r.account, &r.amounts, &mut rows, &[sec.title.to_owned()]);
                }
            }
            (
                to_json(&s)?,
                vec!["section", "account", "currency", "amount", "formatted"],
                rows,
            )
        }
        What::Register => {
            let r = register(RegisterInput {
                account: input.prefix.clone(),
                from: input.from,
                to: input.to,
                depth: input.depth,
                limit: input.limit,
            })?;
            let rows = r
                .rows
                .iter()
                .map(|x| {
                    vec![
                        x.date.to_string(),
                        x.entry.clone(),
                        x.description.clone(),
                        x.account.clone(),
                        x.amount.currency.clone(),
                        x.amount.amount.to_string(),
                        x.amount.formatted.clone(),
                        x.balance
                            .iter()
                            .map(|b| format!("{} {}", b.formatted, b.currency))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ]
                })
                .collect();
            (
                to_json(&r)?,
                vec![
                    "date",
                    "entry",
                    "description",
                    "account",
                    "currency",
                    "amount",
                    "formatted",
                    "balance",
                ],
                rows,
            )
        }
    };
    Ok(match input.format {
        Format::Json => ExportOutput {
            format: "json",
            data: Some(json),
            csv: None,
            next_cursor,
        },
        Format::Csv => ExportOutput {
            format: "csv",
            data: None,
            csv: Some(report::csv(&header, &rows)),
            next_cursor,
        },
    })
}
