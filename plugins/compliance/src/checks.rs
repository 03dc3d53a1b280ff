//! The built-in checks as pure functions over the data other plugins return, unit
//! tested natively. Each returns the findings it sees now; the caller dedupes them
//! by (check, key) and resolves what is no longer seen.

use std::collections::BTreeMap;

use backoffice_sdk::Date;
use backoffice_sdk::compliance::{Finding, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Built-in check names.
pub const SEGREGATION: &str = "segregation-of-duties";
pub const THRESHOLD: &str = "approval-threshold";
pub const MINIMUM_WAGE: &str = "minimum-wage";
pub const TRAINING: &str = "training";
pub const LEDGER_INTEGRITY: &str = "ledger-integrity";

/// A statutory minimum hourly wage from a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MinimumWage {
    pub country: String,
    pub from: Date,
    /// Minor units per hour.
    pub hourly_rate: i64,
    pub currency: String,
    /// Where the figure comes from.
    pub source: String,
}

/// Default minimum wages, adult rates, from the official sources named.
pub fn default_minimum_wages() -> Vec<MinimumWage> {
    let w = |country: &str, from: &str, rate: i64, currency: &str, source: &str| MinimumWage {
        country: country.into(),
        from: Date::parse(from).expect("valid date"),
        hourly_rate: rate,
        currency: currency.into(),
        source: source.into(),
    };
    vec![
        w(
            "US",
            "2009-07-24",
            725,
            "USD",
            "Fair Labor Standards Act section 6(a)(1), 29 U.S.C. 206: federal minimum wage $7.25 from 24 July 2009 (states may set more)",
        ),
        w(
            "GB",
            "2025-04-01",
            1221,
            "GBP",
            "The National Minimum Wage (Amendment) Regulations 2025: National Living Wage (21 and over) GBP 12.21 from 1 April 2025",
        ),
        w(
            "GB",
            "2026-04-01",
            1271,
            "GBP",
            "The National Minimum Wage (Amendment) Regulations 2026: National Living Wage (21 and over) GBP 12.71 from 1 April 2026",
        ),
        w(
            "DE",
            "2025-01-01",
            1282,
            "EUR",
            "Vierte Verordnung zur Anpassung der Hoehe des Mindestlohns (2023): EUR 12.82 from 1 January 2025",
        ),
        w(
            "DE",
            "2026-01-01",
            1390,
            "EUR",
            "Fuenfte Verordnung zur Anpassung der Hoehe des Mindestlohns (2025): EUR 13.90 from 1 January 2026",
        ),
    ]
}

/// The minimum wage in force in `country` on `date`.
pub fn minimum_wage_on<'a>(
    table: &'a [MinimumWage],
    country: &str,
    date: Date,
) -> Option<&'a MinimumWage> {
    table
        .iter()
        .filter(|w| w.country == country && w.from <= date)
        .max_by_key(|w| w.from)
}

/// An employee as the payroll plugin returns it (the fields this check reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Employee {
    pub id: String,
    pub name: String,
    pub country: String,
    pub currency: String,
    pub basis: String,
    pub rate: i64,
    pub effective_date: Date,
    #[serde(default)]
    pub end_date: Option<Date>,
}

/// Hourly employees paid below the minimum wage in force on `today` (or on their
/// record's effective date, when that is later).
pub fn minimum_wage(table: &[MinimumWage], employees: &[Employee], today: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in employees {
        if e.basis != "hourly" || e.end_date.is_some_and(|end| end < today) {
            continue;
        }
        let on = e.effective_date.max(today);
        let Some(min) = minimum_wage_on(table, &e.country, on) else {
            continue;
        };
        if min.currency == e.currency && e.rate < min.hourly_rate {
            out.push(Finding {
                key: format!("employee:{}", e.id),
                summary: format!(
                    "{} ({}) is paid {} {}/h, below the {} minimum wage of {} {}/h in force on {on}",
                    e.name,
                    e.id,
                    minor(e.rate),
                    e.currency,
                    e.country,
                    minor(min.hourly_rate),
                    min.currency
                ),
                severity: None,
                evidence: json!({"employee": e.id, "country": e.country, "hourly-rate": e.rate,
                                 "minimum": min.hourly_rate, "currency": e.currency,
                                 "on": on, "source": min.source}),
            });
        }
    }
    out
}

fn minor(amount: i64) -> String {
    format!("{}.{:02}", amount / 100, (amount % 100).abs())
}

