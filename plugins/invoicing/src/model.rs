//! The records of invoicing (tax codes, documents, payments, settings) and the pure
//! rules over them: document numbers, sides and signs, and the ledger postings each
//! document and payment makes.

use std::collections::BTreeMap;

use backoffice_sdk::Date;
use serde::{Deserialize, Serialize};

use crate::calc::LineAmounts;

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A sales invoice to a customer.
    Invoice,
    /// A supplier's bill to us.
    Bill,
    /// A credit note correcting an issued invoice (or bill).
    CreditNote,
}

/// Receivables (we sell) or payables (we buy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// Customers owe us: invoices and their credit notes.
    Sales,
    /// We owe suppliers: bills and their credit notes.
    Purchase,
}

impl Side {
    /// The contact kind (from `contacts`) this side deals with.
    pub fn contact_kind(self) -> &'static str {
        match self {
            Side::Sales => "customer",
            Side::Purchase => "supplier",
        }
    }
}

/// A document's state: drafts can change, issued documents never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Editable and deletable, without a number.
    Draft,
    /// Numbered, posted and immutable.
    Issued,
}

/// A tax code of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TaxCode {
    /// `UK-VAT20`, `DE-UST7`, ...
    pub code: String,
    /// Shown on documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Basis points: 2000 is 20 %.
    pub rate_bp: i64,
    /// Whether line amounts with this code include the tax.
    pub inclusive: bool,
    /// The ledger account the tax posts to (sales and purchases alike).
    pub account: String,
}

/// One line of a document, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Line {
    /// What is sold or bought.
    pub description: String,
    /// Decimal string with at most three decimals.
    pub quantity: String,
    /// The quantity in thousandths (`2.5` is 2500).
    pub quantity_thousandths: i64,
    /// Minor units per unit of quantity.
    pub unit_price: i64,
    /// Basis points off (1000 is 10 %).
    pub discount_bp: i64,
    /// The tax code.
    pub tax_code: String,
    /// The code's rate when the figures were computed.
    pub tax_rate_bp: i64,
    /// Whether the unit price included the tax.
    pub tax_inclusive: bool,
    /// The code's ledger account when the figures were computed.
    pub tax_account: String,
    /// The revenue (sales) or expense (purchases) account; default from the settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The rounded figures.
    #[serde(flatten)]
    pub amounts: LineAmounts,
}

/// Net and tax per tax code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TaxTotal {
    pub code: String,
    pub rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

/// Something that reduced what a document leaves open: a payment allocated to it, a
/// credit note applied to it, or (on a credit note) the document it was applied to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Settlement {
    /// `payment`, `credit-note` or `applied-to`.
    pub kind: String,
    /// The payment or document id.
    pub id: String,
    /// The document number, for credit notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    pub date: Date,
    pub amount: i64,
    /// For a document in a foreign currency: the base-currency value this settlement
    /// released at the document's booked rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_amount: Option<i64>,
}

/// An invoice, bill or credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Document {
    /// `d-000001`: the draft's id, kept after issue.
    pub id: String,
    pub kind: Kind,
    pub side: Side,
    pub status: Status,
    /// `INV-2026-0001`, given at issue.
    pub number: Option<String>,
    /// The `contacts` id.
    pub contact: String,
    pub contact_name: String,
    pub currency: String,
    /// The document date (the tax point); set at issue if the draft has none.
    pub date: Option<Date>,
    /// Set at issue from the contact's payment terms if the draft has none.
    pub due_date: Option<Date>,
    /// For a credit note: the id of the invoice or bill it corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrects: Option<String>,
    /// The supplier's own bill number, a purchase order, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub lines: Vec<Line>,
    pub taxes: Vec<TaxTotal>,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    /// Payments and credit notes against this document (or, on a credit note, where
    /// it was applied), in the order they happened.
    pub settlements: Vec<Settlement>,
    /// The totals of the issued credit notes correcting this document (applied or not).
    #[serde(default)]
    pub credited: i64,
    /// `total` less every settlement: what is still owed (for a credit note: the credit
    /// not yet applied).
    pub open: i64,
    /// For a document in another currency than the tenant's base currency: the
    /// exchange rate it was booked at (base units per unit of its currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// The base currency of `base-total` and `base-open`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_currency: Option<String>,
    /// `total` at the booked rate: the base value of its receivable or payable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_total: Option<i64>,
    /// What is open, at the booked rate: `base-total` less what settlements released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_open: Option<i64>,
    pub ledger_entry: Option<String>,
    pub revision: u64,
    pub created_at: String,
    pub issued_at: Option<String>,
}

