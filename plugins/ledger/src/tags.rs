//! Tags on postings: `name: value` labels such as a project or a cost centre.
//!
//! In a journal, tags are read from comments as hledger 1.25 does (hledger manual 1.25,
//! "Tags"): a tag is the last word before a `:` in a transaction or posting comment,
//! and its value is the text after the `:` up to the next `,` or the end of the line,
//! with surrounding spaces removed (it may be empty, as in `cc:`). A posting inherits
//! its transaction's tags; a posting's own tag replaces an inherited one of the same
//! name (hledger keeps both). Through `post-entry`, tags are given as a JSON object per
//! posting and per entry, with the same inheritance.
//!
//! Every posting stores its effective tags (and so does its register row). For
//! tag-filtered balances the balance index has a tag part (see [`keys`]).

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use backoffice_sdk::storage::KeyRange;
use serde::Deserialize;

use crate::date::Date;
use crate::report::Balances;

/// A posting's tags, by name.
pub type Tags = BTreeMap<String, String>;

/// The most tags one posting may carry (its own and inherited ones together).
pub const MAX_TAGS: usize = 32;
/// The longest tag name, in characters.
pub const MAX_NAME: usize = 64;
/// The longest tag value, in characters.
pub const MAX_VALUE: usize = 200;

/// The tags of one comment line, in order, as hledger reads them. Names that hledger
/// uses for posting dates (`date`, `date2`) are returned like any other tag; the
/// caller decides.
pub fn parse_comment(comment: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = comment;
    while let Some(colon) = rest.find(':') {
        let name = rest[..colon]
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or("");
        let after = &rest[colon + 1..];
        if name.is_empty() {
            rest = after;
            continue;
        }
        let (value, next) = match after.find(',') {
            Some(i) => (&after[..i], &after[i + 1..]),
            None => (after, ""),
        };
        out.push((name.to_owned(), value.trim().to_owned()));
        rest = next;
    }
    out
}

/// Add the tags of a comment line to `into`, refusing what the ledger cannot keep.
/// `posting` says whether the comment belongs to a posting (where hledger reads
/// `date:` and `date2:` as posting dates, which the ledger does not support).
pub fn add_from_comment(into: &mut Tags, comment: &str, posting: bool) -> Result<(), String> {
    for (name, value) in parse_comment(comment) {
        if posting && (name == "date" || name == "date2") {
            return Err(format!(
                "posting dates (the `{name}:` tag) are not supported; give the posting its own transaction"
            ));
        }
        if into.contains_key(&name) {
            return Err(format!(
                "tag {name:?} is given twice; keep one `{name}: value`"
            ));
        }
        check_one(&name, &value)?;
        into.insert(name, value);
    }
    check_count(into)
}

fn check_one(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty()
        || name.chars().count() > MAX_NAME
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':' || c == ',')
    {
        return Err(format!(
            "{name:?} is not a tag name: use 1 to {MAX_NAME} characters without spaces, ':' or ','"
        ));
    }
    if value.chars().count() > MAX_VALUE {
        return Err(format!(
            "the value of tag {name} is longer than {MAX_VALUE} characters"
        ));
    }
    if value.chars().any(|c| c == ',' || c.is_control()) || value.trim() != value {
        return Err(format!(
            "the value of tag {name} ({value:?}) may not contain ',', line breaks or surrounding spaces"
        ));
    }
    Ok(())
}

fn check_count(tags: &Tags) -> Result<(), String> {
    if tags.len() > MAX_TAGS {
        return Err(format!(
            "a posting may carry at most {MAX_TAGS} tags, not {}",
            tags.len()
        ));
    }
    Ok(())
}

/// Check tags given in a request.
pub fn validate(tags: &Tags) -> Result<(), String> {
    for (name, value) in tags {
        check_one(name, value)?;
    }
    check_count(tags)
}

/// A posting's effective tags: the inherited ones, replaced by its own of the same name.
pub fn merge(inherited: &Tags, own: &Tags) -> Result<Tags, String> {
    let mut out = inherited.clone();
    out.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    check_count(&out)?;
    Ok(out)
}

/// Tags as one text, `name=value;name=value` (for CSV).
pub fn text(tags: &Tags) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// A report filter: postings carrying tag `name`, with exactly `value` when given.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TagFilter {
    /// Tag name.
    pub name: String,
    /// The exact value; any value when absent.
    pub value: Option<String>,
}

impl TagFilter {
    /// Whether a posting with `tags` passes.
    pub fn matches(&self, tags: &Tags) -> bool {
        match (tags.get(&self.name), &self.value) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some(want)) => v == want,
        }
    }
}

/// A tag name or value as one storage key segment (`%` and `/` percent-encoded).
fn key_part(text: &str) -> String {
    text.replace('%', "%25").replace('/', "%2F")
}

/// The tag index rows a posting dated `date` adds its amount to: one per tag,
/// `tagd/<name>/=<value>/<yyyy-mm-dd>/<account>/<commodity>`, the day's movement of
/// the account in that commodity among postings with that tag value.
pub fn keys(date: Date, p: &crate::entry::Posting) -> Vec<String> {
    p.tags
        .iter()
        .map(|(name, value)| {
            format!(
                "tagd/{}/={}/{date}/{}/{}",
                key_part(name),
                key_part(value),
                p.account,
                p.currency
            )
        })
        .collect()
}

