//! The operations, and the storage layout:
//!
//! | key | value |
//! |---|---|
//! | `seq/acct`, `seq/stmt`, `seq/line` | the last sequence numbers |
//! | `acct/<id>` | a [`BankAccount`] |
//! | `iban/<IBAN>` | the id of the account with that IBAN |
//! | `map/<name>` | a CSV [`Mapping`] |
//! | `rule/<name>` | a [`Rule`] |
//! | `stmt/<seq, 12 digits>` | a [`Statement`] |
//! | `sid/<account>/<statement id>` | the id of the statement imported with that id |
//! | `line/<seq, 12 digits>` | a [`Line`] |
//! | `dup/<account>/<hash of the dedup key>[-n]` | the id of the line with that key |
//! | `open/<account>/<line seq>` | present while the line is unmatched |
//! | `plink/<ledger entry>/<posting>` | the line linked to that posting ([`crate::postings`]) |

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::csv::Mapping;
use crate::matching::{Candidate, OpenItem};
use crate::model::{
    BankAccount, Duplicate, Line, Matched, ParsedLine, Rule, Statement, format_minor, hash,
};

fn next_seq(name: &str) -> Result<u64> {
    let n = storage::get::<u64>(&format!("seq/{name}"))?.unwrap_or(0) + 1;
    storage::put(&format!("seq/{name}"), &n)?;
    Ok(n)
}