/// A posted pay run created and approved by the same person.
pub fn payroll_segregation(run: &Value) -> Option<Finding> {
    let creator = run["created-by"].as_str()?;
    let approver = run["approved-by"].as_str()?;
    let id = run["id"].as_str().or_else(|| run["run"].as_str())?;
    (creator == approver).then(|| Finding {
        key: format!("payroll-run:{id}"),
        summary: format!("pay run {id} was created and approved by the same person, {creator}"),
        severity: Some(Severity::High),
        evidence: json!({"run": id, "created-by": creator, "approved-by": approver,
                         "approved-at": run["approved-at"], "pay-date": run["pay-date"]}),
    })
}

/// The largest amount per currency an entry moves: the sum of its debits.
pub fn entry_amounts(entry: &Value) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for p in entry["postings"].as_array().into_iter().flatten() {
        if let (Some(c), Some(a)) = (p["currency"].as_str(), p["amount"].as_i64())
            && a > 0
        {
            *out.entry(c.to_string()).or_default() += a;
        }
    }
    out
}

/// An approval of a ledger entry recorded in the compliance plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Approval {
    pub entry: String,
    pub approved_by: String,
    pub approved_at: String,
}

/// Threshold and segregation findings of one ledger entry: above a threshold with
/// no approval by someone other than the poster, and approved by its own poster.
pub fn entry_findings(
    entry: &Value,
    thresholds: &BTreeMap<String, i64>,
    approvals: &[Approval],
) -> Vec<(&'static str, Finding)> {
    let Some(id) = entry["id"].as_str() else {
        return Vec::new();
    };
    let poster = entry["posted-by"].as_str().unwrap_or("unknown");
    let over: Vec<(String, i64, i64)> = entry_amounts(entry)
        .into_iter()
        .filter_map(|(c, a)| thresholds.get(&c).filter(|t| a > **t).map(|t| (c, a, *t)))
        .collect();
    if over.is_empty() {
        return Vec::new();
    }
    let evidence = json!({"entry": id, "date": entry["date"], "posted-by": poster,
                          "amounts": over.iter().map(|(c, a, t)| json!({"currency": c, "amount": a, "threshold": t})).collect::<Vec<_>>(),
                          "approvals": approvals});
    let mut out = Vec::new();
    if !approvals.iter().any(|a| a.approved_by != poster) {
        out.push((
            THRESHOLD,
            Finding {
                key: format!("ledger-entry:{id}"),
                summary: format!(
                    "ledger entry {id} ({}) is above the approval threshold and has no second approver",
                    over.iter()
                        .map(|(c, a, _)| format!("{} {c}", minor(*a)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                severity: None,
                evidence: evidence.clone(),
            },
        ));
    }
    if approvals.iter().any(|a| a.approved_by == poster) {
        out.push((
            SEGREGATION,
            Finding {
                key: format!("ledger-entry:{id}"),
                summary: format!(
                    "ledger entry {id} above the approval threshold was posted and approved by the same person, {poster}"
                ),
                severity: Some(Severity::High),
                evidence,
            },
        ));
    }
    out
}

/// Training rows (from the training plugin's `status`) that are expired or overdue.
pub fn training(rows: &[Value]) -> Vec<Finding> {
    rows.iter()
        .filter(|r| matches!(r["status"].as_str(), Some("expired" | "overdue")))
        .filter_map(|r| {
            let (emp, course, status) = (
                r["employee"].as_str()?,
                r["course"].as_str()?,
                r["status"].as_str()?,
            );
            Some(Finding {
                key: format!("training:{emp}:{course}"),
                summary: format!(
                    "{} ({emp}), {}, must hold course {course} ({}), which is {status}",
                    r["employee-name"].as_str().unwrap_or(emp),
                    r["job-role"].as_str().unwrap_or("-"),
                    r["course-title"].as_str().unwrap_or(course)
                ),
                severity: Some(if status == "expired" {
                    Severity::High
                } else {
                    Severity::Medium
                }),
                evidence: json!({"employee": emp, "course": course, "status": status,
                                 "department": r["department"], "due-date": r["due-date"],
                                 "expiry-date": r["expiry-date"], "last-completed": r["last-completed"]}),
            })
        })
        .collect()
}

/// Ledger integrity: entry ids must run e-000001, e-000002, ... without a gap, and
/// the trial balance must balance per currency.
pub fn ledger_integrity(ids: &[u64], trial: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut expected = 1;
    for &id in ids {
        if id > expected {
            out.push(Finding {
                key: format!("ledger:gap:e-{expected:06}"),
                summary: format!(
                    "ledger entries e-{expected:06} to e-{:06} are missing: the books have a gap",
                    id - 1
                ),
                severity: Some(Severity::Critical),
                evidence: json!({"missing-from": format!("e-{expected:06}"), "missing-to": format!("e-{:06}", id - 1)}),
            });
        }
        expected = id + 1;
    }
    if trial["balanced"] == Value::Bool(false) {
        out.push(Finding {
            key: "ledger:imbalance".into(),
            summary: "the trial balance does not balance: debits and credits differ".into(),
            severity: Some(Severity::Critical),
            evidence: json!({"debit": trial["debit"], "credit": trial["credit"]}),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn minimum_wage_by_country_and_date() {
        let table = default_minimum_wages();
        assert_eq!(
            minimum_wage_on(&table, "DE", d("2025-12-31"))
                .unwrap()
                .hourly_rate,
            1282
        );
        assert_eq!(
            minimum_wage_on(&table, "DE", d("2026-01-01"))
                .unwrap()
                .hourly_rate,
            1390
        );
        assert!(minimum_wage_on(&table, "FR", d("2026-01-01")).is_none());
        let emp = |id: &str, rate, basis: &str| Employee {
            id: id.into(),
            name: id.into(),
            country: "DE".into(),
            currency: "EUR".into(),
            basis: basis.into(),
            rate,
            effective_date: d("2025-06-01"),
            end_date: None,
        };
        let found = minimum_wage(
            &table,
            &[
                emp("low", 1300, "hourly"),
                emp("ok", 1400, "hourly"),
                emp("salaried", 1, "salary"),
            ],
            d("2026-02-01"),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "employee:low");
        assert!(found[0].summary.contains("13.90"), "{}", found[0].summary);
    }

    #[test]
    fn entries_above_the_threshold_need_a_second_approver() {
        let entry = json!({"id": "e-000007", "date": "2026-01-05", "posted-by": "carol",
            "postings": [{"account": "expenses:rent", "amount": 2_000_000, "currency": "EUR"},
                         {"account": "assets:bank", "amount": -2_000_000, "currency": "EUR"}]});
        let limits = BTreeMap::from([("EUR".to_string(), 1_000_000)]);
        let found = entry_findings(&entry, &limits, &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, THRESHOLD);
        let own = Approval {
            entry: "e-000007".into(),
            approved_by: "carol".into(),
            approved_at: "2026-01-05T10:00:00Z".into(),
        };
        let found = entry_findings(&entry, &limits, std::slice::from_ref(&own));
        assert_eq!(
            found.iter().map(|f| f.0).collect::<Vec<_>>(),
            [THRESHOLD, SEGREGATION]
        );
        let other = Approval {
            approved_by: "dave".into(),
            ..own
        };
        assert!(entry_findings(&entry, &limits, &[other]).is_empty());
        let small = BTreeMap::from([("EUR".to_string(), 5_000_000)]);
        assert!(entry_findings(&entry, &small, &[]).is_empty());
    }

    #[test]
    fn gaps_and_imbalances() {
        let found = ledger_integrity(&[1, 2, 5, 6], &json!({"balanced": true}));
        assert_eq!(found.len(), 1);
        assert!(found[0].summary.contains("e-000003 to e-000004"));
        assert_eq!(
            ledger_integrity(&[1, 2], &json!({"balanced": false})).len(),
            1
        );
        assert!(ledger_integrity(&[1, 2, 3], &json!({"balanced": true})).is_empty());
    }

    #[test]
    fn payroll_and_training() {
        let same = json!({"run": "r-000001", "created-by": "a", "approved-by": "a"});
        assert!(payroll_segregation(&same).is_some());
        let diff = json!({"run": "r-000001", "created-by": "a", "approved-by": "b"});
        assert!(payroll_segregation(&diff).is_none());
        let rows = [
            json!({"employee": "E1", "course": "AML", "status": "overdue"}),
            json!({"employee": "E2", "course": "AML", "status": "valid"}),
            json!({"employee": "E3", "course": "AML", "status": "expired"}),
        ];
        let found = training(&rows);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].severity, Some(Severity::High));
    }
}
