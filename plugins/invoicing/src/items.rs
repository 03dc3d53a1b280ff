//! The open-item index: what the reports (open items, ageing, statement), payments
//! and the overdue reminders need of an issued document, kept beside it in storage
//! and written in the same call as the document ([`crate::store::put_document`]), so
//! a report reads one small record per item instead of every document.
//!
//! Where a document's record is kept (see [`Placement`]):
//!
//! - `open/<contact>/<id>` while something is open (invoices and bills owed, credit
//!   notes not fully applied): ageing and open items at today read only these;
//! - `settled/<last settlement date>/<id>` once nothing is open: such a document was
//!   still open at the end of a day only if it was settled after that day, so a report
//!   at a past date adds just the records settled after it;
//! - `cdoc/<contact>/<id>` for every issued document: the contact's statement.
//!
//! [`OpenRef::open_at`] is exactly [`Document::open_at`] (a test holds them equal on
//! every kind of settlement), so the reports answer what they answered when they read
//! every document.

use backoffice_sdk::Date;
use serde::{Deserialize, Serialize};

use crate::model::{Document, Kind, Payment, Side, Status};

/// One settlement as the index keeps it: date, amount and, for a foreign-currency
/// document, the base value it released (a JSON array, to stay small).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move(pub Date, pub i64, #[serde(default)] pub Option<i64>);

/// What the index keeps of an issued document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct OpenRef {
    pub id: String,
    pub number: Option<String>,
    pub kind: Kind,
    pub side: Side,
    pub currency: String,
    pub date: Option<Date>,
    pub due_date: Option<Date>,
    /// What is open now.
    pub open: i64,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_total: Option<i64>,
    /// The document's settlements, in the order they happened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<Move>,
}

/// The index keys a document is kept under.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placement {
    pub open: Option<String>,
    pub settled: Option<String>,
    pub statement: Option<String>,
}

impl Placement {
    /// Every key, for deleting the ones a new placement no longer has.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        [&self.open, &self.settled, &self.statement]
            .into_iter()
            .flatten()
    }
}

impl OpenRef {
    pub fn of(d: &Document) -> OpenRef {
        OpenRef {
            id: d.id.clone(),
            number: d.number.clone(),
            kind: d.kind,
            side: d.side,
            currency: d.currency.clone(),
            date: d.date,
            due_date: d.due_date,
            open: d.open,
            contact: d.contact.clone(),
            contact_name: d.contact_name.clone(),
            total: d.total,
            rate: d.rate.clone(),
            base_currency: d.base_currency.clone(),
            base_total: d.base_total,
            moves: d
                .settlements
                .iter()
                .map(|s| Move(s.date, s.amount, s.base_amount))
                .collect(),
        }
    }

    /// Where `d` is kept; a draft nowhere.
    pub fn placement(d: &Document) -> Placement {
        if d.status != Status::Issued {
            return Placement::default();
        }
        let settled_on = d.settlements.iter().map(|s| s.date).max();
        Placement {
            open: (d.open != 0).then(|| open_key(&d.contact, &d.id)),
            settled: match settled_on {
                Some(day) if d.open == 0 => Some(format!("settled/{day}/{}", d.id)),
                _ => None,
            },
            statement: Some(format!("cdoc/{}/{}", d.contact, d.id)),
        }
    }

    /// What was open at the end of `day` (see [`Document::open_at`]).
    pub fn open_at(&self, day: Date) -> i64 {
        match self.date {
            Some(d) if d <= day => {
                self.total
                    - self
                        .moves
                        .iter()
                        .filter(|m| m.0 <= day)
                        .map(|m| m.1)
                        .sum::<i64>()
            }
            _ => 0,
        }
    }

    /// The base value of what was open at the end of `day`, for a document booked in
    /// a foreign currency (see [`Document::base_open_at`]).
    pub fn base_open_at(&self, day: Date) -> Option<i64> {
        let base_total = self.base_total?;
        Some(match self.date {
            Some(d) if d <= day => {
                base_total
                    - self
                        .moves
                        .iter()
                        .filter(|m| m.0 <= day)
                        .map(|m| m.2.unwrap_or(0))
                        .sum::<i64>()
            }
            _ => 0,
        })
    }

    pub fn sign(&self) -> i64 {
        if self.kind == Kind::CreditNote { -1 } else { 1 }
    }
}

pub fn open_key(contact: &str, id: &str) -> String {
    format!("open/{contact}/{id}")
}

/// The first key after every `settled/<day>/...` record of `day`: records settled
/// later sort after it.
pub fn settled_after(day: Date) -> String {
    format!("settled/{day}/~")
}

/// What a contact's statement needs of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PayRef {
    pub id: String,
    pub contact_name: String,
    pub date: Date,
    pub amount: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// For a payment in a foreign currency: the base value it released of the
    /// documents at their booked rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_released: Option<i64>,
    /// When the payment was voided (see [`crate::payments::void`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided: Option<Date>,
}

impl PayRef {
    pub fn of(p: &Payment) -> PayRef {
        PayRef {
            id: p.id.clone(),
            contact_name: p.contact_name.clone(),
            date: p.date,
            amount: p.amount,
            currency: p.currency.clone(),
            reference: p.reference.clone(),
            base_released: p.base_currency.as_ref().map(|_| {
                p.allocations
                    .iter()
                    .map(|a| a.base_released.unwrap_or(0))
                    .sum()
            }),
            voided: p.voided.as_ref().map(|v| v.date),
        }
    }

