//! The contact record and its pure validation rules.

use backoffice_sdk::{Error, Result, Timestamp};
use serde::{Deserialize, Serialize};

/// Whether a contact buys from us or sells to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Buys from us.
    Customer,
    /// Sells to us.
    Supplier,
}

/// A customer or supplier, as stored and as returned by every operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Contact {
    /// `c-000001`, `c-000002`, ... in creation order.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Customer or supplier.
    pub kind: Kind,
    /// Email, trimmed and lower-cased; unique across contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number as entered, trimmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// VAT or other tax number, trimmed and upper-cased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    /// Postal address invoices are sent to, lines separated by newlines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<String>,
    /// Days after the document date an invoice or bill falls due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms_days: Option<u32>,
    /// ISO 4217 code documents for this contact default to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_currency: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Hidden from `list` unless `include-archived`.
    pub archived: bool,
    /// 1 on creation, bumped by every change.
    pub revision: u64,
    /// Business time of creation.
    pub created_at: Timestamp,
    /// Business time of the last change.
    pub updated_at: Timestamp,
}

pub const MAX_NAME: usize = 200;
pub const MAX_EMAIL: usize = 254;
pub const MAX_PHONE: usize = 40;
pub const MAX_TAX_ID: usize = 40;
pub const MAX_NOTES: usize = 4000;
pub const MAX_ADDRESS: usize = 1000;
pub const MAX_TERMS_DAYS: u32 = 3650;

/// `c-000042` for sequence number 42.
pub fn format_id(seq: u64) -> String {
    format!("c-{seq:06}")
}

/// The sequence number of an id made by [`format_id`].
pub fn parse_id(id: &str) -> Option<u64> {
    let digits = id.strip_prefix("c-")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq: u64 = digits.parse().ok()?;
    (seq > 0 && format_id(seq) == id).then_some(seq)
}

/// Storage key of contact `seq`: zero-padded so key order is creation order.
pub fn contact_key(seq: u64) -> String {
    format!("contact/{seq:020}")
}

/// Storage key of the email index entry for a normalised email.
pub fn email_key(email: &str) -> String {
    format!("email/{email}")
}

