//! Bank statements as CSV (RFC 4180: fields separated by a delimiter, double quotes
//! around fields that hold the delimiter, quotes or line breaks, `""` for a quote),
//! read through a saved [`Mapping`] of columns. Every error names the file's line.

use backoffice_sdk::{Currency, Date, Money};
use serde::{Deserialize, Serialize};

use crate::model::ParsedLine;

/// Which column holds what, counted from 1, and how dates and amounts are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Mapping {
    pub name: String,
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Rows before the first line of data (headers); 1 by default.
    #[serde(default = "one")]
    pub skip_rows: usize,
    pub date_column: usize,
    /// `YYYY-MM-DD`, `DD/MM/YYYY`, `MM/DD/YYYY`, `DD.MM.YYYY` or `YYYYMMDD`.
    pub date_format: String,
    /// `.` or `,`.
    #[serde(default = "dot")]
    pub decimal_separator: String,
    /// Grouping characters to drop from amounts (`,` in `1,234.56`); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thousands_separator: Option<String>,
    /// A signed amount: money in positive, out negative. Or else:
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_column: Option<usize>,
    /// money out (debit to the bank account holder) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit_column: Option<usize>,
    /// ... and money in, each unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_column: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_column: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty_column: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_column: Option<usize>,
    /// The bank's own unique reference of the line, if the export has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_reference_column: Option<usize>,
}

fn comma() -> String {
    ",".to_owned()
}
fn dot() -> String {
    ".".to_owned()
}
fn one() -> usize {
    1
}

pub const DATE_FORMATS: &[&str] = &[
    "YYYY-MM-DD",
    "DD/MM/YYYY",
    "MM/DD/YYYY",
    "DD.MM.YYYY",
    "YYYYMMDD",
];

impl Mapping {
    /// Refuse a mapping that could not read a file.
    pub fn check(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty()
            || name.len() > 100
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "mapping name {:?} must be 1 to 100 letters, digits, '-', '_' or '.'",
                self.name
            ));
        }
        if self.delimiter.chars().count() != 1 || self.delimiter == "\"" {
            return Err(format!(
                "delimiter {:?} must be one character other than '\"' (',', ';' or a tab)",
                self.delimiter
            ));
        }
        if !DATE_FORMATS.contains(&self.date_format.as_str()) {
            return Err(format!(
                "date-format {:?} is not one of {}",
                self.date_format,
                DATE_FORMATS.join(", ")
            ));
        }
        if self.decimal_separator != "." && self.decimal_separator != "," {
            return Err(format!(
                "decimal-separator {:?} must be \".\" or \",\"",
                self.decimal_separator
            ));
        }
        if let Some(t) = &self.thousands_separator
            && (t.chars().count() != 1 || *t == self.decimal_separator)
        {
            return Err(format!(
                "thousands-separator {t:?} must be one character other than the decimal separator"
            ));
        }
        match (self.amount_column, self.debit_column, self.credit_column) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            _ => {
                return Err(
                    "give either amount-column (signed) or both debit-column and credit-column"
                        .to_owned(),
                );
            }
        }
        let columns = [
            Some(self.date_column),
            self.amount_column,
            self.debit_column,
            self.credit_column,
            self.reference_column,
            self.counterparty_column,
            self.description_column,
            self.bank_reference_column,
        ];
        if columns.iter().flatten().any(|c| *c == 0 || *c > 1000) {
            return Err("columns are counted from 1 (at most 1000)".to_owned());
        }
        Ok(())
    }
}

/// One record of the file: its fields and the line it starts on (from 1).
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
    pub raw: String,
}

