//! Completions: `record-completion`, `list-completions` and `import-completions`.
//! Completion records are appended, never changed; the latest pass counts for status.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::model::{Completion, Course, Source};
use crate::reports::{self, StatusRow};
use crate::roster::{course, employee};
use crate::store::{self, NewCompletion};
use crate::{csv, dates, today};

/// At most this many problems are listed when an import is refused.
const MAX_IMPORT_ERRORS: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Record {
    employee: String,
    course: String,
    #[serde(deserialize_with = "dates::strict")]
    date: Date,
    score: i64,
    #[serde(default)]
    certificate: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RecordOut {
    completion: Completion,
    status: StatusRow,
}

fn check_score(score: i64) -> Result<u8> {
    u8::try_from(score)
        .ok()
        .filter(|s| *s <= 100)
        .ok_or_else(|| Error::invalid(format!("score {score} is outside 0 to 100")))
}

fn not_in_future(date: Date, today: Date) -> std::result::Result<(), String> {
    if date > today {
        Err(format!(
            "{date} is after today ({today}); record completions once they have happened"
        ))
    } else {
        Ok(())
    }
}

/// `record-completion`: append one attempt; returns it and the pair's new status.
pub fn record_completion(i: Record) -> Result<RecordOut> {
    let score = check_score(i.score)?;
    let e = employee(&i.employee)?;
    let c = course(&i.course)?;
    let day = today();
    not_in_future(i.date, day).map_err(|why| Error::invalid(format!("date {why}")))?;
    let certificate = i
        .certificate
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let mut written = store::append_completions(vec![NewCompletion {
        employee: e.id.clone(),
        course: c.clone(),
        date: i.date,
        score,
        certificate,
        source: Source::Manual,
    }])?;
    let completion = written
        .pop()
        .ok_or_else(|| Error::internal("the completion was not written"))?;
    let status = reports::row_for(&e, &c, day)?;
    Ok(RecordOut { completion, status })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ListCompletions {
    #[serde(default)]
    employee: Option<String>,
    #[serde(default)]
    course: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CompletionList {
    completions: Vec<Completion>,
}

/// `list-completions`: the history, by employee, course and recording order.
pub fn list_completions(i: ListCompletions) -> Result<CompletionList> {
    Ok(CompletionList {
        completions: store::completions(i.employee.as_deref(), i.course.as_deref())?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Import {
    csv: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImportOut {
    imported: usize,
    passed: usize,
    failed: usize,
    first_id: Option<String>,
    last_id: Option<String>,
}

/// `import-completions`: every row or none. Errors name the line and the field.
pub fn import_completions(i: Import) -> Result<ImportOut> {
    let refuse = |errors: Vec<String>| {
        Error::invalid(format!("nothing was imported: {}", errors.join("; ")))
    };
    let rows = csv::rows(&i.csv, MAX_IMPORT_ERRORS).map_err(refuse)?;
    let day = today();
    let mut courses: BTreeMap<String, Option<Course>> = BTreeMap::new();
    let mut known_employees: BTreeMap<String, bool> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut new = Vec::with_capacity(rows.len());
    for r in rows {
        let mut problem = |field: &str, why: String| {
            errors.push(format!("line {}, field {field}: {why}", r.line));
        };
        let known = match known_employees.get(&r.employee) {
            Some(k) => *k,
            None => {
                let k = store::employee(&r.employee)?.is_some();
                known_employees.insert(r.employee.clone(), k);
                k
            }
        };
        if !known {
            problem(
                "employee",
                format!(
                    "no employee {}; add them with set-employee first",
                    r.employee
                ),
            );
        }
        if !courses.contains_key(&r.course) {
            courses.insert(r.course.clone(), store::course(&r.course)?);
        }
        let c = courses.get(&r.course).cloned().flatten();
        if c.is_none() {
            problem(
                "course",
                format!("no course {}; create it with set-course first", r.course),
            );
        }
        if let Err(why) = not_in_future(r.date, day) {
            problem("date", why);
        }
        if let (Some(course), true) = (c, known) {
            new.push(NewCompletion {
                employee: r.employee,
                course,
                date: r.date,
                score: r.score,
                certificate: r.certificate,
                source: Source::Import,
            });
        }
        if errors.len() >= MAX_IMPORT_ERRORS {
            break;
        }
    }
    if !errors.is_empty() {
        errors.truncate(MAX_IMPORT_ERRORS);
        return Err(refuse(errors));
    }
    let written = store::append_completions(new)?;
    let passed = written.iter().filter(|c| c.passed).count();
    Ok(ImportOut {
        imported: written.len(),
        passed,
        failed: written.len() - passed,
        first_id: written.first().map(|c| c.id.clone()),
        last_id: written.last().map(|c| c.id.clone()),
    })
}
