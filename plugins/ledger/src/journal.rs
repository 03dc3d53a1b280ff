//! A parser for the common subset of the hledger / ledger plain-text journal format.
//!
//! Supported: transactions (`DATE[=DATE2] [*|!] [(CODE)] DESCRIPTION [; comment]`, dates
//! with `-`, `/` or `.`), indented postings with an optional status mark, an account
//! name ended by two spaces or a tab, an amount with the commodity before or after the
//! number (`$1,000.00`, `-5 EUR`, `EUR -5`, `"AAPL" 3`), `@` unit and `@@` total
//! costs, one elided amount, comments (`;`, `#`, `*` lines, `comment` blocks,
//! trailing `; ...`), and the `account` (with a `type:` tag) and `commodity`
//! directives. `P DATE COMMODITY PRICE` market prices are kept; `payee`, `tag` and
//! `decimal-mark .` are accepted and ignored.
//! Single-commodity balance assertions (`= AMOUNT`) are kept and checked by the import.
//! Status marks (`*` cleared, `!` pending) on a transaction or a posting are kept
//! ([`crate::status`]).
//! Everything else (virtual postings, `==` and `=*` assertions, balance assignments,
//! `include`, `alias`, periodic and automated transactions) is refused with its line
//! number.

use crate::amount::Decimal;
use crate::date::Date;
use crate::model::{self, Kind};
use crate::status::Status;
use crate::tags::{self, Tags};

/// An amount as written in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JAmount {
    /// The commodity symbol.
    pub commodity: String,
    /// The number.
    pub number: Decimal,
}

/// A `@ unit` or `@@ total` cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JCost {
    /// `true` for `@@` (total), `false` for `@` (per unit).
    pub total: bool,
    /// The price.
    pub amount: JAmount,
}

/// One posting line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JPosting {
    /// 1-based line number.
    pub line: usize,
    /// Account name.
    pub account: String,
    /// `None` when elided.
    pub amount: Option<JAmount>,
    /// Conversion, if any.
    pub cost: Option<JCost>,
    /// The posting's comment.
    pub memo: Option<String>,
    /// A balance assertion `= AMOUNT`: the account's own balance in that commodity
    /// right after this posting.
    pub assertion: Option<JAmount>,
    /// The posting's own `*` or `!` mark.
    pub status: Status,
    /// Tags from the posting's comment lines (not the inherited ones).
    pub tags: Tags,
}

/// One transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JTransaction {
    /// Line of the header.
    pub line: usize,
    /// Primary date.
    pub date: Date,
    /// `(CODE)`, if any.
    pub code: Option<String>,
    /// Description (payee and note, as written).
    pub description: String,
    /// The part of the description before `|`, when there is one.
    pub payee: Option<String>,
    /// Postings in order.
    pub postings: Vec<JPosting>,
    /// The header's `*` or `!` mark, which postings without their own take.
    pub status: Status,
    /// Tags from the transaction's comment lines, inherited by its postings.
    pub tags: Tags,
}

/// An `account` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JAccount {
    /// Line.
    pub line: usize,
    /// Name.
    pub name: String,
    /// From a `type:` tag or a one-letter type code.
    pub kind: Option<Kind>,
}

/// A `commodity` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JCommodity {
    /// Line.
    pub line: usize,
    /// Symbol.
    pub symbol: String,
    /// Decimals of the sample amount, if one was given.
    pub precision: Option<u32>,
}

/// A `P DATE COMMODITY PRICE` market price directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JPrice {
    /// Line.
    pub line: usize,
    /// The day the price applies from.
    pub date: Date,
    /// The commodity priced.
    pub commodity: String,
    /// One unit's price, in another commodity.
    pub price: JAmount,
}

/// A parsed journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    /// `P` directives in file order.
    pub prices: Vec<JPrice>,
    /// `account` directives.
    pub accounts: Vec<JAccount>,
    /// `commodity` directives.
    pub commodities: Vec<JCommodity>,
    /// Transactions in file order.
    pub transactions: Vec<JTransaction>,
}

enum Block {
    None,
    Transaction,
    Commodity(usize),
    Other,
}