impl Document {
    /// What is open at the end of `day`: the total less settlements dated up to then;
    /// zero for documents not issued by then.
    pub fn open_at(&self, day: Date) -> i64 {
        match (self.status, self.date) {
            (Status::Issued, Some(d)) if d <= day => {
                self.total
                    - self
                        .settlements
                        .iter()
                        .filter(|s| s.date <= day)
                        .map(|s| s.amount)
                        .sum::<i64>()
            }
            _ => 0,
        }
    }

    /// The base value of what is open at the end of `day` (see [`Document::open_at`]),
    /// for a document booked in a foreign currency.
    pub fn base_open_at(&self, day: Date) -> Option<i64> {
        let base_total = self.base_total?;
        Some(match (self.status, self.date) {
            (Status::Issued, Some(d)) if d <= day => {
                base_total
                    - self
                        .settlements
                        .iter()
                        .filter(|s| s.date <= day)
                        .map(|s| s.base_amount.unwrap_or(0))
                        .sum::<i64>()
            }
            _ => 0,
        })
    }

    /// Sign of the document in open items and statements: credit notes count against
    /// what the contact owes (or is owed).
    pub fn sign(&self) -> i64 {
        if self.kind == Kind::CreditNote { -1 } else { 1 }
    }
}

/// A payment received from a customer or made to a supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Payment {
    /// `p-000001`.
    pub id: String,
    pub side: Side,
    pub contact: String,
    pub contact_name: String,
    pub date: Date,
    pub amount: i64,
    pub currency: String,
    /// Set when the bank received (or paid) the base currency for documents booked
    /// in `currency`: the rate is then implied by `base-amount` and `amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_currency: Option<String>,
    pub bank_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// For a payment in a foreign currency: the rate it was made at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_currency: Option<String>,
    /// `amount` at `rate`: what the bank received or paid in the base currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_amount: Option<i64>,
    /// The realised exchange difference in the base currency: positive a gain,
    /// negative a loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_difference: Option<i64>,
    pub allocations: Vec<Allocation>,
    pub ledger_entry: Option<String>,
    pub recorded_at: String,
    /// Set once the payment is voided: its entry reversed, its documents open again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided: Option<Voided>,
}

/// How a payment was voided (`void-payment`): nothing is deleted, the ledger keeps
/// the payment's entry and its reversal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Voided {
    pub date: Date,
    /// The reversing ledger entry.
    pub ledger_entry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub voided_at: String,
}

/// Part of a payment set against one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Allocation {
    pub document: String,
    pub number: Option<String>,
    pub amount: i64,
    /// For a foreign-currency document: the base value released at its booked rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_released: Option<i64>,
}

/// The accounts and defaults of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Settings {
    pub receivable_account: String,
    pub payable_account: String,
    pub revenue_account: String,
    pub expense_account: String,
    pub bank_account: String,
    /// Payment terms for contacts without their own.
    pub default_terms_days: u32,
    /// The currency of documents whose contact has no default currency.
    #[serde(default)]
    pub default_currency: Option<String>,
    /// An overdue document is reminded of again after this many days.
    pub overdue_interval_days: u32,
    /// The company's name and address as printed on documents (lines separated by
    /// newlines).
    #[serde(default)]
    pub company: Option<String>,
    /// The company's VAT or other tax number, printed on documents.
    #[serde(default)]
    pub company_tax_id: Option<String>,
    /// The currency the books are kept in. Documents and payments in another
    /// currency are booked at an exchange rate; unset, every currency stands alone.
    #[serde(default)]
    pub base_currency: Option<String>,
    /// Realised exchange gains (a payment worth more in the base currency than it
    /// releases of a receivable, or less than it releases of a payable).
    #[serde(default = "default_fx_gain")]
    pub fx_gain_account: String,
    /// Realised exchange losses.
    #[serde(default = "default_fx_loss")]
    pub fx_loss_account: String,
}