/// The balances per account and commodity of the postings that pass `filter`, at the
/// end of `as_of` (all time when `None`), from the tag index: with a value, one range
/// scan of that value's days up to `as_of`; without, a scan of every value of the tag.
pub fn balances(filter: &TagFilter, as_of: Option<Date>) -> backoffice_sdk::Result<Balances> {
    let base = format!("tagd/{}/", key_part(&filter.name));
    let range = match (&filter.value, as_of) {
        (Some(v), Some(d)) => {
            let from = format!("{base}={}/", key_part(v));
            let to = format!("{from}{d}0");
            KeyRange::between(from, to)
        }
        (Some(v), None) => KeyRange::prefix(&format!("{base}={}/", key_part(v))),
        (None, _) => KeyRange::prefix(&base),
    };
    let last = as_of.map(|d| d.to_string());
    let mut b = Balances::new();
    for item in storage::scan(range).iter::<i64>() {
        let (key, n) = item?;
        // `=<value>/<date>/<account>/<commodity>`; value, account and commodity hold no
        // `/`, so the date is the segment after the first `/`.
        let Some((_, rest)) = key[base.len()..].split_once('/') else {
            continue;
        };
        let (Some(date), Some(tail)) = (rest.get(..10), rest.get(11..)) else {
            continue;
        };
        if last.as_deref().is_some_and(|l| date > l) {
            continue;
        }
        if let Some((account, commodity)) = tail.rsplit_once('/') {
            let slot = b
                .entry((account.to_owned(), commodity.to_owned()))
                .or_default();
            *slot = slot.saturating_add(n);
        }
    }
    b.retain(|_, v| *v != 0);
    Ok(b)
}

/// Check a report's tag filter.
pub fn check_filter(filter: Option<&TagFilter>) -> backoffice_sdk::Result<()> {
    if let Some(f) = filter {
        let bad = f.name.is_empty() || f.name.chars().any(char::is_whitespace);
        if bad {
            return Err(Error::invalid(format!(
                "tag.name: {:?} is not a tag name; give one like \"project\"",
                f.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(c: &str) -> Vec<(String, String)> {
        parse_comment(c)
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    #[test]
    fn reads_tags_like_hledger() {
        assert_eq!(tags("project: apollo"), vec![pair("project", "apollo")]);
        assert_eq!(
            tags("a note, project:apollo , cc:, client: ACME Ltd"),
            vec![
                pair("project", "apollo"),
                pair("cc", ""),
                pair("client", "ACME Ltd")
            ]
        );
        // The name is the last word before the colon; a colon after a space is no tag.
        assert_eq!(
            tags("paid with card : see the cc: 42"),
            vec![pair("cc", "42")]
        );
        assert_eq!(tags("no tags here"), vec![]);
        assert_eq!(
            tags("url: http://x.example/a"),
            vec![pair("url", "http://x.example/a")]
        );
        assert_eq!(tags("t1:,t2:v"), vec![pair("t1", ""), pair("t2", "v")]);
    }

    #[test]
    fn refuses_what_cannot_be_kept() {
        let mut t = Tags::new();
        assert!(add_from_comment(&mut t, "project: apollo, cc: 7", true).is_ok());
        assert_eq!(t.len(), 2);
        let err = add_from_comment(&mut Tags::new(), "date: 2024-01-05", true).unwrap_err();
        assert!(err.contains("posting dates"), "{err}");
        assert!(add_from_comment(&mut Tags::new(), "date: 2024-01-05", false).is_ok());
        let err = add_from_comment(&mut Tags::new(), "p: a, p: b", true).unwrap_err();
        assert!(err.contains("given twice"), "{err}");
        let long = format!("p: {}", "x".repeat(MAX_VALUE + 1));
        assert!(
            add_from_comment(&mut Tags::new(), &long, true)
                .unwrap_err()
                .contains("longer than 200")
        );
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}:")).collect();
        assert!(
            add_from_comment(&mut Tags::new(), &many.join(","), true)
                .unwrap_err()
                .contains("at most 32 tags")
        );
        let mut req = Tags::new();
        req.insert("cost centre".into(), "x".into());
        assert!(validate(&req).unwrap_err().contains("not a tag name"));
        req.clear();
        req.insert("cc".into(), "a,b".into());
        assert!(validate(&req).unwrap_err().contains("may not contain ','"));
    }

    #[test]
    fn postings_inherit_and_override_and_filters_match() {
        let mut txn = Tags::new();
        txn.insert("project".into(), "apollo".into());
        txn.insert("cc".into(), "".into());
        let mut own = Tags::new();
        own.insert("project".into(), "gemini".into());
        let m = merge(&txn, &own).unwrap();
        assert_eq!(m["project"], "gemini");
        assert_eq!(m["cc"], "");
        let any = TagFilter {
            name: "cc".into(),
            value: None,
        };
        let apollo = TagFilter {
            name: "project".into(),
            value: Some("apollo".into()),
        };
        assert!(any.matches(&m));
        assert!(!apollo.matches(&m));
        assert!(apollo.matches(&txn));
        assert_eq!(text(&m), "cc=;project=gemini");
        assert_eq!(key_part("a/b%"), "a%2Fb%25");
        let p = crate::entry::Posting {
            account: "expenses:food".into(),
            amount: 5,
            currency: "EUR".into(),
            cost: None,
            memo: None,
            status: Default::default(),
            tags: m,
        };
        let d = Date::parse("2024-03-01").unwrap();
        assert_eq!(
            keys(d, &p),
            [
                "tagd/cc/=/2024-03-01/expenses:food/EUR",
                "tagd/project/=gemini/2024-03-01/expenses:food/EUR"
            ]
        );
    }
}