/// Split `text` into records (RFC 4180 section 2). Blank lines are left out.
pub fn records(text: &str, delimiter: char) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start_line = 1;
    let mut start_byte = 0;
    let mut in_quotes = false;
    let mut quoted = false;
    let mut chars = text.char_indices().peekable();
    let finish = |fields: &mut Vec<String>,
                  field: &mut String,
                  out: &mut Vec<Record>,
                  start_line: usize,
                  raw: &str| {
        fields.push(std::mem::take(field));
        let f = std::mem::take(fields);
        if !(f.len() == 1 && f[0].is_empty()) {
            out.push(Record {
                line: start_line,
                fields: f,
                raw: raw.trim_end_matches(['\r', '\n']).to_owned(),
            });
        }
    };
    while let Some((i, c)) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek().map(|p| p.1) == Some('"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted => {
                in_quotes = true;
                quoted = true;
            }
            '"' => {
                return Err(format!(
                    "line {line}: a quote inside an unquoted field; quote the whole field and double the quote (\"\")"
                ));
            }
            c if c == delimiter => {
                fields.push(std::mem::take(&mut field));
                quoted = false;
            }
            '\r' if chars.peek().map(|p| p.1) == Some('\n') => {}
            '\n' => {
                finish(
                    &mut fields,
                    &mut field,
                    &mut out,
                    start_line,
                    &text[start_byte..i],
                );
                quoted = false;
                line += 1;
                start_line = line;
                start_byte = i + 1;
            }
            _ if quoted => {
                return Err(format!(
                    "line {line}: text after the closing quote of a field; put the delimiter right after the quote"
                ));
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!(
            "line {start_line}: a quoted field is not closed before the end of the file"
        ));
    }
    finish(
        &mut fields,
        &mut field,
        &mut out,
        start_line,
        &text[start_byte..],
    );
    Ok(out)
}

/// A date written as `format` (one of [`DATE_FORMATS`]).
pub fn parse_date(s: &str, format: &str) -> Option<Date> {
    let s = s.trim();
    if !s.is_ascii() {
        return None;
    }
    let num = |t: &str| -> Option<u32> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (y, m, d) = match format {
        "YYYY-MM-DD" => {
            let p: Vec<&str> = s.split('-').collect();
            (p.len() == 3 && p[0].len() == 4).then_some(())?;
            (num(p[0])?, num(p[1])?, num(p[2])?)
        }
        "DD/MM/YYYY" | "MM/DD/YYYY" | "DD.MM.YYYY" => {
            let sep = if format.contains('.') { '.' } else { '/' };
            let p: Vec<&str> = s.split(sep).collect();
            (p.len() == 3 && p[2].len() == 4).then_some(())?;
            if format.starts_with("MM") {
                (num(p[2])?, num(p[0])?, num(p[1])?)
            } else {
                (num(p[2])?, num(p[1])?, num(p[0])?)
            }
        }
        "YYYYMMDD" => {
            (s.len() == 8).then_some(())?;
            (num(&s[..4])?, num(&s[4..6])?, num(&s[6..])?)
        }
        _ => return None,
    };
    Date::new(
        u16::try_from(y).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(d).ok()?,
    )
}

/// An amount written with `mapping`'s separators, in minor units of `currency`;
/// empty is `None`.
fn parse_amount(s: &str, mapping: &Mapping, currency: Currency) -> Result<Option<i64>, String> {
    let mut t: String = s.trim().chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return Ok(None);
    }
    if let Some(sep) = &mapping.thousands_separator {
        t = t.replace(sep.as_str(), "");
    }
    if mapping.decimal_separator == "," {
        if t.contains('.') {
            return Err(format!(
                "amount {s:?} has a '.' but the mapping's decimal separator is ','"
            ));
        }
        t = t.replace(',', ".");
    } else if t.contains(',') {
        return Err(format!(
            "amount {s:?} has a ',' but the mapping's decimal separator is '.' (set thousands-separator if it groups digits)"
        ));
    }
    // A trailing minus (`12.50-`), as some banks write debits.
    if let Some(rest) = t.strip_suffix('-')
        && !rest.starts_with(['-', '+'])
    {
        t = format!("-{rest}");
    }
    Money::parse_in(&t, currency)
        .map(|m| Some(m.amount()))
        .map_err(|e| e.message().to_owned())
}

