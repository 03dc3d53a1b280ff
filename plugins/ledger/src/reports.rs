//! Report operations: balance, trial balance, balance sheet, income statement,
//! register and export. They read the balance index (never the entries) except
//! register, which reads the per-account posting index.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::date::Date;
use crate::model::{self, Account, Kind};
use crate::prices;
use crate::report::{self, Rows};
use crate::status::{self, Status, StatusFilter};
use crate::store::{self, Precisions};
use crate::tags::{self, TagFilter};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct AsOfInput {
    pub(crate) as_of: Option<Date>,
    pub(crate) prefix: Option<String>,
    pub(crate) depth: Option<usize>,
    pub(crate) value: Option<ValueAt>,
    /// Only postings of these statuses (`balance` only; see [`crate::status`]).
    #[serde(default)]
    pub(crate) status: Option<StatusFilter>,
    /// Only postings with this tag (see [`crate::tags`]).
    pub(crate) tag: Option<TagFilter>,
}

/// Report balances in `currency` at the market prices of `date`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct ValueAt {
    pub(crate) currency: String,
    pub(crate) date: Date,
}

/// The balances at the end of `as_of`, valued when `value` asks for it (see
/// [`crate::prices`]).
pub(crate) fn balances(
    as_of: Option<Date>,
    value: Option<&ValueAt>,
    tag: Option<&TagFilter>,
) -> Result<report::Balances> {
    tags::check_filter(tag)?;
    let bal = match tag {
        Some(f) => tags::balances(f, as_of)?,
        None => store::balances_as_of(as_of)?,
    };
    value_balances(bal, value)
}