/// Parse `text`; the error names the first bad line (`line 7: ...`).
pub fn parse(text: &str) -> Result<Journal, String> {
    let mut j = Journal::default();
    let mut block = Block::None;
    let mut in_comment = false;
    // Commodities whose directive groups thousands with ',' (`commodity $1,000.00`).
    let mut grouped: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let at = |e: String| format!("line {n}: {e}");
        if in_comment {
            in_comment = line.trim_end() != "end comment";
            continue;
        }
        if line.trim().is_empty() {
            block = Block::None;
            continue;
        }
        let first = line.chars().next().unwrap_or(' ');
        if first == ' ' || first == '\t' {
            let body = line.trim();
            if body.starts_with(';') || body.starts_with('#') {
                // A comment line of a transaction: before the first posting it is the
                // transaction's, after one it continues that posting's comment.
                if let (Block::Transaction, Some(c)) = (&block, body.strip_prefix(';'))
                    && let Some(t) = j.transactions.last_mut()
                {
                    match t.postings.last_mut() {
                        Some(p) => tags::add_from_comment(&mut p.tags, c, true),
                        None => tags::add_from_comment(&mut t.tags, c, false),
                    }
                    .map_err(at)?;
                }
                continue;
            }
            match block {
                Block::Transaction => {
                    let posting = parse_posting(n, body, &grouped).map_err(at)?;
                    if let Some(t) = j.transactions.last_mut() {
                        t.postings.push(posting);
                    }
                }
                Block::Commodity(c) => {
                    if let Some(fmt) = body.strip_prefix("format ") {
                        let sample = strip_comment(fmt);
                        let a = parse_amount(sample, &[]).map_err(at)?;
                        if sample.contains(',') {
                            grouped.push(a.commodity.clone());
                        }
                        if let Some(d) = j.commodities.get_mut(c) {
                            d.precision = Some(a.number.scale);
                        }
                    }
                }
                Block::Other => {}
                Block::None => return Err(at("an indented line outside a transaction".into())),
            }
            continue;
        }
        if matches!(first, ';' | '#' | '*' | '%' | '|') {
            block = Block::None;
            continue;
        }
        if first.is_ascii_digit() {
            j.transactions.push(parse_header(n, line).map_err(at)?);
            block = Block::Transaction;
            continue;
        }
        let (word, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
        let rest = rest.trim();
        block = Block::Other;
        match word {
            "account" => j.accounts.push(parse_account(n, rest).map_err(at)?),
            "commodity" => {
                let c = parse_commodity(n, rest).map_err(at)?;
                if strip_comment(rest).contains(',') {
                    grouped.push(c.symbol.clone());
                }
                j.commodities.push(c);
                block = Block::Commodity(j.commodities.len() - 1);
            }
            "comment" => in_comment = true,
            "P" => j.prices.push(parse_price(n, rest, &grouped).map_err(at)?),
            "payee" | "tag" => {}
            "decimal-mark" if rest == "." => {}
            "decimal-mark" => {
                return Err(at("only the decimal mark '.' is supported".into()));
            }
            "~" | "=" => {
                return Err(at(
                    "periodic and automated transactions are not supported".into()
                ));
            }
            other => return Err(at(format!("unsupported directive {other:?}"))),
        }
    }
    Ok(j)
}

fn strip_comment(s: &str) -> &str {
    s.split_once(';').map_or(s, |(a, _)| a).trim()
}

fn comment(s: &str) -> Option<String> {
    s.split_once(';')
        .map(|(_, c)| c.trim().to_owned())
        .filter(|c| !c.is_empty())
}