fn default_fx_gain() -> String {
    "income:fx-gain".into()
}

fn default_fx_loss() -> String {
    "expenses:fx-loss".into()
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            receivable_account: "assets:receivable".into(),
            payable_account: "liabilities:payable".into(),
            revenue_account: "income:sales".into(),
            expense_account: "expenses:purchases".into(),
            bank_account: "assets:bank".into(),
            default_terms_days: 30,
            default_currency: None,
            overdue_interval_days: 7,
            company: None,
            company_tax_id: None,
            base_currency: None,
            fx_gain_account: default_fx_gain(),
            fx_loss_account: default_fx_loss(),
        }
    }
}

impl Settings {
    /// The receivable or payable account of a side.
    pub fn control_account(&self, side: Side) -> &str {
        match side {
            Side::Sales => &self.receivable_account,
            Side::Purchase => &self.payable_account,
        }
    }

    /// The default revenue or expense account of a side.
    pub fn line_account(&self, side: Side) -> &str {
        match side {
            Side::Sales => &self.revenue_account,
            Side::Purchase => &self.expense_account,
        }
    }
}

/// The number series of a document: `INV`, `BILL`, `CN` (credit notes on invoices) or
/// `BCN` (credit notes on bills).
pub fn series(kind: Kind, side: Side) -> &'static str {
    match (kind, side) {
        (Kind::Invoice, _) => "INV",
        (Kind::Bill, _) => "BILL",
        (Kind::CreditNote, Side::Sales) => "CN",
        (Kind::CreditNote, Side::Purchase) => "BCN",
    }
}

/// `INV-2026-0001`: series, year, the number within them (four digits or more).
pub fn format_number(series: &str, year: u16, n: u64) -> String {
    format!("{series}-{year:04}-{n:04}")
}

/// The postings of an issued document, grouped by account, zero amounts left out.
/// Positive is a debit: a sales invoice debits the receivable and credits revenue and
/// tax; a bill debits expense and (reclaimable) tax and credits the payable; a credit
/// note posts the reverse of what it corrects.
pub fn document_postings(doc: &Document, settings: &Settings) -> Vec<(String, i64)> {
    let control_sign = match (doc.side, doc.kind == Kind::CreditNote) {
        (Side::Sales, false) | (Side::Purchase, true) => 1,
        (Side::Sales, true) | (Side::Purchase, false) => -1,
    };
    let mut by_account: BTreeMap<String, i64> = BTreeMap::new();
    let default_account = settings.line_account(doc.side);
    for l in &doc.lines {
        let account = l.account.as_deref().unwrap_or(default_account);
        *by_account.entry(account.to_owned()).or_default() -= control_sign * l.amounts.net;
        *by_account.entry(l.tax_account.clone()).or_default() -= control_sign * l.amounts.tax;
    }
    let mut out = vec![(
        settings.control_account(doc.side).to_owned(),
        control_sign * doc.total,
    )];
    for (account, amount) in by_account {
        if let Some(slot) = out.iter_mut().find(|(a, _)| *a == account) {
            slot.1 += amount;
        } else {
            out.push((account, amount));
        }
    }
    out.retain(|(_, a)| *a != 0);
    out
}

