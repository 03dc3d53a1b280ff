//! Export of entries and reports as JSON or CSV.

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::date::Date;
use crate::reports::{
    AsOfInput, MAX_REGISTER, RangeInput, RegisterInput, balance, balance_sheet, income_statement,
    register, trial_balance,
};
use crate::store::{self, Precisions};
use crate::{model, report};

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum What {
    Entries,
    Balance,
    TrialBalance,
    BalanceSheet,
    IncomeStatement,
    Register,
    Prices,
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
    value: Option<crate::reports::ValueAt>,
    /// Only postings of these statuses (balance and register).
    #[serde(default)]
    status: Option<crate::status::StatusFilter>,
    /// Only postings with this tag (entries: those with a posting that has it).
    tag: Option<crate::tags::TagFilter>,
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
        value: input.value.clone(),
        status: input.status.clone(),
        tag: input.tag.clone(),
    };
    crate::tags::check_filter(input.tag.as_ref())?;
    if input.tag.is_some() && input.what == What::Prices {
        return Err(Error::invalid(
            "tag does not apply to prices: leave it out, or export entries or a report",
        ));
    }
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
                .filter(|e| {
                    input
                        .tag
                        .as_ref()
                        .is_none_or(|f| e.postings.iter().any(|p| f.matches(&p.tags)))
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
                        p.status.name().to_owned(),
                        crate::tags::text(&p.tags),
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
                    "status",
                    "tags",
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
                    tag: input.tag.clone(),
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
        What::Prices => {
            let l = crate::period::list_prices(crate::period::ListPricesInput {
                from: input.from,
                to: input.to,
                ..Default::default()
            })?;
            let rows = l
                .prices
                .iter()
                .map(|p| {
                    vec![
                        p.date.to_string(),
                        p.commodity.clone(),
                        p.currency.clone(),
                        p.price.clone(),
                    ]
                })
                .collect();
            (
                to_json(&l)?,
                vec!["date", "commodity", "currency", "price"],
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
                status: input.status.clone(),
                tag: input.tag.clone(),
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
                        x.status.name().to_owned(),
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
                    "status",
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