fn parse_header(line: usize, text: &str) -> Result<JTransaction, String> {
    let head = strip_comment(text);
    let (date_text, rest) = head.split_once([' ', '\t']).unwrap_or((head, ""));
    let primary = date_text.split_once('=').map_or(date_text, |(d, _)| d);
    let date = Date::parse_loose(primary)
        .ok_or_else(|| format!("{primary:?} is not a date (use YYYY-MM-DD)"))?;
    let (status, mut rest) = Status::strip(rest.trim_start());
    let mut code = None;
    if let Some(r) = rest.strip_prefix('(') {
        let (c, after) = r
            .split_once(')')
            .ok_or_else(|| "an unclosed '(' in the transaction code".to_owned())?;
        code = Some(c.trim().to_owned()).filter(|c| !c.is_empty());
        rest = after.trim_start();
    }
    let description = rest.trim().to_owned();
    let payee = description
        .split_once('|')
        .map(|(p, _)| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    let mut tags = Tags::new();
    if let Some(c) = comment(text) {
        tags::add_from_comment(&mut tags, &c, false)?;
    }
    Ok(JTransaction {
        line,
        date,
        code,
        description,
        payee,
        postings: Vec::new(),
        status,
        tags,
    })
}

fn parse_posting(line: usize, body: &str, grouped: &[String]) -> Result<JPosting, String> {
    let memo = comment(body);
    let (status, s) = Status::strip(body.split_once(';').map_or(body, |(a, _)| a).trim_end());
    let end = match (s.find("  "), s.find('\t')) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(s.len()),
    };
    let (account, rest) = (s[..end].trim(), s[end..].trim());
    if account.starts_with('(') || account.starts_with('[') {
        return Err(format!("virtual posting {account} is not supported"));
    }
    model::validate_name(account)?;
    let (rest, assertion) = match rest.split_once('=') {
        None => (rest, None),
        Some((_, a)) if a.starts_with('=') || a.starts_with('*') => {
            return Err(
                "only single-commodity balance assertions (=) are supported, not == or =*".into(),
            );
        }
        Some((r, _)) if r.trim().is_empty() => {
            return Err("balance assignments are not supported; write the amount".into());
        }
        Some((r, a)) => (r.trim(), Some(parse_amount(a, grouped)?)),
    };
    let (amount, cost) = if rest.is_empty() {
        (None, None)
    } else if let Some((a, c)) = rest.split_once("@@") {
        let cost = JCost {
            total: true,
            amount: parse_amount(c, grouped)?,
        };
        (Some(parse_amount(a, grouped)?), Some(cost))
    } else if let Some((a, c)) = rest.split_once('@') {
        let cost = JCost {
            total: false,
            amount: parse_amount(c, grouped)?,
        };
        (Some(parse_amount(a, grouped)?), Some(cost))
    } else {
        (Some(parse_amount(rest, grouped)?), None)
    };
    let mut tags = Tags::new();
    if let Some(c) = &memo {
        tags::add_from_comment(&mut tags, c, true)?;
    }
    Ok(JPosting {
        line,
        account: account.to_owned(),
        amount,
        cost,
        memo,
        assertion,
        status,
        tags,
    })
}

/// Split a commodity symbol off the front of `s`: quoted, or a run of characters that
/// are not digits, signs, separators or spaces.
fn take_symbol(s: &str) -> Result<(&str, &str), String> {
    if let Some(q) = s.strip_prefix('"') {
        let (sym, rest) = q
            .split_once('"')
            .ok_or_else(|| "an unclosed '\"' in a commodity".to_owned())?;
        return Ok((sym, rest));
    }
    let end = s
        .find(|c: char| c.is_ascii_digit() || c.is_whitespace() || "-+.,;@=\"".contains(c))
        .unwrap_or(s.len());
    Ok((&s[..end], &s[end..]))
}

