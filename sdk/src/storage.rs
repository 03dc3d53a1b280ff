//! Typed access to the plugin's transactional key-value storage.
//!
//! Keys are UTF-8 strings (at most 512 bytes) ordered by their bytes; values are at
//! most 1 MiB. The typed functions store values as JSON. All writes of a call commit
//! together when the operation returns `Ok`, and are rolled back on `Err` or a panic.
//! Requires the `storage` capability in `plugin.toml`.
//!
//! ```no_run
//! use backoffice_sdk::storage;
//!
//! # fn main() -> backoffice_sdk::Result<()> {
//! storage::put("contact/c-000001", &serde_json::json!({"name": "Ada"}))?;
//! let one: Option<serde_json::Value> = storage::get("contact/c-000001")?;
//! for (key, value) in storage::scan_prefix("contact/").limit(10).collect::<serde_json::Value>()? {
//!     println!("{key}: {value}");
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Range, RangeFrom, RangeFull, RangeTo};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::bindings::backoffice::host::storage as wit;
use crate::{Error, Result};

/// The most entries the host returns in one page.
pub const MAX_PAGE: u32 = 1000;

/// Read `key` and decode its JSON value; `None` when absent.
///
/// A stored value that does not decode as `T` is [`Error::Internal`].
pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
    get_raw(key)?.map(|bytes| decode(key, &bytes)).transpose()
}

/// Write `value` as JSON to `key`, replacing any previous value.
pub fn put<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<()> {
    put_raw(key, &encode(value)?)
}

/// Delete `key`; returns whether it existed.
pub fn delete(key: &str) -> Result<bool> {
    Ok(wit::delete(key)?)
}

/// Read the raw bytes of `key`; `None` when absent.
pub fn get_raw(key: &str) -> Result<Option<Vec<u8>>> {
    Ok(wit::get(key)?)
}

/// Write raw bytes to `key`, replacing any previous value.
pub fn put_raw(key: &str, value: &[u8]) -> Result<()> {
    Ok(wit::put(key, value)?)
}

/// Start a scan of the keys in `range`, in key order.
///
/// `range` is a [`KeyRange`] or a Rust range of `&str`: `"a".."b"`, `"a"..`, `.."b"`, `..`.
pub fn scan(range: impl Into<KeyRange>) -> Scan {
    Scan::new(range.into())
}

/// Start a scan of the keys that start with `prefix`, in key order.
pub fn scan_prefix(prefix: &str) -> Scan {
    Scan::new(KeyRange::prefix(prefix))
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::internal(format!("cannot encode a value: {e}")))
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::internal(format!("cannot decode the value of {key:?}: {e}")))
}

/// A half-open key range `[start, end)`; a missing bound is unbounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRange {
    /// Smallest key included, or `None` for the first key.
    pub start: Option<String>,
    /// First key excluded, or `None` for past the last key.
    pub end: Option<String>,
}

impl KeyRange {
    /// Every key.
    pub fn all() -> Self {
        Self::default()
    }

    /// `[start, end)`.
    pub fn between(start: impl Into<String>, end: impl Into<String>) -> Self {
        Self {
            start: Some(start.into()),
            end: Some(end.into()),
        }
    }

    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: &str) -> Self {
        let start = (!prefix.is_empty()).then(|| prefix.to_owned());
        Self {
            start,
            end: prefix_end(prefix),
        }
    }
}

/// The smallest string greater than every string starting with `prefix`, or `None`
/// when there is none (an empty prefix, or one made only of `char::MAX`).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

impl From<Range<&str>> for KeyRange {
    fn from(r: Range<&str>) -> Self {
        Self::between(r.start, r.end)
    }
}

impl From<RangeFrom<&str>> for KeyRange {
    fn from(r: RangeFrom<&str>) -> Self {
        Self {
            start: Some(r.start.to_owned()),
            end: None,
        }
    }
}

impl From<RangeTo<&str>> for KeyRange {
    fn from(r: RangeTo<&str>) -> Self {
        Self {
            start: None,
            end: Some(r.end.to_owned()),
        }
    }
}

impl From<RangeFull> for KeyRange {
    fn from(_: RangeFull) -> Self {
        Self::all()
    }
}

/// One page of a scan, from [`Scan::page`].
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Entries in scan order.
    pub entries: Vec<(String, T)>,
    /// Pass to [`Scan::after`] to read the next page; `None` when the range is exhausted.
    pub next: Option<String>,
}

/// A scan builder: set the direction and limit, then [`collect`](Scan::collect),
/// [`page`](Scan::page) or [`iter`](Scan::iter). Follows the host's continuation
/// across pages transparently.
#[derive(Debug, Clone)]
#[must_use = "a scan does nothing until it is collected or iterated"]
pub struct Scan {
    range: KeyRange,
    reverse: bool,
    limit: Option<usize>,
    after: Option<String>,
    page_size: Option<u32>,
}

impl Scan {
    fn new(range: KeyRange) -> Self {
        Self {
            range,
            reverse: false,
            limit: None,
            after: None,
            page_size: None,
        }
    }