fn seq_of(id: &str, prefix: &str) -> Option<u64> {
    let digits = id.strip_prefix(prefix)?;
    (digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

pub(crate) fn account(id: &str) -> Result<BankAccount> {
    storage::get(&format!("acct/{id}"))?.ok_or_else(|| {
        Error::not_found(format!(
            "no bank account {id}; list-accounts shows the accounts, add-account adds one"
        ))
    })
}

fn accounts() -> Result<Vec<BankAccount>> {
    Ok(storage::scan_prefix("acct/")
        .collect::<BankAccount>()?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

pub(crate) fn line(id: &str) -> Result<Line> {
    let not_found = || Error::not_found(format!("no statement line {id}"));
    let n = seq_of(id, "ln-").ok_or_else(not_found)?;
    storage::get(&format!("line/{n:012}"))?.ok_or_else(not_found)
}

pub(crate) fn put_line(l: &Line) -> Result<()> {
    let n = seq_of(&l.id, "ln-").ok_or_else(|| Error::internal(format!("bad id {}", l.id)))?;
    storage::put(&format!("line/{n:012}"), l)?;
    let open = format!("open/{}/{n:012}", l.account);
    if l.matched.is_none() {
        storage::put(&open, &1)
    } else {
        storage::delete(&open).map(|_| ())
    }
}

fn statement(id: &str) -> Result<Statement> {
    let not_found = || Error::not_found(format!("no statement {id}"));
    let n = seq_of(id, "st-").ok_or_else(not_found)?;
    storage::get(&format!("stmt/{n:012}"))?.ok_or_else(not_found)
}

pub(crate) fn money(amount: i64, currency: &str) -> String {
    let exp = Currency::new(currency).map(|c| c.exponent()).unwrap_or(2);
    format!("{currency} {}", format_minor(amount, exp))
}

pub(crate) fn now() -> String {
    context::now().to_string()
}

// ---- accounts ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AccountIn {
    name: String,
    iban: Option<String>,
    account_number: Option<String>,
    currency: String,
    ledger_account: String,
}

pub fn add_account(input: AccountIn) -> Result<BankAccount> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(Error::invalid("give the account a name"));
    }
    let currency = Currency::new(&input.currency)?;
    let iban = input
        .iban
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(crate::iban::normalise)
        .transpose()
        .map_err(Error::invalid)?;
    let number = input
        .account_number
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if iban.is_none() && number.is_none() {
        return Err(Error::invalid(
            "give the account's iban or account-number (statements are matched to it)",
        ));
    }
    let ledger_account = input.ledger_account.trim();
    let listed: Value = plugins::call("ledger", "list-accounts", &json!({}))?;
    let known = listed["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| a["name"] == ledger_account);
    if !known {
        return Err(Error::invalid(format!(
            "the ledger has no open account {ledger_account:?}; create it first (ledger create-account, type asset)"
        )));
    }
    if let Some(i) = &iban
        && let Some(other) = storage::get::<String>(&format!("iban/{i}"))?
    {
        return Err(Error::conflict(format!(
            "IBAN {i} is already bank account {other}"
        )));
    }
    let a = BankAccount {
        id: format!("ba-{:06}", next_seq("acct")?),
        name: name.to_owned(),
        iban,
        account_number: number,
        currency: currency.code().to_owned(),
        ledger_account: ledger_account.to_owned(),
    };
    if let Some(i) = &a.iban {
        storage::put(&format!("iban/{i}"), &a.id)?;
    }
    storage::put(&format!("acct/{}", a.id), &a)?;
    Ok(a)
}

#[derive(Debug, Serialize)]
pub struct Accounts {
    accounts: Vec<BankAccount>,
}

pub fn list_accounts(_: Empty) -> Result<Accounts> {
    Ok(Accounts {
        accounts: accounts()?,
    })
}

// ---- CSV mappings ----

pub fn save_mapping(mut m: Mapping) -> Result<Mapping> {
    m.check().map_err(Error::invalid)?;
    m.name = m.name.trim().to_owned();
    storage::put(&format!("map/{}", m.name), &m)?;
    Ok(m)
}

#[derive(Debug, Serialize)]
pub struct Mappings {
    mappings: Vec<Mapping>,
}

pub fn list_mappings(_: Empty) -> Result<Mappings> {
    Ok(Mappings {
        mappings: storage::scan_prefix("map/")
            .collect::<Mapping>()?
            .into_iter()
            .map(|(_, m)| m)
            .collect(),
    })
}

// ---- import ----

/// What an import did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Imported {
    statements: Vec<StatementOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatementOut {
    #[serde(flatten)]
    statement: Statement,
    imported: u64,
    duplicate_count: usize,
}

struct NewStatement {
    statement_id: String,
    format: &'static str,
    from: Option<Date>,
    to: Option<Date>,
    opening: Option<i64>,
    closing: Option<(i64, Date)>,
    lines: Vec<ParsedLine>,
    batch: Option<String>,
}

/// Store one statement of `acct`: refused when its id was imported before; lines
/// already imported (by an earlier statement) are reported, not stored.
fn store_statement(acct: &BankAccount, s: NewStatement) -> Result<StatementOut> {
    let sid = s.statement_id.trim();
    if sid.is_empty() || sid.len() > 200 {
        return Err(Error::invalid(format!(
            "statement id {sid:?} must be 1 to 200 characters"
        )));
    }
    let sid_key = format!("sid/{}/{sid}", acct.id);
    if let Some(existing) = storage::get::<String>(&sid_key)? {
        return Err(Error::conflict(format!(
            "statement {sid} was already imported into {} as {existing}; nothing was imported",
            acct.id
        )));
    }
    let n = next_seq("stmt")?;
    let id = format!("st-{n:06}");
    let mut first_line = 0;
    let mut imported = 0;
    let mut duplicates = Vec::new();
    let mut last_seq = storage::get::<u64>("seq/line")?.unwrap_or(0);
    let mut max_date = None;
    // Statements already found to be (or not to be) of this statement's batch.
    let mut same_batch: std::collections::BTreeMap<String, bool> = Default::default();
    for p in s.lines {
        max_date = max_date.max(Some(p.date));
        let dedup = p.dedup_key();
        let h = hash(&dedup);
        let mut k = 0;
        let mut duplicate_of = None;
        let key = loop {
            let key = if k == 0 {
                format!("dup/{}/{h}", acct.id)
            } else {
                format!("dup/{}/{h}-{k}", acct.id)
            };
            match storage::get::<String>(&key)? {
                None => break key,
                Some(other) => {
                    let o = line(&other)?;
                    let same = ParsedLine {
                        date: o.date,
                        value_date: None,
                        amount: o.amount,
                        reference: o.reference.clone(),
                        bank_reference: o.bank_reference.clone(),
                        counterparty: o.counterparty.clone(),
                        description: String::new(),
                        raw: String::new(),
                        origin: String::new(),
                    }
                    .dedup_key()
                        == dedup;
                    let batch_mate = match (&s.batch, same_batch.get(&o.statement)) {
                        (None, _) => false,
                        _ if !same || o.statement == id => false,
                        (Some(_), Some(known)) => *known,
                        (Some(b), None) => {
                            let mate =
                                statement(&o.statement)?.batch.as_deref() == Some(b.as_str());
                            same_batch.insert(o.statement.clone(), mate);
                            mate
                        }
                    };
                    if same && o.statement != id && !batch_mate {
                        duplicate_of = Some(other);
                        break key;
                    }
                    k += 1;
                }
            }
        };
        if let Some(existing_line) = duplicate_of {
            duplicates.push(Duplicate {
                origin: p.origin,
                existing_line,
            });
            continue;
        }
        last_seq += 1;
        if first_line == 0 {
            first_line = last_seq;
        }
        let l = Line {
            id: format!("ln-{last_seq:06}"),
            account: acct.id.clone(),
            statement: id.clone(),
            date: p.date,
            value_date: p.value_date,
            amount: p.amount,
            currency: acct.currency.clone(),
            reference: p.reference,
            bank_reference: p.bank_reference,
            counterparty: p.counterparty,
            description: p.description,
            origin: p.origin,
            raw: p.raw,
            status: "unmatched".to_owned(),
            matched: None,
        };
        storage::put(&key, &l.id)?;
        put_line(&l)?;
        imported += 1;
    }
    storage::put("seq/line", &last_seq)?;
    let closing_date = s.closing.map(|c| c.1).or(s.to).or(max_date);
    let st = Statement {
        id: id.clone(),
        account: acct.id.clone(),
        statement_id: sid.to_owned(),
        format: s.format.to_owned(),
        currency: acct.currency.clone(),
        from: s.from,
        to: s.to.or(max_date),
        opening_balance: s.opening,
        closing_balance: s.closing.map(|c| c.0),
        closing_date,
        first_line,
        lines: imported,
        duplicates,
        imported_at: now(),
        batch: s.batch,
    };
    storage::put(&sid_key, &id)?;
    storage::put(&format!("stmt/{n:012}"), &st)?;
    events::emit(
        "banking.statement-imported",
        &json!({"statement": id, "account": acct.id, "statement-id": sid,
                "format": s.format, "lines": imported, "duplicates": st.duplicates.len(),
                "closing-balance": st.closing_balance, "closing-date": st.closing_date,
                "currency": acct.currency}),
    )?;
    Ok(StatementOut {
        duplicate_count: st.duplicates.len(),
        imported,
        statement: st,
    })
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Number {
    Int(i64),
    Str(String),
}

fn amount_in(n: &Number, currency: Currency) -> Result<i64> {
    match n {
        Number::Int(i) => Ok(*i),
        Number::Str(s) => Money::parse_in(s, currency).map(|m| m.amount()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CsvIn {
    account: String,
    mapping: String,
    content: String,
    statement_id: Option<String>,
    opening_balance: Option<Number>,
    closing_balance: Option<Number>,
    closing_date: Option<Date>,
    /// The file this content is a chunk of (see `Statement::batch`).
    batch: Option<String>,
    /// Added to the line numbers of data rows in errors and origins (the file line of
    /// the chunk's first data row minus the header rows minus one).
    line_offset: Option<usize>,
}

pub fn import_csv(input: CsvIn) -> Result<Imported> {
    let acct = account(&input.account)?;
    let mapping: Mapping = storage::get(&format!("map/{}", input.mapping))?.ok_or_else(|| {
        Error::not_found(format!(
            "no CSV mapping {:?}; save one with save-csv-mapping",
            input.mapping
        ))
    })?;
    let currency = Currency::new(&acct.currency)?;
    let lines = crate::csv::parse(
        &input.content,
        &mapping,
        currency,
        input.line_offset.unwrap_or(0),
    )
    .map_err(|e| Error::invalid(format!("{e}; nothing was imported")))?;
    if lines.is_empty() {
        return Err(Error::invalid(format!(
            "the file has no lines after the {} header rows of mapping {}; nothing was imported",
            mapping.skip_rows, mapping.name
        )));
    }
    let closing = input
        .closing_balance
        .as_ref()
        .map(|c| amount_in(c, currency))
        .transpose()?;
    let closing_date = input
        .closing_date
        .or_else(|| lines.iter().map(|l| l.date).max());
    let out = store_statement(
        &acct,
        NewStatement {
            statement_id: input
                .statement_id
                .unwrap_or_else(|| format!("csv-{}", hash(&input.content))),
            format: "csv",
            from: lines.iter().map(|l| l.date).min(),
            to: closing_date,
            opening: input
                .opening_balance
                .as_ref()
                .map(|c| amount_in(c, currency))
                .transpose()?,
            closing: closing.zip(closing_date),
            lines,
            batch: input
                .batch
                .map(|b| b.trim().to_owned())
                .filter(|b| !b.is_empty()),
        },
    )?;
    Ok(Imported {
        statements: vec![out],
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CamtIn {
    content: String,
    account: Option<String>,
    /// Set by `backoffice banking import` for each chunk of a file too large for one
    /// call: which chunk this is. The first keeps the statement's opening balance,
    /// the last its closing balance, a middle one neither; each chunk repeats the
    /// file's statement header and balances, and holds exactly one statement.
    chunk: Option<ChunkPart>,
    /// The chunk's statement id (replacing the file's, which every chunk repeats).
    statement_id: Option<String>,
    /// The file this content is a chunk of (see `Statement::batch`).
    batch: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChunkPart {
    First,
    Middle,
    Last,
}

/// A statement's id, opening balance, closing balance and day, and batch.
type Chunked = (String, Option<i64>, Option<(i64, Date)>, Option<String>);

impl CamtIn {
    /// The statement id, balances and batch of statement `index` of `count`, as
    /// this call's chunk settings make them.
    fn chunked(
        &self,
        count: usize,
        id: String,
        opening: Option<i64>,
        closing: Option<(i64, Date)>,
    ) -> Result<Chunked> {
        let Some(part) = self.chunk else {
            if self.statement_id.is_some() || self.batch.is_some() {
                return Err(Error::invalid(
                    "statement-id and batch are for chunks of a file (give chunk too); nothing was imported",
                ));
            }
            return Ok((id, opening, closing, None));
        };
        if count != 1 {
            return Err(Error::invalid(format!(
                "a chunk must hold exactly one statement, this one holds {count}; nothing was imported"
            )));
        }
        let sid = self.statement_id.clone().unwrap_or(id);
        let batch = self
            .batch
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_owned);
        Ok((
            sid,
            opening.filter(|_| part == ChunkPart::First),
            closing.filter(|_| part == ChunkPart::Last),
            batch,
        ))
    }
}

pub fn import_camt(input: CamtIn) -> Result<Imported> {
    let refused = |e: String| Error::invalid(format!("{e}; nothing was imported"));
    let stmts = crate::camt::parse(&input.content).map_err(refused)?;
    let given = input.account.as_deref().map(account).transpose()?;
    let mut out = Vec::new();
    for s in &stmts {
        let acct = match (&given, s.iban.as_str(), s.other_id.as_str()) {
            (Some(a), iban, other) => {
                let same = if iban.is_empty() {
                    a.account_number.as_deref() == Some(other)
                } else {
                    a.iban.as_deref() == Some(iban)
                };
                if !same {
                    return Err(refused(format!(
                        "{}/Acct/Id: the statement is for {}, not for {} ({})",
                        s.at,
                        if iban.is_empty() { other } else { iban },
                        a.id,
                        a.iban
                            .as_deref()
                            .or(a.account_number.as_deref())
                            .unwrap_or("")
                    )));
                }
                a.clone()
            }
            (None, iban, other) => {
                let found = if iban.is_empty() {
                    accounts()?
                        .into_iter()
                        .find(|a| !other.is_empty() && a.account_number.as_deref() == Some(other))
                } else {
                    match storage::get::<String>(&format!("iban/{iban}"))? {
                        Some(id) => Some(account(&id)?),
                        None => None,
                    }
                };
                found.ok_or_else(|| {
                    refused(format!(
                        "{}/Acct/Id: no bank account has {:?}; add it with add-account",
                        s.at,
                        if iban.is_empty() { other } else { iban }
                    ))
                })?
            }
        };
        let c = crate::camt::convert(s, Currency::new(&acct.currency)?).map_err(refused)?;
        let (statement_id, opening, closing, batch) =
            input.chunked(stmts.len(), s.id.clone(), c.opening.map(|o| o.0), c.closing)?;
        out.push(store_statement(
            &acct,
            NewStatement {
                statement_id,
                format: "camt.053",
                from: c.from,
                to: c.to,
                opening,
                closing,
                batch,
                lines: c.lines,
            },
        )?);
    }
    Ok(Imported { statements: out })
}

/// The account of an OFX statement with `ACCTID` `id`: the given one, which must have
/// that account number (or IBAN), or the one that has it.
fn ofx_account(given: Option<&BankAccount>, id: &str, line: usize) -> Result<BankAccount> {
    let has =
        |a: &BankAccount| a.account_number.as_deref() == Some(id) || a.iban.as_deref() == Some(id);
    match given {
        Some(a) if has(a) => Ok(a.clone()),
        Some(a) => Err(Error::invalid(format!(
            "line {line}: ACCTID: the statement is for account {id}, not for {} ({}); nothing was imported",
            a.id,
            a.account_number
                .as_deref()
                .or(a.iban.as_deref())
                .unwrap_or("")
        ))),
        None => accounts()?.into_iter().find(has).ok_or_else(|| {
            Error::invalid(format!(
                "line {line}: ACCTID: no bank account has account number {id:?}; add it with add-account; nothing was imported"
            ))
        }),
    }
}

pub fn import_ofx(input: CamtIn) -> Result<Imported> {
    let refused = |e: String| Error::invalid(format!("{e}; nothing was imported"));
    let stmts = crate::ofx::parse(&input.content).map_err(refused)?;
    let given = input.account.as_deref().map(account).transpose()?;
    let mut out = Vec::new();
    for s in &stmts {
        let acct = ofx_account(given.as_ref(), &s.account_id, s.line)?;
        let c = crate::ofx::convert(s, Currency::new(&acct.currency)?).map_err(refused)?;
        let (statement_id, _, closing, batch) =
            input.chunked(stmts.len(), s.id(), None, c.closing)?;
        out.push(store_statement(
            &acct,
            NewStatement {
                statement_id,
                format: "ofx",
                from: c.from,
                to: c.to,
                opening: None,
                closing,
                batch,
                lines: c.lines,
            },
        )?);
    }
    Ok(Imported { statements: out })
}

// ---- statements ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ListStatementsIn {
    account: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Statements {
    statements: Vec<Statement>,
}

pub fn list_statements(input: ListStatementsIn) -> Result<Statements> {
    Ok(Statements {
        statements: storage::scan_prefix("stmt/")
            .collect::<Statement>()?
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| input.account.as_ref().is_none_or(|a| *a == s.account))
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IdIn {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GetStatementIn {
    id: String,
    after: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatementLines {
    #[serde(flatten)]
    statement: Statement,
    lines_detail: Vec<Line>,
    next_after: Option<String>,
}

/// The lines of `s` after line `after` (from the first: `None`), read as iterated.
fn statement_lines_after(
    s: &Statement,
    after: Option<u64>,
) -> impl Iterator<Item = Result<Line>> + use<> {
    let first = after.map_or(s.first_line, |a| (a + 1).max(s.first_line));
    let end = s.first_line + s.lines;
    let scan = (s.lines > 0 && first < end).then(|| {
        let start = format!("line/{first:012}");
        let end = format!("line/{end:012}");
        storage::scan(start.as_str()..end.as_str()).iter::<Line>()
    });
    scan.into_iter().flatten().map(|item| item.map(|(_, l)| l))
}

fn statement_lines(s: &Statement) -> Result<Vec<Line>> {
    statement_lines_after(s, None).collect()
}

/// A statement and up to `limit` (default and most 1000) of its lines after `after`.
pub fn get_statement(input: GetStatementIn) -> Result<StatementLines> {
    let s = statement(&input.id)?;
    let after = input
        .after
        .as_deref()
        .map(|a| seq_of(a, "ln-").ok_or_else(|| Error::invalid(format!("bad line id {a:?}"))))
        .transpose()?;
    let limit = input.limit.unwrap_or(1000).clamp(1, 1000);
    let mut lines = Vec::new();
    let mut next_after = None;
    for l in statement_lines_after(&s, after) {
        if lines.len() == limit {
            next_after = lines.last().map(|l: &Line| l.id.clone());
            break;
        }
        lines.push(l?);
    }
    Ok(StatementLines {
        lines_detail: lines,
        statement: s,
        next_after,
    })
}

// ---- rules ----

pub fn set_rule(mut r: Rule) -> Result<Rule> {
    r.name = r.name.trim().to_owned();
    r.contra_account = r.contra_account.trim().to_owned();
    let name = r.name.as_str();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(Error::invalid(format!(
            "rule name {:?} must be letters, digits, '-', '_' or '.'",
            r.name
        )));
    }
    if r.reference_contains
        .as_deref()
        .is_none_or(|s| s.trim().is_empty())
        && r.counterparty_equals
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        && r.amount_equals.is_none()
    {
        return Err(Error::invalid(
            "a rule needs at least one condition: reference-contains, counterparty-equals or amount-equals",
        ));
    }
    if r.contra_account.trim().is_empty() {
        return Err(Error::invalid(
            "give the rule's contra-account (a ledger account)",
        ));
    }
    storage::put(&format!("rule/{}", r.name), &r)?;
    Ok(r)
}

#[derive(Debug, Serialize)]
pub struct Rules {
    rules: Vec<Rule>,
}

fn rules() -> Result<Vec<Rule>> {
    Ok(storage::scan_prefix("rule/")
        .collect::<Rule>()?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

pub fn list_rules(_: Empty) -> Result<Rules> {
    Ok(Rules { rules: rules()? })
}

// ---- matching ----

/// The unmatched lines of `account` (of every account: `None`): their sequence
/// numbers from the index, then the lines in one range scan from the first to the last
/// (unmatched lines are mostly recent, so the scan reads few matched ones).
pub(crate) fn unmatched(account: Option<&str>) -> Result<Vec<Line>> {
    let prefix = match account {
        Some(a) => format!("open/{a}/"),
        None => "open/".to_owned(),
    };
    let mut seqs = std::collections::BTreeSet::new();
    for item in storage::scan_prefix(&prefix).iter::<i64>() {
        let (key, _) = item?;
        if let Some(n) = key.rsplit('/').next().and_then(|s| s.parse::<u64>().ok()) {
            seqs.insert(n);
        }
    }
    let (Some(first), Some(last)) = (seqs.first(), seqs.last()) else {
        return Ok(Vec::new());
    };
    let start = format!("line/{first:012}");
    let end = format!("line/{:012}", last + 1);
    let mut out = Vec::with_capacity(seqs.len());
    for item in storage::scan(start.as_str()..end.as_str()).iter::<Line>() {
        let (key, l) = item?;
        let n = key.rsplit('/').next().and_then(|s| s.parse::<u64>().ok());
        if n.is_some_and(|n| seqs.contains(&n)) {
            out.push(l);
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SuggestIn {
    account: Option<String>,
    statement: Option<String>,
    limit: Option<usize>,
    /// Items per page of invoicing's `open-items` read (default
    /// [`OPEN_ITEMS_PAGE`], at most [`MAX_OPEN_ITEMS_PAGE`]).
    open_items_page: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Suggestion {
    line: String,
    date: Date,
    amount: i64,
    currency: String,
    reference: String,
    counterparty: String,
    candidates: Vec<Candidate>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Suggestions {
    suggestions: Vec<Suggestion>,
    lines_without: usize,
    /// Lines with candidates left out past `limit`.
    more: usize,
}

/// Items per page of invoicing's `open-items` that `suggest` reads by default: about
/// 2 MiB of answer, half the 4 MiB output limit of a call.
const OPEN_ITEMS_PAGE: usize = 5_000;
/// The most items per page `suggest` asks for: invoicing's own maximum per answer.
const MAX_OPEN_ITEMS_PAGE: usize = 10_000;

/// Every open item of invoicing, read `page` items at a time (`after`/`limit`/`next`).
fn open_items(page: usize) -> Result<Vec<OpenItem>> {
    #[derive(Deserialize)]
    struct Report {
        items: Vec<OpenItem>,
        #[serde(default)]
        next: Option<String>,
    }
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut input = json!({ "limit": page });
        if let Some(a) = &after {
            input["after"] = json!(a);
        }
        let r: Report = plugins::call("invoicing", "open-items", &input).map_err(|e| match e {
            Error::Forbidden(m) | Error::NotFound(m) => Error::forbidden(format!(
                "cannot read invoicing's open items: {m} (the invoicing plugin must be enabled and the caller needs invoicing.read)"
            )),
            Error::InvalidInput(m) if m.contains("limit") || m.contains("after") => Error::invalid(format!(
                "invoicing's open-items does not page ({m}); banking needs invoicing 0.2.2 or later"
            )),
            other => other,
        })?;
        out.extend(r.items);
        match r.next {
            Some(n) if after.as_deref() != Some(n.as_str()) => after = Some(n),
            _ => break,
        }
    }
    Ok(out)
}

pub fn suggest(input: SuggestIn) -> Result<Suggestions> {
    let lines = match &input.statement {
        Some(s) => statement_lines(&statement(s)?)?
            .into_iter()
            .filter(|l| l.matched.is_none())
            .collect(),
        None => {
            if let Some(a) = &input.account {
                account(a)?;
            }
            unmatched(input.account.as_deref())?
        }
    };
    let page = input.open_items_page.unwrap_or(OPEN_ITEMS_PAGE);
    if !(1..=MAX_OPEN_ITEMS_PAGE).contains(&page) {
        return Err(Error::invalid(format!(
            "open-items-page must be 1 to {MAX_OPEN_ITEMS_PAGE} (invoicing's most items per answer), not {page}; leave it out for {OPEN_ITEMS_PAGE}"
        )));
    }
    let items = crate::matching::Items::new(open_items(page)?);
    let rules = rules()?;
    let mut by_posting = crate::postings::suggest(&lines)?;
    let mut out = Suggestions {
        suggestions: Vec::new(),
        lines_without: 0,
        more: 0,
    };
    let limit = input.limit.unwrap_or(1000).clamp(1, 5000);
    for l in lines {
        let mut candidates = crate::matching::suggest(
            l.amount,
            &l.currency,
            &l.reference,
            &l.description,
            &l.counterparty,
            &items,
            &rules,
        );
        if let Some(more) = by_posting.remove(&l.id) {
            candidates.extend(more);
            candidates.sort_by_key(|c| std::cmp::Reverse(c.score));
        }
        if candidates.is_empty() {
            out.lines_without += 1;
            continue;
        }
        if out.suggestions.len() == limit {
            out.more += 1;
            continue;
        }
        out.suggestions.push(Suggestion {
            line: l.id,
            date: l.date,
            amount: l.amount,
            currency: l.currency,
            reference: l.reference,
            counterparty: l.counterparty,
            candidates,
        });
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConfirmIn {
    line: String,
    document: Option<String>,
    rule: Option<String>,
    /// A ledger entry with a posting to the bank account (see [`crate::postings`]).
    entry: Option<String>,
    posting: Option<usize>,
}

pub fn confirm(input: ConfirmIn) -> Result<Line> {
    let mut l = line(&input.line)?;
    if let Some(m) = &l.matched {
        return Err(Error::conflict(format!(
            "line {} is already matched ({}{})",
            l.id,
            m.kind,
            m.number
                .as_deref()
                .or(m.rule.as_deref())
                .map(|s| format!(" {s}"))
                .unwrap_or_default()
        )));
    }
    let acct = account(&l.account)?;
    let matched = match (&input.document, &input.rule, &input.entry) {
        (Some(doc), None, None) if input.posting.is_none() => {
            let mut m = confirm_document(&l, &acct, doc)?;
            crate::postings::clear_booked(&l, &acct, &mut m)?;
            m
        }
        (None, Some(rule), None) if input.posting.is_none() => {
            let mut m = confirm_rule(&l, &acct, rule)?;
            crate::postings::clear_booked(&l, &acct, &mut m)?;
            m
        }
        (None, None, Some(entry)) => crate::postings::confirm(&l, &acct, entry, input.posting)?,
        _ => {
            return Err(Error::invalid(
                "give one of document (an invoice or bill id or number), rule, or entry (a ledger entry id, with posting: the index of its posting to the bank account)",
            ));
        }
    };
    l.status = "matched".to_owned();
    l.matched = Some(matched.clone());
    put_line(&l)?;
    events::emit(
        "banking.line-matched",
        &json!({"line": l.id, "account": l.account, "statement": l.statement,
                "date": l.date, "amount": l.amount, "currency": l.currency, "matched": matched}),
    )?;
    Ok(l)
}

fn confirm_document(l: &Line, acct: &BankAccount, doc: &str) -> Result<Matched> {
    let d: Value = plugins::call("invoicing", "get-document", &json!({"id": doc}))?;
    let kind = d["kind"].as_str().unwrap_or_default();
    let (want, direction) = if l.amount > 0 {
        ("invoice", "money in")
    } else {
        ("bill", "money out")
    };
    if kind != want {
        return Err(Error::invalid(format!(
            "line {} is {direction} ({}), which pays a sales {want}, not the {kind} {doc}",
            l.id,
            money(l.amount, &l.currency)
        )));
    }
    if d["currency"] != l.currency.as_str() {
        return Err(Error::invalid(format!(
            "document {doc} is in {}, the line in {}",
            d["currency"].as_str().unwrap_or("?"),
            l.currency
        )));
    }
    let id = d["id"].as_str().unwrap_or(doc).to_owned();
    let reference = l
        .bank_reference
        .clone()
        .unwrap_or_else(|| l.reference.clone());
    let mut payment = json!({
        "contact": d["contact"], "amount": l.amount.abs(), "currency": l.currency,
        "date": l.date, "bank-account": acct.ledger_account,
        "allocations": [{"document": id, "amount": l.amount.abs()}],
    });
    if !reference.is_empty() {
        payment["reference"] = json!(reference.chars().take(200).collect::<String>());
    }
    let p: Value = plugins::call("invoicing", "record-payment", &payment).map_err(|e| match e {
        Error::InvalidInput(m) | Error::Conflict(m) => Error::invalid(format!(
            "invoicing refused the payment of line {}: {m}; nothing was matched",
            l.id
        )),
        other => other,
    })?;
    Ok(Matched {
        kind: want.to_owned(),
        document: Some(id),
        number: d["number"].as_str().map(str::to_owned),
        payment: p["id"].as_str().map(str::to_owned),
        rule: None,
        contra_account: None,
        ledger_entry: p["ledger-entry"].as_str().map(str::to_owned),
        matched_at: now(),
        posting: None,
    })
}

fn confirm_rule(l: &Line, acct: &BankAccount, name: &str) -> Result<Matched> {
    let r: Rule = storage::get(&format!("rule/{name}"))?
        .ok_or_else(|| Error::not_found(format!("no rule {name}")))?;
    if !r.matches(&l.reference, &l.description, &l.counterparty, l.amount) {
        return Err(Error::invalid(format!(
            "rule {name} does not hold for line {} (reference {:?}, counterparty {:?}, {})",
            l.id,
            l.reference,
            l.counterparty,
            money(l.amount, &l.currency)
        )));
    }
    let description = r.description.clone().unwrap_or_else(|| {
        let mut d = format!("Bank: {}", l.counterparty);
        if !l.reference.is_empty() {
            d.push_str(&format!(" {}", l.reference));
        }
        d.trim().chars().take(1000).collect()
    });
    let mut entry = json!({
        "date": l.date,
        "description": if description.trim().is_empty() { format!("Bank line {}", l.id) } else { description },
        "reference": {"source": "banking", "document": l.id},
        "idempotency-key": crate::postings::rule_entry_key(&l.id)?,
        "postings": [
            {"account": acct.ledger_account, "amount": l.amount, "currency": l.currency},
            {"account": r.contra_account, "amount": -l.amount, "currency": l.currency},
        ],
    });
    if !l.counterparty.is_empty() {
        entry["payee"] = json!(l.counterparty.chars().take(200).collect::<String>());
    }
    let e: Value = plugins::call("ledger", "post-entry", &entry).map_err(|e| match e {
        Error::InvalidInput(m) | Error::NotFound(m) => Error::invalid(format!(
            "the ledger refused the entry of line {}: {m}; nothing was matched",
            l.id
        )),
        other => other,
    })?;
    Ok(Matched {
        kind: "rule".to_owned(),
        document: None,
        number: None,
        payment: None,
        rule: Some(r.name),
        contra_account: Some(r.contra_account),
        ledger_entry: e["id"].as_str().map(str::to_owned),
        matched_at: now(),
        posting: None,
    })
}

// ---- reconciliation ----

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Reconciliation {
    pub(crate) statement: String,
    pub(crate) statement_id: String,
    pub(crate) account: String,
    pub(crate) ledger_account: String,
    pub(crate) currency: String,
    pub(crate) date: Date,
    pub(crate) closing_balance: i64,
    pub(crate) ledger_balance: i64,
    pub(crate) difference: i64,
    pub(crate) reconciled: bool,
    pub(crate) unmatched_lines: usize,
    /// The ledger's balance counting only cleared postings (`hledger bal -C`): lines
    /// matched to postings clear them, so it is what the bank has seen.
    pub(crate) cleared_balance: i64,
    /// The closing balance minus the cleared balance.
    pub(crate) cleared_difference: i64,
}

/// The reconciliation of statement `id` when it is reconciled with every line
/// matched; `None` otherwise (or when it has no closing balance).
pub(crate) fn reconciled(id: &str) -> Result<Option<Reconciliation>> {
    let s = statement(id)?;
    if s.closing_balance.is_none() || s.closing_date.is_none() {
        return Ok(None);
    }
    let r = reconcile(IdIn { id: id.to_owned() })?;
    Ok((r.reconciled && r.unmatched_lines == 0).then_some(r))
}

pub fn reconcile(input: IdIn) -> Result<Reconciliation> {
    let s = statement(&input.id)?;
    let acct = account(&s.account)?;
    let (closing, date) = s.closing_balance.zip(s.closing_date).ok_or_else(|| {
        Error::invalid(format!(
            "statement {} has no closing balance to reconcile (give closing-balance when importing a CSV)",
            s.id
        ))
    })?;
    let b: Value = plugins::call(
        "ledger",
        "balance",
        &json!({"as-of": date, "prefix": acct.ledger_account}),
    )?;
    let ledger_balance = crate::postings::account_balance(&b, &acct);
    let cleared_balance = crate::postings::cleared_balance(&acct, date)?;
    let unmatched_lines = statement_lines(&s)?
        .iter()
        .filter(|l| l.matched.is_none())
        .count();
    Ok(Reconciliation {
        statement: s.id,
        statement_id: s.statement_id,
        account: acct.id,
        ledger_account: acct.ledger_account,
        currency: acct.currency,
        date,
        closing_balance: closing,
        ledger_balance,
        difference: closing
            .checked_sub(ledger_balance)
            .ok_or_else(|| Error::invalid("the closing balance is too large"))?,
        reconciled: closing == ledger_balance,
        unmatched_lines,
        cleared_balance,
        cleared_difference: closing
            .checked_sub(cleared_balance)
            .ok_or_else(|| Error::invalid("the closing balance is too large"))?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UnreconciledIn {
    account: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AccountItems {
    account: String,
    name: String,
    currency: String,
    count: usize,
    total: i64,
    lines: Vec<Line>,
}

#[derive(Debug, Serialize)]
pub struct Unreconciled {
    accounts: Vec<AccountItems>,
}

pub fn unreconciled(input: UnreconciledIn) -> Result<Unreconciled> {
    if let Some(a) = &input.account {
        account(a)?;
    }
    let mut by: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    for l in unmatched(input.account.as_deref())? {
        by.entry(l.account.clone()).or_default().push(l);
    }
    let limit = input.limit.unwrap_or(1000).clamp(1, 5000);
    let mut out = Vec::new();
    for (id, mut lines) in by {
        let a = account(&id)?;
        let (count, total) = (lines.len(), lines.iter().map(|l| l.amount).sum());
        lines.truncate(limit);
        out.push(AccountItems {
            account: a.id,
            name: a.name,
            currency: a.currency,
            count,
            total,
            lines,
        });
    }
    Ok(Unreconciled { accounts: out })
}