fn column<'a>(r: &'a Record, col: Option<usize>, what: &str) -> Result<&'a str, String> {
    match col {
        None => Ok(""),
        Some(c) => r.fields.get(c - 1).map(|f| f.trim()).ok_or_else(|| {
            format!(
                "line {}: has {} columns, but the mapping reads the {what} from column {c}",
                r.line,
                r.fields.len()
            )
        }),
    }
}

/// The lines of a CSV statement in `currency`, read with `mapping`. `line_offset` is
/// added to the line numbers of data rows (not of the header rows), in errors and
/// origins: a chunk of a larger file (`backoffice banking import`) names the file's
/// lines.
pub fn parse(
    text: &str,
    mapping: &Mapping,
    currency: Currency,
    line_offset: usize,
) -> Result<Vec<ParsedLine>, String> {
    let delimiter = mapping.delimiter.chars().next().unwrap_or(',');
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = records(text, delimiter)?;
    for r in records.iter_mut().skip(mapping.skip_rows) {
        r.line += line_offset;
    }
    let mut out = Vec::new();
    for r in records.iter().skip(mapping.skip_rows) {
        let at = |e: String| format!("line {}: {e}", r.line);
        let date_text = column(r, Some(mapping.date_column), "date")?;
        let date = parse_date(date_text, &mapping.date_format).ok_or_else(|| {
            at(format!(
                "date {date_text:?} (column {}) is not a date written {}",
                mapping.date_column, mapping.date_format
            ))
        })?;
        let amount = if let Some(c) = mapping.amount_column {
            parse_amount(column(r, Some(c), "amount")?, mapping, currency)
                .map_err(at)?
                .ok_or_else(|| at(format!("the amount (column {c}) is empty")))?
        } else {
            let debit = parse_amount(column(r, mapping.debit_column, "debit")?, mapping, currency)
                .map_err(at)?;
            let credit = parse_amount(
                column(r, mapping.credit_column, "credit")?,
                mapping,
                currency,
            )
            .map_err(at)?;
            match (debit, credit) {
                (None, None) => {
                    return Err(at(
                        "both the debit and the credit column are empty".to_owned()
                    ));
                }
                (d, c) => c
                    .unwrap_or(0)
                    .checked_abs()
                    .zip(d.unwrap_or(0).checked_abs())
                    .and_then(|(c, d)| c.checked_sub(d))
                    .ok_or_else(|| at("the amount is too large".to_owned()))?,
            }
        };
        let text_of = |c, what| column(r, c, what).map(str::to_owned);
        let bank_reference = text_of(mapping.bank_reference_column, "bank reference")?;
        out.push(ParsedLine {
            date,
            value_date: None,
            amount,
            reference: text_of(mapping.reference_column, "reference")?,
            bank_reference: (!bank_reference.is_empty()).then_some(bank_reference),
            counterparty: text_of(mapping.counterparty_column, "counterparty")?,
            description: text_of(mapping.description_column, "description")?,
            raw: r.raw.clone(),
            origin: format!("line {}", r.line),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        serde_json::from_value(serde_json::json!({
            "name": "hsbc", "date-column": 1, "date-format": "DD/MM/YYYY",
            "amount-column": 2, "reference-column": 3, "counterparty-column": 4,
            "description-column": 5
        }))
        .unwrap()
    }

    fn gbp() -> Currency {
        Currency::new("GBP").unwrap()
    }

    #[test]
    fn quoted_fields_and_line_numbers() {
        let r = records(
            "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\n\"two\nlines\",z\n",
            ',',
        )
        .unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].fields, vec!["x, y", "say \"hi\""]);
        assert_eq!(r[1].line, 2);
        assert_eq!(r[2].fields, vec!["two\nlines", "z"]);
        assert_eq!(r[2].line, 4, "blank line 3 is skipped but counted");
        let e = records("a,b\nc,\"open\n", ',').unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        let e = records("a,b\nc,d\"e\n", ',').unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
    }

    #[test]
    fn a_signed_amount_mapping() {
        let m = mapping();
        m.check().unwrap();
        let text = "Date,Amount,Reference,Payee,Memo\n05/01/2026,120.00,INV-2026-0001,Acme Retail Ltd,Faster payment\n06/01/2026,-4.5,,Coffee Shop,\n";
        let lines = parse(text, &m, gbp(), 0).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].date, Date::new(2026, 1, 5).unwrap());
        assert_eq!(lines[0].amount, 12_000);
        assert_eq!(lines[0].reference, "INV-2026-0001");
        assert_eq!(lines[0].counterparty, "Acme Retail Ltd");
        assert_eq!(lines[0].origin, "line 2");
        assert_eq!(
            lines[0].raw,
            "05/01/2026,120.00,INV-2026-0001,Acme Retail Ltd,Faster payment"
        );
        assert_eq!(lines[1].amount, -450);
    }

    #[test]
    fn debit_and_credit_columns_with_decimal_commas() {
        let m: Mapping = serde_json::from_value(serde_json::json!({
            "name": "sparkasse", "delimiter": ";", "skip-rows": 2, "date-column": 1,
            "date-format": "DD.MM.YYYY", "decimal-separator": ",", "thousands-separator": ".",
            "debit-column": 2, "credit-column": 3, "reference-column": 4
        }))
        .unwrap();
        m.check().unwrap();
        let text = "Kontoauszug\nDatum;Soll;Haben;Verwendungszweck\n02.01.2026;1.234,56;;Miete\n03.01.2026;;99,9;RE-17\n";
        let lines = parse(text, &m, Currency::new("EUR").unwrap(), 0).unwrap();
        assert_eq!(
            lines.iter().map(|l| l.amount).collect::<Vec<_>>(),
            vec![-123_456, 9_990]
        );
        assert_eq!(lines[1].origin, "line 4");
        // A chunk of a larger file: data rows name the file's lines, from 1001 here.
        let lines = parse(text, &m, Currency::new("EUR").unwrap(), 998).unwrap();
        assert_eq!(lines[0].origin, "line 1001");
        let bad = "Kontoauszug\nDatum;Soll;Haben;Verwendungszweck\n02.01.2026;1.234,56;;Miete\n31.02.2026;;1;x\n";
        let e = parse(bad, &m, Currency::new("EUR").unwrap(), 998).unwrap_err();
        assert!(e.starts_with("line 1002:"), "{e}");
    }

    #[test]
    fn bad_rows_are_refused_with_their_line() {
        let m = mapping();
        let bad = |text: &str, want: &[&str]| {
            let e = parse(text, &m, gbp(), 0).unwrap_err();
            for w in want {
                assert!(e.contains(w), "{e:?} lacks {w:?}");
            }
        };
        let head = "Date,Amount,Reference,Payee,Memo\n05/01/2026,1.00,a,b,c\n";
        bad(
            &format!("{head}2026-01-06,1.00,a,b,c\n"),
            &["line 3:", "not a date written DD/MM/YYYY"],
        );
        bad(
            &format!("{head}31/02/2026,1.00,a,b,c\n"),
            &["line 3:", "31/02/2026"],
        );
        bad(
            &format!("{head}06/01/2026,1.005,a,b,c\n"),
            &["line 3:", "more than 2 decimal places"],
        );
        bad(
            &format!("{head}06/01/2026,\"1,000.00\",a,b,c\n"),
            &["line 3:", "decimal separator is '.'"],
        );
        bad(
            &format!("{head}06/01/2026,,a,b,c\n"),
            &["line 3:", "amount (column 2) is empty"],
        );
        bad(
            &format!("{head}\n\n06/01/2026,1.00\n"),
            &["line 5:", "has 2 columns", "reference from column 3"],
        );
    }

    #[test]
    fn mappings_are_checked() {
        let mut m = mapping();
        m.debit_column = Some(3);
        assert!(m.check().unwrap_err().contains("either amount-column"));
        let mut m = mapping();
        m.date_format = "D/M/Y".into();
        assert!(m.check().unwrap_err().contains("YYYY-MM-DD"));
        let mut m = mapping();
        m.reference_column = Some(0);
        assert!(m.check().unwrap_err().contains("counted from 1"));
    }
}