    /// Scan in reverse key order.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// Return at most `n` entries.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Resume past `key` in the scan's direction: pass a previous [`Page::next`] (or
    /// any key) to continue from there.
    pub fn after(mut self, key: impl Into<String>) -> Self {
        self.after = Some(key.into());
        self
    }

    /// Ask the host for `n` entries per round trip (1 to 1000). The default is the
    /// limit, capped at 1000, or 1000 without a limit. A smaller page helps when
    /// an [`iter`](Scan::iter) is filtered and stopped early.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n.clamp(1, MAX_PAGE));
        self
    }

    /// All entries, decoded from JSON, up to the limit.
    pub fn collect<T: DeserializeOwned>(self) -> Result<Vec<(String, T)>> {
        self.iter().collect()
    }

    /// All entries as raw bytes, up to the limit.
    pub fn collect_raw(self) -> Result<Vec<(String, Vec<u8>)>> {
        self.iter_raw().collect()
    }

    /// All keys, up to the limit.
    pub fn keys(self) -> Result<Vec<String>> {
        self.iter_raw().map(|e| e.map(|(k, _)| k)).collect()
    }

    /// Up to `limit` entries and a continuation for the next page.
    ///
    /// `next` is `Some` whenever the limit was reached and the host may hold more keys
    /// in the range (the next page may then turn out empty).
    pub fn page<T: DeserializeOwned>(self) -> Result<Page<T>> {
        self.page_with(host_fetch)
    }

    fn page_with<T: DeserializeOwned>(self, fetch: Fetch) -> Result<Page<T>> {
        let limit = self.limit;
        let mut iter = ScanIter::<T> {
            raw: self.iter_with(fetch),
            _t: PhantomData,
        };
        let mut entries = Vec::new();
        for entry in iter.by_ref() {
            entries.push(entry?);
        }
        let next = match (limit, entries.last()) {
            (Some(n), Some((key, _))) if entries.len() == n && !iter.raw.exhausted() => {
                Some(key.clone())
            }
            _ => None,
        };
        Ok(Page { entries, next })
    }

    /// A lazy iterator over decoded entries, fetching pages as needed.
    pub fn iter<T: DeserializeOwned>(self) -> ScanIter<T> {
        ScanIter {
            raw: self.iter_raw(),
            _t: PhantomData,
        }
    }

    /// A lazy iterator over raw entries, fetching pages as needed.
    pub fn iter_raw(self) -> RawScanIter {
        self.iter_with(host_fetch)
    }

    fn iter_with(self, fetch: Fetch) -> RawScanIter {
        RawScanIter {
            fetch,
            buffer: VecDeque::new(),
            after: self.after,
            more: true,
            remaining: self.limit,
            page_size: self.page_size,
            range: self.range,
            reverse: self.reverse,
        }
    }
}

type Fetch = fn(&KeyRange, bool, u32, Option<&str>) -> Result<Page<Vec<u8>>>;

fn host_fetch(
    range: &KeyRange,
    reverse: bool,
    limit: u32,
    after: Option<&str>,
) -> Result<Page<Vec<u8>>> {
    let range = wit::KeyRange {
        start: range.start.clone(),
        end: range.end.clone(),
    };
    let page = wit::scan(&range, reverse, limit, after)?;
    Ok(Page {
        entries: page.entries.into_iter().map(|e| (e.key, e.value)).collect(),
        next: page.next,
    })
}

/// A lazy scan over raw entries; see [`Scan::iter_raw`].
pub struct RawScanIter {
    fetch: Fetch,
    range: KeyRange,
    reverse: bool,
    page_size: Option<u32>,
    buffer: VecDeque<(String, Vec<u8>)>,
    after: Option<String>,
    more: bool,
    remaining: Option<usize>,
}

impl RawScanIter {
    /// Whether the scan has nothing left: the buffer is empty and the host said so.
    fn exhausted(&self) -> bool {
        self.buffer.is_empty() && !self.more
    }
}

impl fmt::Debug for RawScanIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawScanIter")
            .field("range", &self.range)
            .field("reverse", &self.reverse)
            .field("after", &self.after)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl Iterator for RawScanIter {
    type Item = Result<(String, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == Some(0) {
            return None;
        }
        while self.buffer.is_empty() {
            if !self.more {
                return None;
            }
            let want = match (self.page_size, self.remaining) {
                (Some(p), Some(r)) => p.min(u32::try_from(r).unwrap_or(u32::MAX)),
                (Some(p), None) => p,
                (None, Some(r)) => u32::try_from(r).unwrap_or(u32::MAX).min(MAX_PAGE),
                (None, None) => MAX_PAGE,
            };
            match (self.fetch)(&self.range, self.reverse, want, self.after.as_deref()) {
                Ok(page) => {
                    self.more = page.next.is_some();
                    self.after = page.next;
                    self.buffer.extend(page.entries);
                }
                Err(e) => {
                    self.more = false;
                    return Some(Err(e));
                }
            }
        }
        let entry = self.buffer.pop_front()?;
        if let Some(r) = &mut self.remaining {
            *r -= 1;
        }
        Some(Ok(entry))
    }
}

