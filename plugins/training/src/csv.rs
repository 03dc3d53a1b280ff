//! The completions CSV: RFC 4180 records (quoted fields, `""` escapes, line breaks
//! inside quotes, CRLF or LF) and the check of each row's fields, with line numbers.

use jiff::civil::Date;

use crate::dates;
use crate::model::valid_id;

/// The columns, in any order, named in the header row.
pub const COLUMNS: [&str; 5] = ["employee", "course", "date", "score", "certificate"];

/// One record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The line of its first character.
    pub line: usize,
    /// Its fields.
    pub fields: Vec<String>,
}

/// Split `text` into records; blank lines are skipped.
pub fn records(text: &str) -> Result<Vec<Record>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        loop {
            match chars.next() {
                None => {
                    if quoted {
                        return Err(format!(
                            "line {start}: a quoted field is not closed; end it with '\"'"
                        ));
                    }
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('"') if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                        if !matches!(chars.peek(), None | Some(',' | '\r' | '\n')) {
                            return Err(format!(
                                "line {line}: text after a closing quote; quote the whole field and double quotes inside it (\"\")"
                            ));
                        }
                    }
                }
                Some('"') if field.is_empty() => quoted = true,
                Some('"') => {
                    return Err(format!(
                        "line {line}: a quote inside an unquoted field; quote the whole field and double quotes inside it (\"\")"
                    ));
                }
                Some('\n') if quoted => {
                    line += 1;
                    field.push('\n');
                }
                Some(c) if quoted => field.push(c),
                Some(',') => fields.push(std::mem::take(&mut field)),
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') => {
                    line += 1;
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some(c) => field.push(c),
            }
        }
        let blank = fields.len() == 1 && fields.first().is_some_and(|f| f.trim().is_empty());
        if !blank {
            out.push(Record {
                line: start,
                fields,
            });
        }
    }
    Ok(out)
}

/// A completion read from one row, checked for form only (the employee and course
/// are looked up by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Line number.
    pub line: usize,
    /// Employee id.
    pub employee: String,
    /// Course code.
    pub course: String,
    /// Date taken.
    pub date: Date,
    /// Score.
    pub score: u8,
    /// Certificate reference; `None` when the cell is empty.
    pub certificate: Option<String>,
}