/// `bal` valued when `value` asks for it.
fn value_balances(bal: report::Balances, value: Option<&ValueAt>) -> Result<report::Balances> {
    let Some(v) = value else {
        return Ok(bal);
    };
    if store::precision(&v.currency)?.is_none() {
        return Err(Error::invalid(format!(
            "value.currency: unknown currency {}: use an ISO 4217 code or one declared with create-commodity",
            v.currency
        )));
    }
    let table = prices::Table::new(&store::prices()?).map_err(Error::internal)?;
    let mut prec: BTreeMap<String, u8> = BTreeMap::new();
    for c in bal
        .keys()
        .map(|(_, c)| c)
        .chain(std::iter::once(&v.currency))
    {
        if !prec.contains_key(c) {
            prec.insert(c.clone(), store::precision(c)?.unwrap_or(0));
        }
    }
    prices::value(&bal, &table, &v.currency, v.date, &mut |c| {
        prec.get(c).copied().unwrap_or(0)
    })
    .map_err(Error::invalid)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RangeInput {
    pub(crate) from: Option<Date>,
    pub(crate) to: Option<Date>,
    pub(crate) prefix: Option<String>,
    pub(crate) depth: Option<usize>,
    /// Only postings with this tag (see [`crate::tags`]).
    pub(crate) tag: Option<TagFilter>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Row {
    pub(crate) account: String,
    pub(crate) amounts: Vec<Amount>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct BalanceOutput {
    pub(crate) as_of: Option<Date>,
    pub(crate) rows: Vec<Row>,
    pub(crate) totals: Vec<Amount>,
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
    let bal = match &input.status {
        None => balances(input.as_of, input.value.as_ref(), input.tag.as_ref())?,
        Some(f) => {
            tags::check_filter(input.tag.as_ref())?;
            value_balances(
                status::balances_as_of(input.as_of, f, input.tag.as_ref())?,
                input.value.as_ref(),
            )?
        }
    };
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
    pub(crate) account: String,
    #[serde(rename = "type")]
    pub(crate) kind: Option<Kind>,
    pub(crate) debit: Vec<Amount>,
    pub(crate) credit: Vec<Amount>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct TrialBalanceOutput {
    pub(crate) as_of: Option<Date>,
    pub(crate) rows: Vec<TrialRow>,
    pub(crate) debit: Vec<Amount>,
    pub(crate) credit: Vec<Amount>,
    pub(crate) balanced: bool,
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
    let bal = balances(input.as_of, input.value.as_ref(), input.tag.as_ref())?;
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
    pub(crate) kind: Kind,
    pub(crate) title: &'static str,
    pub(crate) rows: Vec<Row>,
    pub(crate) totals: Vec<Amount>,
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
    pub(crate) as_of: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<Date>,
    pub(crate) sections: Vec<Section>,
    pub(crate) net: Vec<Amount>,
}

pub(crate) fn balance_sheet(input: AsOfInput) -> Result<StatementOutput> {
    check_depth(input.depth)?;
    let prefix = model::normalise_prefix(input.prefix.as_deref());
    let accounts = store::accounts()?;
    let bal = balances(input.as_of, input.value.as_ref(), input.tag.as_ref())?;
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

/// Movements within `from..=to`: the balance at `to` minus the balance before `from`,
/// of the postings that pass `tag` when given.
fn movements(
    from: Option<Date>,
    to: Option<Date>,
    tag: Option<&TagFilter>,
) -> Result<report::Balances> {
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Error::invalid(format!("from ({f}) is after to ({t})")));
    }
    tags::check_filter(tag)?;
    let at = |date: Option<Date>| match tag {
        Some(f) => tags::balances(f, date),
        None => store::balances_as_of(date),
    };
    let end = at(to)?;
    match from.and_then(Date::pred) {
        Some(before) => Ok(report::difference(&end, &at(Some(before))?)),
        None => Ok(end),
    }
}

pub(crate) fn income_statement(input: RangeInput) -> Result<StatementOutput> {
    check_depth(input.depth)?;
    let prefix = model::normalise_prefix(input.prefix.as_deref());
    let accounts = store::accounts()?;
    let bal = movements(input.from, input.to, input.tag.as_ref())?;
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
    pub(crate) account: Option<String>,
    pub(crate) from: Option<Date>,
    pub(crate) to: Option<Date>,
    pub(crate) depth: Option<usize>,
    pub(crate) limit: Option<usize>,
    /// Only postings of these statuses, as hledger's `-U`, `-P`, `-C`.
    #[serde(default)]
    pub(crate) status: Option<StatusFilter>,
    /// Only postings with this tag.
    pub(crate) tag: Option<TagFilter>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RegisterRow {
    pub(crate) date: Date,
    pub(crate) entry: String,
    pub(crate) description: String,
    pub(crate) account: String,
    pub(crate) amount: Amount,
    pub(crate) balance: Vec<Amount>,
    /// The posting's index in its entry (for `set-status`).
    pub(crate) posting: usize,
    /// The posting's status.
    pub(crate) status: Status,
    #[serde(skip_serializing_if = "tags::Tags::is_empty")]
    pub(crate) tags: tags::Tags,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RegisterOutput {
    pub(crate) opening: Vec<Amount>,
    pub(crate) rows: Vec<RegisterRow>,
    pub(crate) closing: Vec<Amount>,
    pub(crate) truncated: bool,
}

pub(crate) const MAX_REGISTER: usize = 5000;

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
    tags::check_filter(input.tag.as_ref())?;
    let prefix = model::normalise_prefix(input.account.as_deref());
    let accounts = store::accounts()?;
    let mut running: BTreeMap<String, i64> = BTreeMap::new();
    let filter = input.status.as_ref();
    let tagged = |r: &store::RegRow| input.tag.as_ref().is_none_or(|f| f.matches(&r.t));
    // With a status filter the balance index (which has no status) cannot give the
    // opening balance: the rows before `from` are read and summed instead.
    if let (Some(_), Some(from)) = (filter, input.from) {
        for name in accounts
            .keys()
            .filter(|n| model::under(n, prefix.as_deref()))
        {
            for (_, r) in store::register_rows(name, None, from.pred())? {
                if status::passes(filter, r.s) && tagged(&r) {
                    let slot = running.entry(r.c).or_default();
                    *slot = slot.saturating_add(r.n);
                }
            }
        }
        running.retain(|_, v| *v != 0);
    } else if let Some(before) = input.from.and_then(Date::pred) {
        let bal = match &input.tag {
            Some(f) => tags::balances(f, Some(before))?,
            None => store::balances_as_of(Some(before))?,
        };
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
            if status::passes(filter, r.s) && tagged(&r) {
                all.push((k, name.clone(), r));
            }
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
            posting: status::posting_of(&k),
            status: r.s,
            tags: r.t,
        });
    }
    Ok(RegisterOutput {
        opening,
        closing: prec.amounts(&running)?,
        rows,
        truncated,
    })
}