/// A lazy scan over decoded entries; see [`Scan::iter`].
pub struct ScanIter<T> {
    raw: RawScanIter,
    _t: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for ScanIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

impl<T: DeserializeOwned> Iterator for ScanIter<T> {
    type Item = Result<(String, T)>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.raw.next()?.and_then(|(k, v)| {
            let value = decode(&k, &v)?;
            Ok((k, value))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake host with keys k00..k24, each value its number as JSON, that caps pages at 10.
    fn fake(
        range: &KeyRange,
        reverse: bool,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<Vec<u8>>> {
        let mut keys: Vec<String> = (0..25).map(|i| format!("k{i:02}")).collect();
        keys.retain(|k| {
            range.start.as_ref().is_none_or(|s| k >= s) && range.end.as_ref().is_none_or(|e| k < e)
        });
        if reverse {
            keys.reverse();
        }
        if let Some(a) = after {
            keys.retain(|k| {
                if reverse {
                    k.as_str() < a
                } else {
                    k.as_str() > a
                }
            });
        }
        let n = limit.min(10) as usize;
        let more = keys.len() > n;
        keys.truncate(n);
        let next = if more { keys.last().cloned() } else { None };
        let entries = keys
            .into_iter()
            .map(|k| {
                let n: u32 = k[1..].parse().unwrap();
                (k, n.to_string().into_bytes())
            })
            .collect();
        Ok(Page { entries, next })
    }

    fn keys(s: Scan) -> Vec<String> {
        s.iter_with(fake).map(|e| e.unwrap().0).collect()
    }

    #[test]
    fn follows_continuations() {
        let all = keys(scan(..));
        assert_eq!(all.len(), 25);
        assert_eq!(all[0], "k00");
        assert_eq!(all[24], "k24");
        let rev = keys(scan(..).reverse());
        assert_eq!(rev.len(), 25);
        assert_eq!(rev[0], "k24");
    }

    #[test]
    fn limit_range_and_after() {
        assert_eq!(keys(scan(..).limit(12)).len(), 12);
        assert_eq!(keys(scan("k03".."k07")), ["k03", "k04", "k05", "k06"]);
        assert_eq!(keys(scan("k20"..)), ["k20", "k21", "k22", "k23", "k24"]);
        assert_eq!(keys(scan(.."k02")), ["k00", "k01"]);
        assert_eq!(keys(scan(..).after("k21")), ["k22", "k23", "k24"]);
        assert_eq!(keys(scan(..).reverse().after("k02")), ["k01", "k00"]);
        assert_eq!(keys(scan_prefix("k1")).len(), 10);
        assert_eq!(keys(scan(..).limit(0)).len(), 0);
    }

    #[test]
    fn decodes_values() {
        let v: Vec<(String, u32)> = scan("k10".."k13")
            .iter_with(fake)
            .map(|e| {
                let (k, v) = e.unwrap();
                (k, serde_json::from_slice(&v).unwrap())
            })
            .collect();
        assert_eq!(
            v,
            [("k10".into(), 10), ("k11".into(), 11), ("k12".into(), 12)]
        );
    }

    #[test]
    fn pages() {
        let p: Page<u32> = scan(..).limit(20).page_with(fake).unwrap();
        assert_eq!(p.entries.len(), 20);
        assert_eq!(p.next.as_deref(), Some("k19"));
        let p: Page<u32> = scan(..).limit(20).after("k19").page_with(fake).unwrap();
        assert_eq!(p.entries.len(), 5);
        assert_eq!(p.entries[0], ("k20".to_string(), 20));
        assert_eq!(p.next, None);
        let p: Page<u32> = scan(..).limit(5).after("k19").page_with(fake).unwrap();
        assert_eq!(p.entries.len(), 5);
        assert_eq!(p.next, None, "the host said the range is exhausted");
        let p: Page<u32> = scan(..).page_with(fake).unwrap();
        assert_eq!((p.entries.len(), p.next), (25, None));
    }

    #[test]
    fn prefix_ranges() {
        assert_eq!(KeyRange::prefix("ab"), KeyRange::between("ab", "ac"));
        assert_eq!(KeyRange::prefix(""), KeyRange::all());
        assert_eq!(prefix_end("a\u{10FFFF}"), Some("b".to_string()));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        assert_eq!(prefix_end("\u{D7FF}"), Some("\u{E000}".to_string()));
        assert_eq!(prefix_end("contact/"), Some("contact0".to_string()));
    }

    #[test]
    fn errors_stop_the_scan() {
        fn failing(_: &KeyRange, _: bool, _: u32, _: Option<&str>) -> Result<Page<Vec<u8>>> {
            Err(Error::forbidden("no storage capability"))
        }
        let mut it = scan(..).iter_with(failing);
        assert_eq!(
            it.next(),
            Some(Err(Error::forbidden("no storage capability")))
        );
        assert_eq!(it.next(), None);
    }
}