/// Parse `$-1,000.50`, `-$5`, `5 EUR`, `EUR 5`, `"AAPL" 3`.
pub fn parse_amount(text: &str, grouped: &[String]) -> Result<JAmount, String> {
    let bad = || {
        format!(
            "{:?} is not an amount (like $12.50, 12.50 EUR or EUR -3)",
            text.trim()
        )
    };
    let mut s = text.trim();
    let mut neg = false;
    if let Some(r) = s.strip_prefix('-') {
        neg = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    let (before, rest) = take_symbol(s)?;
    let mut rest = rest.trim_start();
    if !before.is_empty() {
        if let Some(r) = rest.strip_prefix('-') {
            if neg {
                return Err(bad());
            }
            neg = true;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('+') {
            rest = r;
        }
    }
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(rest.len());
    let (num, after) = rest.split_at(num_end);
    if num.is_empty() {
        return Err(bad());
    }
    let (after_sym, tail) = take_symbol(after.trim_start())?;
    if !tail.trim().is_empty() {
        return Err(bad());
    }
    let commodity = match (before.is_empty(), after_sym.is_empty()) {
        (false, true) => before,
        (true, false) => after_sym,
        (true, true) => {
            return Err(format!(
                "{:?} has no commodity; write it with one, like 12.50 EUR",
                text.trim()
            ));
        }
        (false, false) => return Err(bad()),
    };
    crate::amount::validate_commodity(commodity)?;
    let parsed = match Decimal::parse(num) {
        // `1,000` is thousands when the commodity directive groups thousands with ','.
        Err(e) if e.contains("ambiguous") && grouped.iter().any(|g| g == commodity) => {
            Decimal::parse(&num.replace(',', ""))
        }
        other => other,
    };
    let mut number = parsed.map_err(|e| if e.contains("ambiguous") { e } else { bad() })?;
    if neg {
        number.mantissa = -number.mantissa;
    }
    Ok(JAmount {
        commodity: commodity.to_owned(),
        number,
    })
}

fn parse_account(_line: usize, rest: &str) -> Result<JAccount, String> {
    let tag = comment(rest).and_then(|c| {
        c.split(',')
            .find_map(|t| t.trim().strip_prefix("type:").map(|v| v.trim().to_owned()))
    });
    let decl = rest.split_once(';').map_or(rest, |(a, _)| a).trim_end();
    let (name, code) = match decl.split_once("  ").or_else(|| decl.split_once('\t')) {
        Some((n, c)) => (n.trim(), Some(c.trim())),
        None => (decl.trim(), None),
    };
    model::validate_name(name)?;
    let kind = match tag.as_deref().or(code.filter(|c| !c.is_empty())) {
        Some(t) => Some(Kind::from_tag(t).ok_or_else(|| format!("unknown account type {t:?}"))?),
        None => None,
    };
    Ok(JAccount {
        line: _line,
        name: name.to_owned(),
        kind,
    })
}

/// `P 2024-12-31 USD 0.925 EUR` (hledger manual 1.25, "Declaring market prices").
fn parse_price(line: usize, rest: &str, grouped: &[String]) -> Result<JPrice, String> {
    let usage = "write a market price as `P 2024-12-31 USD 0.925 EUR` (P, a date, the commodity, its price)";
    let decl = strip_comment(rest);
    let (date_text, tail) = decl.split_once([' ', '\t']).unwrap_or((decl, ""));
    let date = Date::parse_loose(date_text)
        .ok_or_else(|| format!("{date_text:?} is not a date; {usage}"))?;
    let tail = tail.trim_start();
    if tail.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "a time or a number where the commodity belongs; {usage}"
        ));
    }
    let (symbol, price) = take_symbol(tail)?;
    if symbol.is_empty() || price.trim().is_empty() {
        return Err(format!("{decl:?} is incomplete; {usage}"));
    }
    crate::amount::validate_commodity(symbol)?;
    let price = parse_amount(price, grouped).map_err(|e| format!("{e}; {usage}"))?;
    if price.number.mantissa <= 0 {
        return Err(format!("a price must be positive; {usage}"));
    }
    if price.commodity == symbol {
        return Err(format!("{symbol} cannot be priced in itself; {usage}"));
    }
    Ok(JPrice {
        line,
        date,
        commodity: symbol.to_owned(),
        price,
    })
}

