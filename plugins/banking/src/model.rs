//! The records banking keeps, and the parsed form of a statement line.

use backoffice_sdk::Date;
use serde::{Deserialize, Serialize};

/// A line read from a statement file, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    pub date: Date,
    pub value_date: Option<Date>,
    /// Minor units of the account's currency: money in positive, money out negative.
    pub amount: i64,
    pub reference: String,
    /// The bank's own reference of the line (CAMT `AcctSvcrRef`), unique per account.
    pub bank_reference: Option<String>,
    pub counterparty: String,
    pub description: String,
    /// The line as it was in the file: the CSV record or the CAMT `Ntry` element.
    pub raw: String,
    /// Where it was: `line 7` or `/Document/BkToCstmrStmt/Stmt[1]/Ntry[3]`.
    pub origin: String,
}

impl ParsedLine {
    /// What makes two lines the same bank movement: the bank's reference if there is
    /// one, else date, amount, reference and counterparty.
    pub fn dedup_key(&self) -> String {
        match &self.bank_reference {
            Some(r) => format!("ref:{r}"),
            None => format!(
                "line:{}|{}|{}|{}",
                self.date,
                self.amount,
                self.reference.to_lowercase(),
                self.counterparty.to_lowercase()
            ),
        }
    }
}

/// A bank account of the tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BankAccount {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
    pub currency: String,
    pub ledger_account: String,
}

/// A statement imported.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Statement {
    pub id: String,
    pub account: String,
    pub statement_id: String,
    pub format: String,
    pub currency: String,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub opening_balance: Option<i64>,
    pub closing_balance: Option<i64>,
    /// The day the closing balance is at (the end date of the statement).
    pub closing_date: Option<Date>,
    /// The first line's sequence number; the imported lines follow it.
    pub first_line: u64,
    pub lines: u64,
    pub duplicates: Vec<Duplicate>,
    pub imported_at: String,
    /// The file this statement is a chunk of (`backoffice banking import`): lines of
    /// statements of the same batch are never duplicates of each other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

/// A line of a file that was already imported for the account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Duplicate {
    pub origin: String,
    pub existing_line: String,
}

/// What a line was matched to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Matched {
    /// `invoice`, `bill` or `rule`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contra_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_entry: Option<String>,
    pub matched_at: String,
    /// The index of the bank account's posting in `ledger_entry`, linked to the line
    /// and cleared in the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posting: Option<usize>,
}

/// A stored statement line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Line {
    pub id: String,
    pub account: String,
    pub statement: String,
    pub date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_date: Option<Date>,
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_reference: Option<String>,
    pub counterparty: String,
    pub description: String,
    pub origin: String,
    pub raw: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<Matched>,
}

/// A matching rule: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty_equals: Option<String>,
    /// Minor units, signed as on the statement (money out negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_equals: Option<i64>,
    pub contra_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Rule {
    /// Whether the rule holds for a line (text compared case-insensitively; the
    /// reference condition looks in the reference and the description).
    pub fn matches(
        &self,
        reference: &str,
        description: &str,
        counterparty: &str,
        amount: i64,
    ) -> bool {
        if let Some(r) = &self.reference_contains {
            let r = r.to_lowercase();
            if !reference.to_lowercase().contains(&r) && !description.to_lowercase().contains(&r) {
                return false;
            }
        }
        if let Some(c) = &self.counterparty_equals
            && c.trim().to_lowercase() != counterparty.trim().to_lowercase()
        {
            return false;
        }
        if let Some(a) = self.amount_equals
            && a != amount
        {
            return false;
        }
        true
    }
}

/// A 64-bit FNV-1a hash, hex: short storage keys for long texts.
pub fn hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Minor units as a decimal string (`-12.34`).
pub fn format_minor(amount: i64, exponent: u8) -> String {
    let neg = amount < 0;
    let abs = amount.unsigned_abs();
    let scale = 10u64.pow(u32::from(exponent));
    let body = if exponent == 0 {
        abs.to_string()
    } else {
        format!(
            "{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = usize::from(exponent)
        )
    };
    if neg { format!("-{body}") } else { body }
}