/// Parse the CSV into rows. On failure, every problem found (at most `max_errors`),
/// each naming its line and field.
pub fn rows(text: &str, max_errors: usize) -> Result<Vec<Row>, Vec<String>> {
    let records = records(text).map_err(|e| vec![e])?;
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Err(vec![format!(
            "the file is empty; the first line must be the header {}",
            COLUMNS.join(",")
        )]);
    };
    let index = header_index(&header)?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for r in records {
        match row(&r, &index) {
            Ok(row) => out.push(row),
            Err(mut e) => errors.append(&mut e),
        }
        if errors.len() >= max_errors {
            errors.truncate(max_errors);
            break;
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The position of each of [`COLUMNS`] in the header.
fn header_index(header: &Record) -> Result<[usize; 5], Vec<String>> {
    let names: Vec<String> = header
        .fields
        .iter()
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    let mut errors = Vec::new();
    for n in &names {
        if !COLUMNS.contains(&n.as_str()) {
            errors.push(format!(
                "line {}: unknown column {n:?}; the columns are {}",
                header.line,
                COLUMNS.join(",")
            ));
        }
    }
    let mut index = [0; 5];
    for (slot, col) in index.iter_mut().zip(COLUMNS) {
        match names.iter().position(|n| n == col) {
            Some(i) if names.iter().filter(|n| *n == col).count() == 1 => *slot = i,
            Some(_) => errors.push(format!("line {}: column {col} appears twice", header.line)),
            None => errors.push(format!(
                "line {}: the header lacks the column {col}; it must name {}",
                header.line,
                COLUMNS.join(",")
            )),
        }
    }
    if errors.is_empty() {
        Ok(index)
    } else {
        Err(errors)
    }
}

fn row(r: &Record, index: &[usize; 5]) -> Result<Row, Vec<String>> {
    if r.fields.len() != COLUMNS.len() {
        return Err(vec![format!(
            "line {}: {} fields where the header has {}",
            r.line,
            r.fields.len(),
            COLUMNS.len()
        )]);
    }
    let cell = |i: usize| {
        index
            .get(i)
            .and_then(|&at| r.fields.get(at))
            .map(|s| s.trim())
            .unwrap_or("")
    };
    let mut errors = Vec::new();
    let mut problem = |field: &str, why: String| {
        errors.push(format!("line {}, field {field}: {why}", r.line));
    };
    let employee = cell(0);
    if !valid_id(employee) {
        problem(
            "employee",
            format!("{employee:?} is not an employee id (letters, digits, '.', '_', '-')"),
        );
    }
    let course = cell(1);
    if !valid_id(course) {
        problem(
            "course",
            format!("{course:?} is not a course code (letters, digits, '.', '_', '-')"),
        );
    }
    let date = dates::parse(cell(2));
    if let Err(why) = &date {
        problem("date", why.clone());
    }
    let score = cell(3).parse::<u8>().ok().filter(|s| *s <= 100);
    if score.is_none() {
        problem(
            "score",
            format!("{:?} is not a whole number from 0 to 100", cell(3)),
        );
    }
    let certificate = cell(4);
    if certificate.chars().count() > 200 {
        problem("certificate", "longer than 200 characters".to_string());
    }
    match (date, score) {
        (Ok(date), Some(score)) if errors.is_empty() => Ok(Row {
            line: r.line,
            employee: employee.to_owned(),
            course: course.to_owned(),
            date,
            score,
            certificate: (!certificate.is_empty()).then(|| certificate.to_owned()),
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "employee,course,date,score,certificate\n";

    #[test]
    fn splits_records_with_quotes_and_line_breaks() {
        let r = records("a,\"b,c\",\"say \"\"hi\"\"\"\r\n\n\"multi\nline\",x\nlast").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].fields, ["a", "b,c", "say \"hi\""]);
        assert_eq!(
            (r[1].line, r[1].fields.clone()),
            (3, vec!["multi\nline".to_string(), "x".into()])
        );
        assert_eq!(r[2].line, 5);
        assert!(
            records("a,\"open\nb")
                .unwrap_err()
                .starts_with("line 1: a quoted field is not closed")
        );
        assert!(
            records("ok\nab\"c\n")
                .unwrap_err()
                .starts_with("line 2: a quote inside")
        );
        assert!(
            records("\"a\"b\n")
                .unwrap_err()
                .starts_with("line 1: text after a closing quote")
        );
    }

    #[test]
    fn reads_rows_in_any_column_order() {
        let text = "Score , date,employee,certificate,course\n95,2026-01-05,E1,CERT-1,FIRE\n\n60,2026-01-06,E2,,FIRE\n";
        let rows = rows(text, 20).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].employee, "E1");
        assert_eq!(rows[0].score, 95);
        assert_eq!(rows[0].certificate.as_deref(), Some("CERT-1"));
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].certificate, None);
    }

    #[test]
    fn names_the_line_and_field_of_every_problem() {
        let text = format!(
            "{HEADER}E1,FIRE,2026-01-05,95,\nE 2,FIRE,2026-02-30,101,\nE3,FIRE,2026-01-05\nE4,FIRE,2026-01-05,abc,X\n"
        );
        let errors = rows(&text, 20).unwrap_err();
        assert_eq!(
            errors,
            [
                "line 3, field employee: \"E 2\" is not an employee id (letters, digits, '.', '_', '-')",
                "line 3, field date: \"2026-02-30\" is not a valid calendar date",
                "line 3, field score: \"101\" is not a whole number from 0 to 100",
                "line 4: 3 fields where the header has 5",
                "line 5, field score: \"abc\" is not a whole number from 0 to 100",
            ]
        );
        assert_eq!(rows(&text, 2).unwrap_err().len(), 2);
        assert_eq!(
            rows(&format!("{HEADER}E1,FIRE,2026-01-05,-1,\n"), 20).unwrap_err(),
            ["line 2, field score: \"-1\" is not a whole number from 0 to 100"]
        );
    }

    #[test]
    fn checks_the_header() {
        assert!(rows("", 20).unwrap_err()[0].starts_with("the file is empty"));
        let e = rows("employee,course,date,points\n", 20).unwrap_err();
        assert_eq!(
            e,
            [
                "line 1: unknown column \"points\"; the columns are employee,course,date,score,certificate",
                "line 1: the header lacks the column score; it must name employee,course,date,score,certificate",
                "line 1: the header lacks the column certificate; it must name employee,course,date,score,certificate",
            ]
        );
        assert!(
            rows("employee,employee,course,date,score,certificate\n", 20).unwrap_err()[0]
                .contains("appears twice")
        );
        assert_eq!(rows(HEADER, 20).unwrap(), vec![]);
    }
}