fn parse_commodity(line: usize, rest: &str) -> Result<JCommodity, String> {
    let decl = strip_comment(rest);
    if decl.chars().any(|c| c.is_ascii_digit()) {
        let a = parse_amount(decl, &[])?;
        return Ok(JCommodity {
            line,
            symbol: a.commodity,
            precision: Some(a.number.scale),
        });
    }
    let (symbol, tail) = take_symbol(decl)?;
    if !tail.trim().is_empty() || symbol.is_empty() {
        return Err(format!("{decl:?} is not a commodity declaration"));
    }
    crate::amount::validate_commodity(symbol)?;
    Ok(JCommodity {
        line,
        symbol: symbol.to_owned(),
        precision: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amt(s: &str) -> (String, i128, u32) {
        let a = parse_amount(s, &["$".to_string()]).unwrap();
        (a.commodity, a.number.mantissa, a.number.scale)
    }

    #[test]
    fn amounts_with_symbols_before_and_after() {
        assert_eq!(amt("$1,000.50"), ("$".into(), 100_050, 2));
        assert_eq!(amt("-$5"), ("$".into(), -5, 0));
        assert_eq!(amt("$-5.5"), ("$".into(), -55, 1));
        assert_eq!(amt("5 EUR"), ("EUR".into(), 5, 0));
        assert_eq!(amt("-12.30EUR"), ("EUR".into(), -1230, 2));
        assert_eq!(amt("EUR -3"), ("EUR".into(), -3, 0));
        assert_eq!(amt("\"AAPL\" 3"), ("AAPL".into(), 3, 0));
        assert_eq!(amt("€7"), ("€".into(), 7, 0));
        assert_eq!(amt("$1,500"), ("$".into(), 1500, 0));
        assert!(
            parse_amount("1,500 EUR", &[])
                .unwrap_err()
                .contains("ambiguous")
        );
        for bad in ["12", "$", "$5 EUR", "--5 EUR", "5 EUR x", "1.2.3 EUR"] {
            assert!(parse_amount(bad, &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_a_journal() {
        let text = "\
; a comment
commodity $1,000.00
account assets:bank  ; type: A
account stuff  ; type: X

2024/1/5=2024/1/6 * (42) Grocer | weekly  ; a note
    assets:bank    -$12.34  ; memo
    ! expenses:food\t$12.34
    ; indented comment

comment
anything at all
end comment
2024-02-01 Salary
    assets:bank  10 EUR @@ $11.00
    income:salary
P 2024-01-01 EUR $1.10
";
        let j = parse(text).unwrap();
        assert_eq!(j.accounts.len(), 2);
        assert_eq!(j.accounts[0].kind, Some(Kind::Asset));
        assert_eq!(j.accounts[1].kind, Some(Kind::Expense));
        assert_eq!(j.commodities[0].symbol, "$");
        assert_eq!(j.commodities[0].precision, Some(2));
        assert_eq!(j.transactions.len(), 2);
        let t = &j.transactions[0];
        assert_eq!((t.line, t.date.to_string()), (6, "2024-01-05".into()));
        assert_eq!(t.code.as_deref(), Some("42"));
        assert_eq!(t.description, "Grocer | weekly");
        assert_eq!(t.payee.as_deref(), Some("Grocer"));
        assert_eq!(t.postings.len(), 2);
        assert_eq!(t.postings[0].memo.as_deref(), Some("memo"));
        assert_eq!(t.postings[1].account, "expenses:food");
        assert_eq!(t.postings[1].line, 8);
        let s = &j.transactions[1];
        assert!(s.postings[0].cost.as_ref().unwrap().total);
        assert_eq!(s.postings[1].amount, None);
        let p = &j.prices[0];
        assert_eq!((p.line, p.date.to_string()), (17, "2024-01-01".into()));
        assert_eq!(
            (p.commodity.as_str(), p.price.commodity.as_str()),
            ("EUR", "$")
        );
        assert_eq!(p.price.number.text(), "1.10");
        let a = parse("2024-01-01 x\n    a  $1 = $1,000.00\n    b\n").unwrap();
        let asserted = a.transactions[0].postings[0].assertion.as_ref().unwrap();
        assert_eq!(
            (asserted.commodity.as_str(), asserted.number.mantissa),
            ("$", 100_000)
        );
    }

    #[test]
    fn keeps_tags_of_transactions_and_postings() {
        let text = "\
2024-01-05 Grocer  ; project: apollo
    ; client: ACME
    assets:bank    -$12.34  ; cc: 7, just a note
    ; kind: food
    expenses:food
";
        let j = parse(text).unwrap();
        let t = &j.transactions[0];
        let names = |m: &Tags| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&t.tags), ["client=ACME", "project=apollo"]);
        assert_eq!(names(&t.postings[0].tags), ["cc=7", "kind=food"]);
        assert!(t.postings[1].tags.is_empty());
        assert_eq!(t.postings[0].memo.as_deref(), Some("cc: 7, just a note"));
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line, what) in [
            ("2024-01-01 x\n    a  $1\n    b  $1 $\n", 3, "not an amount"),
            ("2024-13-01 x\n", 1, "not a date"),
            ("\n\n    a  $1\n", 3, "outside a transaction"),
            ("include other.journal\n", 1, "unsupported directive"),
            ("2024-01-01 x\n    (a)  $1\n", 2, "virtual posting"),
            ("2024-01-01 x\n    a  $1 == $5\n", 2, "not == or =*"),
            ("2024-01-01 x\n    a  = $5\n", 2, "balance assignments"),
            ("2024-01-01 x\n    a  12\n", 2, "no commodity"),
            ("\nP 2024-01-01 USD\n", 2, "is incomplete"),
            ("P 2024-13-01 USD 1 EUR\n", 1, "not a date"),
            ("\n\nP 2024-01-01 USD -1 EUR\n", 3, "must be positive"),
            ("P 2024-01-01 10:00 USD 1 EUR\n", 1, "a time or a number"),
            ("P 2024-01-01 USD 1 USD\n", 1, "priced in itself"),
            (
                "2024-01-01 x\n    a  $1  ; date: 2024-01-02\n",
                2,
                "posting dates",
            ),
            (
                "2024-01-01 x\n    a  $1\n    ; p: 1, p: 2\n",
                3,
                "given twice",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(&format!("line {line}: ")), "{err}");
            assert!(err.contains(what), "{err}");
        }
    }
}