fn bounded(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid(format!("{field} must not be blank")));
    }
    if v.chars().count() > max {
        return Err(Error::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(v.to_owned())
}

/// A trimmed, non-blank name of at most [`MAX_NAME`] characters.
pub fn validate_name(name: &str) -> Result<String> {
    bounded("name", name, MAX_NAME)
}

/// A trimmed, lower-cased email: a dot-atom local part (ASCII letters, digits and
/// ``!#$%&'*+/=?^_`{|}~-``, dots between) `@` a dotted domain of ASCII letters, digits
/// and inner hyphens, so every address kept is an RFC 5321 mailbox, as the `email`
/// format of the operation schemas says. Schemathesis found control characters and
/// other non-ASCII text accepted and returned (issue 16, fuzzing).
pub fn normalise_email(email: &str) -> Result<String> {
    let e = bounded("email", email, MAX_EMAIL)?.to_lowercase();
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let label = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let valid = match e.split_once('@') {
        Some((local, domain)) => {
            local
                .split('.')
                .all(|a| !a.is_empty() && a.chars().all(atext))
                && domain.split('.').count() >= 2
                && domain.split('.').all(label)
        }
        None => false,
    };
    if valid {
        Ok(e)
    } else {
        Err(Error::invalid(format!("{email:?} is not an email address")))
    }
}

/// A trimmed phone number of digits, spaces and `+-()./`, with at least one digit.
pub fn validate_phone(phone: &str) -> Result<String> {
    let p = bounded("phone", phone, MAX_PHONE)?;
    if p.chars()
        .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
        && p.chars().any(|c| c.is_ascii_digit())
    {
        Ok(p)
    } else {
        Err(Error::invalid(format!("{phone:?} is not a phone number")))
    }
}

/// A trimmed, upper-cased tax id of letters, digits, spaces, `-` and `.`.
pub fn validate_tax_id(tax_id: &str) -> Result<String> {
    let t = bounded("tax-id", tax_id, MAX_TAX_ID)?.to_uppercase();
    if t.chars()
        .all(|c| c.is_ascii_alphanumeric() || " -.".contains(c))
    {
        Ok(t)
    } else {
        Err(Error::invalid(format!("{tax_id:?} is not a tax id")))
    }
}

/// A non-blank billing address of at most [`MAX_ADDRESS`] characters; each line trimmed.
pub fn validate_address(address: &str) -> Result<String> {
    bounded("billing-address", address, MAX_ADDRESS)?;
    Ok(address
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Payment terms of 0 to [`MAX_TERMS_DAYS`] days.
pub fn validate_terms(days: u32) -> Result<u32> {
    if days > MAX_TERMS_DAYS {
        return Err(Error::invalid(format!(
            "payment-terms-days must be 0 to {MAX_TERMS_DAYS}, not {days}"
        )));
    }
    Ok(days)
}

/// An ISO 4217 currency code the SDK knows (`GBP`, `EUR`, `JPY`, ...).
pub fn validate_currency(code: &str) -> Result<String> {
    backoffice_sdk::Currency::new(code.trim())
        .map(|c| c.code().to_owned())
        .map_err(|_| Error::invalid(format!("{code:?} is not an ISO 4217 currency code")))
}

/// Non-blank notes of at most [`MAX_NOTES`] characters (kept as entered).
pub fn validate_notes(notes: &str) -> Result<String> {
    bounded("notes", notes, MAX_NOTES)?;
    Ok(notes.to_owned())
}

/// The `list` filter.
#[derive(Debug)]
pub struct Filter {
    kind: Option<Kind>,
    name_prefix: Option<String>,
    include_archived: bool,
}

impl Filter {
    /// Match `kind` if given, names starting with `name_prefix` ignoring case, and
    /// archived contacts only when `include_archived`.
    pub fn new(kind: Option<Kind>, name_prefix: Option<&str>, include_archived: bool) -> Self {
        let name_prefix = name_prefix
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_lowercase);
        Self {
            kind,
            name_prefix,
            include_archived,
        }
    }

    /// Whether `c` passes the filter.
    pub fn matches(&self, c: &Contact) -> bool {
        (self.include_archived || !c.archived)
            && self.kind.is_none_or(|k| k == c.kind)
            && self
                .name_prefix
                .as_ref()
                .is_none_or(|p| c.name.to_lowercase().starts_with(p.as_str()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn contact(name: &str, kind: Kind, archived: bool) -> Contact {
        Contact {
            id: format_id(1),
            name: name.into(),
            kind,
            email: None,
            phone: None,
            tax_id: None,
            billing_address: None,
            payment_terms_days: None,
            default_currency: None,
            notes: None,
            archived,
            revision: 1,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn ids_and_keys() {
        assert_eq!(format_id(1), "c-000001");
        assert_eq!(format_id(1_234_567), "c-1234567");
        assert_eq!(parse_id("c-000001"), Some(1));
        assert_eq!(parse_id("c-1234567"), Some(1_234_567));
        for bad in [
            "",
            "c-",
            "c-1",
            "c-0000001",
            "c-000000",
            "x-000001",
            "c-00000a",
            "c-+00001",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
        assert_eq!(contact_key(7), "contact/00000000000000000007");
        assert!(contact_key(999_999) < contact_key(1_000_000));
        assert_eq!(email_key("a@b.c"), "email/a@b.c");
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalise_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "   ",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a@b@c.d",
            "a b@c.d",
            "a@.com",
            "a@com.",
            // Found by schemathesis (issue 16): control characters and non-ASCII text.
            "\u{1c}@\u{a1}.\u{9b}p\u{1d}k8",
            "a\u{1c}@b.c",
            "ad\u{e9}@example.com",
            "a@ex_ample.com",
            "a@-example.com",
            ".a@b.c",
            "a..b@c.d",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
        assert!(normalise_email(&format!("{}@example.com", "a".repeat(250))).is_err());
        for good in [
            "a.b+tag@mail.example.co.uk",
            "o'neil@x-y.example",
            "a|b@c.d",
        ] {
            assert_eq!(normalise_email(good).unwrap(), good);
        }
    }

    #[test]
    fn fields() {
        assert_eq!(validate_name("  Acme GmbH ").unwrap(), "Acme GmbH");
        assert!(validate_name(" ").is_err());
        assert!(validate_name(&"x".repeat(201)).is_err());
        assert_eq!(
            validate_name(&"é".repeat(200)).unwrap().chars().count(),
            200
        );
        assert_eq!(
            validate_phone("+49 (30) 123-456").unwrap(),
            "+49 (30) 123-456"
        );
        assert!(validate_phone("call me").is_err());
        assert!(validate_phone("+-").is_err());
        assert_eq!(validate_tax_id(" de123456789 ").unwrap(), "DE123456789");
        assert!(validate_tax_id("DE#1").is_err());
        assert_eq!(validate_notes(" keep spaces ").unwrap(), " keep spaces ");
        assert!(validate_notes("").is_err());
        assert_eq!(
            validate_address(" 1 High St \n\n London ").unwrap(),
            "1 High St\nLondon"
        );
        assert!(validate_address(" ").is_err());
        assert_eq!(validate_terms(30).unwrap(), 30);
        assert!(validate_terms(3651).is_err());
        assert_eq!(validate_currency("GBP").unwrap(), "GBP");
        assert!(validate_currency("XXQ").is_err());
    }

    #[test]
    fn filters() {
        let acme = contact("Acme GmbH", Kind::Customer, false);
        let old = contact("Acme Old", Kind::Supplier, true);
        assert!(Filter::new(None, None, false).matches(&acme));
        assert!(!Filter::new(None, None, false).matches(&old));
        assert!(Filter::new(None, None, true).matches(&old));
        assert!(Filter::new(Some(Kind::Customer), Some("acme"), false).matches(&acme));
        assert!(!Filter::new(Some(Kind::Supplier), None, false).matches(&acme));
        assert!(!Filter::new(None, Some("Beta"), false).matches(&acme));
        assert!(Filter::new(None, Some("  "), false).matches(&acme));
    }

    #[test]
    fn serde_shape() {
        let c = contact("Acme", Kind::Supplier, false);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "id": "c-000001", "name": "Acme", "kind": "supplier", "archived": false,
                "revision": 1, "created-at": "1970-01-01T00:00:00Z", "updated-at": "1970-01-01T00:00:00Z"
            })
        );
        assert_eq!(serde_json::from_value::<Contact>(v).unwrap(), c);
    }
}