/// The postings of a payment: the bank against the receivable (money in from a
/// customer) or the payable (money out to a supplier).
pub fn payment_postings(p: &Payment, settings: &Settings) -> Vec<(String, i64)> {
    let sign = match p.side {
        Side::Sales => 1,
        Side::Purchase => -1,
    };
    vec![
        (p.bank_account.clone(), sign * p.amount),
        (
            settings.control_account(p.side).to_owned(),
            -sign * p.amount,
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap fails the test")]
mod tests {
    use super::*;
    use crate::calc::{Rate, line};

    fn doc(kind: Kind, side: Side) -> Document {
        let l = |price, rate_bp, account: &str| {
            let amounts = line(
                1000,
                price,
                0,
                Rate {
                    bp: rate_bp,
                    inclusive: false,
                },
            )
            .unwrap();
            Line {
                description: "x".into(),
                quantity: "1".into(),
                quantity_thousandths: 1000,
                unit_price: price,
                discount_bp: 0,
                tax_code: "T".into(),
                tax_rate_bp: rate_bp,
                tax_inclusive: false,
                tax_account: account.into(),
                account: None,
                amounts,
            }
        };
        let lines = vec![
            l(10000, 2000, "liabilities:vat"),
            l(5000, 0, "liabilities:vat"),
        ];
        let net = lines.iter().map(|l| l.amounts.net).sum();
        let tax = lines.iter().map(|l| l.amounts.tax).sum();
        Document {
            id: "d-000001".into(),
            kind,
            side,
            status: Status::Issued,
            number: None,
            contact: "c-000001".into(),
            contact_name: "Ada".into(),
            currency: "GBP".into(),
            date: Date::new(2026, 1, 10),
            due_date: Date::new(2026, 2, 9),
            corrects: None,
            reference: None,
            notes: None,
            lines,
            taxes: vec![],
            net,
            tax,
            total: net + tax,
            settlements: vec![],
            credited: 0,
            open: net + tax,
            rate: None,
            base_currency: None,
            base_total: None,
            base_open: None,
            ledger_entry: None,
            revision: 1,
            created_at: String::new(),
            issued_at: None,
        }
    }

    fn sum(p: &[(String, i64)]) -> i64 {
        p.iter().map(|(_, a)| a).sum()
    }

    #[test]
    fn invoice_postings_balance() {
        let s = Settings::default();
        let p = document_postings(&doc(Kind::Invoice, Side::Sales), &s);
        assert_eq!(
            p,
            vec![
                ("assets:receivable".to_owned(), 17000),
                ("income:sales".to_owned(), -15000),
                ("liabilities:vat".to_owned(), -2000),
            ]
        );
        assert_eq!(sum(&p), 0);
    }

    #[test]
    fn bill_and_credit_note_postings() {
        let s = Settings::default();
        let bill = document_postings(&doc(Kind::Bill, Side::Purchase), &s);
        assert_eq!(
            bill,
            vec![
                ("liabilities:payable".to_owned(), -17000),
                ("expenses:purchases".to_owned(), 15000),
                ("liabilities:vat".to_owned(), 2000),
            ]
        );
        let cn = document_postings(&doc(Kind::CreditNote, Side::Sales), &s);
        assert_eq!(
            cn,
            vec![
                ("assets:receivable".to_owned(), -17000),
                ("income:sales".to_owned(), 15000),
                ("liabilities:vat".to_owned(), 2000),
            ]
        );
        assert_eq!(sum(&bill), 0);
        assert_eq!(sum(&cn), 0);
    }

    #[test]
    fn open_at_a_date() {
        let mut d = doc(Kind::Invoice, Side::Sales);
        d.settlements.push(Settlement {
            kind: "payment".into(),
            id: "p-000001".into(),
            number: None,
            date: Date::new(2026, 2, 1).unwrap(),
            amount: 7000,
            base_amount: None,
        });
        assert_eq!(
            d.open_at(Date::new(2026, 1, 9).unwrap()),
            0,
            "not yet issued"
        );
        assert_eq!(d.open_at(Date::new(2026, 1, 31).unwrap()), 17000);
        assert_eq!(d.open_at(Date::new(2026, 2, 1).unwrap()), 10000);
    }

    #[test]
    fn numbers() {
        assert_eq!(format_number("INV", 2026, 1), "INV-2026-0001");
        assert_eq!(format_number("BILL", 2026, 12345), "BILL-2026-12345");
        assert_eq!(series(Kind::CreditNote, Side::Purchase), "BCN");
    }
}
