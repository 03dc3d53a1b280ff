//! Export of entries and reports as JSON or CSV, and of entries and prices as
//! hledger journal text.

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
    /// hledger journal text (entries and prices only).
    Journal,
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
    journal: Option<String>,
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
    if input.format == Format::Journal && !matches!(input.what, What::Entries | What::Prices) {
        return Err(Error::invalid(
            "format journal applies to what entries and prices only: export the entries as a journal and run the report in hledger, or choose json or csv",
        ));
    }
    if input.format == Format::Journal && input.what == What::Entries && input.tag.is_some() {
        return Err(Error::invalid(
            "tag does not apply to a journal export: a journal holds whole books; leave tag out, or choose json or csv",
        ));
    }
    let mut next_cursor = None;
    let mut journal = String::new();
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
            if input.format == Format::Journal {
                if input.cursor.is_none() {
                    account_directives(&mut journal, prefix.as_deref())?;
                }
                for e in &entries {
                    journal_entry(&mut journal, e, &mut prec)?;
                }
            }
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
            for p in &l.prices {
                journal.push_str(&format!(
                    "P {} {} {} {}\n",
                    p.date,
                    commodity(&p.commodity),
                    p.price,
                    commodity(&p.currency)
                ));
            }
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
            journal: None,
            next_cursor,
        },
        Format::Csv => ExportOutput {
            format: "csv",
            data: None,
            csv: Some(report::csv(&header, &rows)),
            journal: None,
            next_cursor,
        },
        Format::Journal => ExportOutput {
            format: "journal",
            data: None,
            csv: None,
            journal: Some(journal),
            next_cursor,
        },
    })
}

/// A commodity as a journal writes it: bare when it is letters only (`EUR`), else
/// in double quotes (`"AAPL2"`), as hledger requires.
fn commodity(c: &str) -> String {
    if !c.is_empty() && c.chars().all(char::is_alphabetic) {
        c.to_owned()
    } else {
        format!("\"{c}\"")
    }
}

/// Text for a one-line journal comment: line breaks become spaces.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// `account NAME  ; type: X` for every account (under `prefix`), so that hledger and a
/// later `import-journal` know each account's type whatever its name.
fn account_directives(out: &mut String, prefix: Option<&str>) -> Result<()> {
    for a in store::accounts()?.into_values() {
        if !model::under(&a.name, prefix) {
            continue;
        }
        let t = match a.kind {
            model::Kind::Asset => "A",
            model::Kind::Liability => "L",
            model::Kind::Equity => "E",
            model::Kind::Income => "R",
            model::Kind::Expense => "X",
        };
        out.push_str(&format!("account {}  ; type: {t}\n", a.name));
    }
    out.push('\n');
    Ok(())
}

/// One entry as an hledger transaction: `DATE [(CODE)] [PAYEE | ]DESCRIPTION` with the
/// entry id (and what it reverses) in a comment, then each posting with its status
/// mark, amount, `@@` total cost, memo and tags (`; name: value`).
fn journal_entry(out: &mut String, e: &store::Entry, prec: &mut Precisions) -> Result<()> {
    out.push_str(&e.date.to_string());
    if let Some(code) = &e.code {
        out.push_str(&format!(" ({})", one_line(code).replace(')', "")));
    }
    let description = one_line(&e.description);
    match &e.payee {
        Some(p) => out.push_str(&format!(" {} | {description}", one_line(p))),
        None if description.contains('|') => out.push_str(&format!(" | {description}")),
        None => out.push_str(&format!(" {description}")),
    }
    out.push_str(&format!("  ; {}", e.id));
    if let Some(r) = &e.reverses {
        out.push_str(&format!(", reverses {r}"));
    }
    out.push('\n');
    for p in &e.postings {
        let mark = match p.status {
            crate::status::Status::Unmarked => "",
            crate::status::Status::Pending => "! ",
            crate::status::Status::Cleared => "* ",
        };
        out.push_str(&format!(
            "    {mark}{}  {} {}",
            p.account,
            prec.amount(&p.currency, p.amount)?.formatted,
            commodity(&p.currency)
        ));
        if let Some(c) = &p.cost {
            out.push_str(&format!(
                " @@ {} {}",
                prec.amount(&c.currency, c.amount)?.formatted,
                commodity(&c.currency)
            ));
        }
        let mut comment: Vec<String> = p.memo.iter().map(|m| one_line(m)).collect();
        comment.extend(
            p.tags
                .iter()
                .map(|(k, v)| format!("{k}: {}", one_line(v).replace(',', ";"))),
        );
        if !comment.is_empty() {
            out.push_str(&format!("  ; {}", comment.join(", ")));
        }
        out.push('\n');
    }
    out.push('\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_commodities_are_quoted_unless_letters_only() {
        assert_eq!(commodity("EUR"), "EUR");
        assert_eq!(commodity("AAPL2"), "\"AAPL2\"");
        assert_eq!(commodity("$"), "\"$\"");
    }

    #[test]
    fn journal_comments_stay_on_one_line() {
        assert_eq!(one_line("two\nlines\r\nhere"), "two lines  here");
    }
}