    pub fn key(contact: &str, id: &str) -> String {
        format!("cpay/{contact}/{id}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap fails the test")]
mod tests {
    use super::*;
    use crate::model::Settlement;

    fn day(d: u8) -> Date {
        Date::new(2026, 1, d).unwrap()
    }

    fn doc(id: &str, kind: Kind, total: i64, base_total: Option<i64>) -> Document {
        Document {
            id: id.into(),
            kind,
            side: Side::Sales,
            status: Status::Issued,
            number: Some(format!("N-{id}")),
            contact: "c-000001".into(),
            contact_name: "Ada".into(),
            currency: if base_total.is_some() { "EUR" } else { "GBP" }.into(),
            date: Some(day(5)),
            due_date: Some(day(20)),
            corrects: None,
            reference: None,
            notes: None,
            lines: vec![],
            taxes: vec![],
            net: total,
            tax: 0,
            total,
            settlements: vec![],
            credited: 0,
            open: total,
            rate: base_total.map(|_| "0.85".into()),
            base_currency: base_total.map(|_| "GBP".into()),
            base_total,
            base_open: base_total,
            ledger_entry: None,
            revision: 1,
            created_at: String::new(),
            issued_at: None,
        }
    }

    fn settle(d: &mut Document, kind: &str, on: u8, amount: i64, base: Option<i64>) {
        d.settlements.push(Settlement {
            kind: kind.into(),
            id: "p-000001".into(),
            number: None,
            date: day(on),
            amount,
            base_amount: base,
        });
        d.open -= amount;
        if let (Some(o), Some(b)) = (d.base_open.as_mut(), base) {
            *o -= b;
        }
    }

    /// Issued; part paid; paid in full; paid in two parts; credited in part and paid;
    /// a credit note applied in part; a foreign invoice part paid; a draft.
    fn mixed() -> Vec<Document> {
        let issued = doc("d-000001", Kind::Invoice, 12_000, None);
        let mut part = doc("d-000002", Kind::Invoice, 12_000, None);
        settle(&mut part, "payment", 10, 5_000, None);
        let mut full = doc("d-000003", Kind::Invoice, 12_000, None);
        settle(&mut full, "payment", 12, 12_000, None);
        let mut two = doc("d-000004", Kind::Invoice, 9_000, None);
        settle(&mut two, "payment", 8, 4_000, None);
        settle(&mut two, "payment", 25, 5_000, None);
        let mut credited = doc("d-000005", Kind::Invoice, 6_000, None);
        settle(&mut credited, "credit-note", 9, 1_000, None);
        settle(&mut credited, "payment", 15, 5_000, None);
        let mut cn = doc("d-000006", Kind::CreditNote, 3_000, None);
        settle(&mut cn, "applied-to", 9, 1_000, None);
        let mut fx = doc("d-000007", Kind::Invoice, 10_000, Some(8_500));
        settle(&mut fx, "payment", 11, 4_000, Some(3_400));
        let mut draft = doc("d-000008", Kind::Invoice, 1_000, None);
        draft.status = Status::Draft;
        vec![issued, part, full, two, credited, cn, fx, draft]
    }

    #[test]
    fn the_index_answers_what_the_documents_do_on_every_day() {
        for d in mixed() {
            let r = OpenRef::of(&d);
            let placed = OpenRef::placement(&d);
            for on in 1..=31 {
                let as_of = day(on);
                let want = if d.status == Status::Issued {
                    d.open_at(as_of)
                } else {
                    0
                };
                // The walk reads open records and records settled after the day.
                let walked = placed.open.is_some()
                    || placed
                        .settled
                        .as_ref()
                        .is_some_and(|k| k.as_str() > settled_after(as_of).as_str());
                if want != 0 {
                    assert!(walked, "{} open {want} on {as_of} but not walked", d.id);
                    assert_eq!(r.open_at(as_of), want, "{} on {as_of}", d.id);
                    assert_eq!(r.base_open_at(as_of), d.base_open_at(as_of), "{}", d.id);
                } else if walked {
                    assert_eq!(r.open_at(as_of), 0, "{} on {as_of}", d.id);
                }
            }
        }
    }

    #[test]
    fn placement_follows_issue_part_and_full_payment() {
        let docs = mixed();
        let at = |i: usize| OpenRef::placement(&docs[i]);
        assert_eq!(at(0).open.as_deref(), Some("open/c-000001/d-000001"));
        assert_eq!(at(0).settled, None);
        assert_eq!(at(1).open.as_deref(), Some("open/c-000001/d-000002"));
        assert_eq!(at(2).open, None);
        assert_eq!(
            at(2).settled.as_deref(),
            Some("settled/2026-01-12/d-000003")
        );
        assert_eq!(
            at(3).settled.as_deref(),
            Some("settled/2026-01-25/d-000004"),
            "the last settlement's date"
        );
        assert_eq!(at(5).open.as_deref(), Some("open/c-000001/d-000006"));
        for i in 0..7 {
            assert!(at(i).statement.is_some(), "every issued document");
        }
        assert_eq!(at(7), Placement::default(), "drafts are not indexed");
    }
}
