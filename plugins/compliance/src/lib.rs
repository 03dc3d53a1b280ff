//! Compliance: built-in checks (segregation of duties, approval threshold, minimum
//! wage, training, ledger integrity) and checks contributed by other plugins through
//! `backoffice:compliance/checks`, run on events as they happen and by a daily full
//! scan. Findings are deduplicated by (check, key) and carry severity, evidence and a
//! status: open, acknowledged (with a reason), resolved. See
//! `docs/plugins/compliance.md` for every operation.
//!
//! Storage layout:
//!
//! | key | value |
//! |---|---|
//! | `f/<id>` | [`FindingRecord`] |
//! | `k/<check>/<key>` | the id of the finding for that check and key |
//! | `approval/<entry-id>/<n>` | [`checks::Approval`] of a ledger entry |
//! | `config` | [`Config`] stored by the deprecated `configure` (settings come first) |
//! | `seq/f` | last finding number |

use std::collections::{BTreeMap, BTreeSet};

use backoffice_sdk::compliance::{self, Finding, Severity, Subject};
use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub mod checks;

use checks::{
    Approval, LEDGER_INTEGRITY, MINIMUM_WAGE, MinimumWage, SEGREGATION, THRESHOLD, TRAINING,
};

/// The plugin.
pub struct Compliance;

impl Plugin for Compliance {
    fn operations() -> Operations {
        Operations::new()
            .op("get-config", get_config)
            .op("configure", configure)
            .op("list-checks", list_checks)
            .op("approve-entry", approve_entry)
            .op("run-scan", run_scan)
            .op("list-findings", list_findings)
            .op("get-finding", get_finding)
            .op("acknowledge", acknowledge)
            .op("resolve", resolve)
            .op("report", report)
    }

    fn on_event(topic: &str, payload: Value) -> Result<()> {
        let config = config()?;
        let today = context::today();
        match topic {
            "ledger.entry-posted" => {
                if let Some(id) = payload["id"].as_str() {
                    entry_checks(&config, &payload, &approvals(id)?)?;
                }
            }
            "payroll.run-approved" => {
                if let Some(id) = payload["run"].as_str() {
                    let found: Vec<Finding> =
                        checks::payroll_segregation(&payload).into_iter().collect();
                    record_all(
                        SEGREGATION,
                        &found,
                        Scope::Key(format!("payroll-run:{id}")),
                        &config,
                    )?;
                }
            }
            "payroll.employee-changed" => {
                if let Some(id) = payload["id"].as_str() {
                    let employee: Value =
                        plugins::call("payroll", "get-employee", &json!({"id": id}))?;
                    let e: checks::Employee = serde_json::from_value(employee["employee"].clone())
                        .map_err(|e| {
                            Error::internal(format!("unexpected employee from payroll: {e}"))
                        })?;
                    let found = checks::minimum_wage(&config.minimum_wages, &[e], today);
                    record_all(
                        MINIMUM_WAGE,
                        &found,
                        Scope::Key(format!("employee:{id}")),
                        &config,
                    )?;
                }
            }
            t if t.starts_with("training.") => {
                if let Some(emp) = payload["employee"].as_str() {
                    let found = checks::training(&training_problems(json!({"employee": emp}))?);
                    record_all(
                        TRAINING,
                        &found,
                        Scope::Prefix(format!("training:{emp}:")),
                        &config,
                    )?;
                }
            }
            _ => {}
        }
        // Contributed checks see every event this plugin receives; they only add or
        // refresh findings (a full scan resolves what they no longer see).
        let subject = Subject {
            trigger: topic.to_string(),
            payload,
            today: today.to_string(),
        };
        for c in compliance::contributed()? {
            let name = contributed_name(&c.plugin, &c.check.name);
            if config.disabled_checks.contains(&name) {
                continue;
            }
            let found = compliance::evaluate(&c.plugin, &c.check.name, &subject)?;
            record_contributed(&name, c.check.severity, &found, Scope::Seen)?;
        }
        Ok(())
    }

    fn run_job(job: &str, _payload: Value) -> Result<()> {
        match job {
            "daily-scan" => scan().map(|_| ()),
            other => Err(Error::not_found(format!("unknown job {other}"))),
        }
    }
}

backoffice_sdk::export_plugin!(Compliance);

// ---------------------------------------------------------------- configuration

/// Tenant configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Ledger entries moving more than this (minor units, per currency) need a
    /// second approver. No threshold for a currency: no check.
    #[serde(default)]
    pub approval_thresholds: BTreeMap<String, i64>,
    /// Minimum hourly wages by country and date.
    #[serde(default = "checks::default_minimum_wages")]
    pub minimum_wages: Vec<MinimumWage>,
    /// Checks not run: built-in names or `<plugin>:<check>`.
    #[serde(default)]
    pub disabled_checks: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            approval_thresholds: BTreeMap::new(),
            minimum_wages: checks::default_minimum_wages(),
            disabled_checks: Vec::new(),
        }
    }
}

/// Tenant setting (`[[settings]]` in plugin.toml): approval thresholds per currency.
pub const THRESHOLDS_SETTING: &str = "approval-thresholds";
/// Tenant setting: minimum wages by country and date.
pub const MINIMUM_WAGES_SETTING: &str = "minimum-wages";
/// Tenant setting: checks not run.
pub const DISABLED_SETTING: &str = "disabled-checks";

/// The tenant's value of a setting; the host checked it against the schema when it
/// was set, so a value that does not decode is only logged and skipped.
fn tenant_setting<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    context::setting_as::<T>(name).unwrap_or_else(|e| {
        log::warn(format!(
            "{e}; using the stored configuration or the default"
        ));
        None
    })
}

/// The configuration in force, key by key: the tenant setting, else what the
/// deprecated `configure` stored (before 0.1.3 the only way to configure), else the
/// default. The settings declare no default of their own so that a stored
/// configuration keeps applying until the tenant sets the setting.
fn config() -> Result<Config> {
    let stored = storage::get::<Config>("config")?.unwrap_or_default();
    Ok(Config {
        approval_thresholds: tenant_setting(THRESHOLDS_SETTING)
            .unwrap_or(stored.approval_thresholds),
        minimum_wages: tenant_setting(MINIMUM_WAGES_SETTING).unwrap_or(stored.minimum_wages),
        disabled_checks: tenant_setting(DISABLED_SETTING).unwrap_or(stored.disabled_checks),
    })
}

fn get_config(_: Empty) -> Result<Config> {
    config()
}

/// Deprecated since 0.1.3 (the tenant settings replace it; removed in 0.2): store a
/// configuration that applies to each key the tenant has not set. Returns the
/// configuration in force.
fn configure(input: Config) -> Result<Config> {
    for (currency, amount) in &input.approval_thresholds {
        Currency::new(currency)?;
        if *amount < 0 {
            return Err(Error::invalid(format!(
                "the approval threshold for {currency} must not be negative"
            )));
        }
    }
    for w in &input.minimum_wages {
        if w.hourly_rate <= 0 || w.country.len() != 2 {
            return Err(Error::invalid(format!(
                "minimum wage for {} from {}: give a two-letter country and a positive hourly-rate",
                w.country, w.from
            )));
        }
    }
    log::warn(
        "compliance: `configure` is deprecated and will be removed in 0.2; set the tenant settings approval-thresholds, minimum-wages and disabled-checks instead (`backoffice settings set --tenant T compliance KEY VALUE`)",
    );
    storage::put("config", &input)?;
    config()
}

// ---------------------------------------------------------------- findings

/// Status of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Open,
    Acknowledged,
    Resolved,
}

/// A stored finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FindingRecord {
    pub id: String,
    /// Built-in check name, or `<plugin>:<check>` for a contributed one.
    pub check: String,
    pub key: String,
    pub summary: String,
    pub severity: Severity,
    pub status: Status,
    pub evidence: Value,
    pub first_seen: String,
    pub last_seen: String,
    /// How many times the problem was seen.
    pub occurrences: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Which existing findings of a check an evaluation covers: those it did not see
/// again are resolved.
enum Scope {
    /// Every finding of the check (a full scan).
    All,
    /// Findings whose key starts with this.
    Prefix(String),
    /// The finding with exactly this key.
    Key(String),
    /// Only what was seen (nothing is resolved).
    Seen,
}

fn default_severity(check: &str) -> Severity {
    match check {
        SEGREGATION | LEDGER_INTEGRITY => Severity::High,
        THRESHOLD | MINIMUM_WAGE => Severity::High,
        _ => Severity::Medium,
    }
}

fn record_all(check: &str, found: &[Finding], scope: Scope, config: &Config) -> Result<()> {
    if config.disabled_checks.iter().any(|c| c == check) {
        return Ok(());
    }
    store_findings(check, default_severity(check), found, scope)
}

fn record_contributed(
    name: &str,
    severity: Severity,
    found: &[Finding],
    scope: Scope,
) -> Result<()> {
    store_findings(name, severity, found, scope)
}

fn contributed_name(plugin: &str, check: &str) -> String {
    format!("{plugin}:{check}")
}

fn index_key(check: &str, key: &str) -> String {
    format!("k/{check}/{key}")
}

fn caller_name() -> String {
    context::caller().id.unwrap_or_else(|| "system".into())
}

/// Record what a check saw: a new finding per new key, the existing one refreshed
/// (reopened when it was resolved), and findings in `scope` not seen resolved.
fn store_findings(check: &str, severity: Severity, found: &[Finding], scope: Scope) -> Result<()> {
    let now = context::now().to_rfc3339();
    let mut seen = BTreeSet::new();
    for f in found {
        seen.insert(f.key.clone());
        let index = index_key(check, &f.key);
        let existing = match storage::get::<String>(&index)? {
            Some(id) => storage::get::<FindingRecord>(&format!("f/{id}"))?,
            None => None,
        };
        let record = match existing {
            Some(mut r) => {
                if r.status == Status::Resolved {
                    r.status = Status::Open;
                    r.resolved_by = None;
                    r.resolved_at = None;
                }
                r.summary = f.summary.clone();
                r.evidence = f.evidence.clone();
                r.severity = f.severity.unwrap_or(severity);
                r.last_seen = now.clone();
                r.occurrences += 1;
                r
            }
            None => {
                let n = storage::get::<u64>("seq/f")?.unwrap_or(0) + 1;
                storage::put("seq/f", &n)?;
                let id = format!("f-{n:06}");
                storage::put(&index, &id)?;
                FindingRecord {
                    id,
                    check: check.to_string(),
                    key: f.key.clone(),
                    summary: f.summary.clone(),
                    severity: f.severity.unwrap_or(severity),
                    status: Status::Open,
                    evidence: f.evidence.clone(),
                    first_seen: now.clone(),
                    last_seen: now.clone(),
                    occurrences: 1,
                    acknowledged_by: None,
                    acknowledged_at: None,
                    reason: None,
                    resolved_by: None,
                    resolved_at: None,
                    note: None,
                }
            }
        };
        storage::put(&format!("f/{}", record.id), &record)?;
    }
    let prefix = match &scope {
        Scope::Seen => return Ok(()),
        Scope::All => String::new(),
        Scope::Prefix(p) | Scope::Key(p) => p.clone(),
    };
    let base = format!("k/{check}/");
    for item in storage::scan_prefix(&format!("{base}{prefix}")).iter::<String>() {
        let (k, id) = item?;
        let key = &k[base.len()..];
        if seen.contains(key) || matches!(&scope, Scope::Key(want) if want != key) {
            continue;
        }
        if let Some(mut r) = storage::get::<FindingRecord>(&format!("f/{id}"))?
            && r.status != Status::Resolved
        {
            r.status = Status::Resolved;
            r.resolved_by = Some("compliance".into());
            r.resolved_at = Some(now.clone());
            r.note = Some("no longer seen by the check".into());
            storage::put(&format!("f/{id}"), &r)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- ledger approvals

fn approvals(entry: &str) -> Result<Vec<Approval>> {
    Ok(storage::scan_prefix(&format!("approval/{entry}/"))
        .collect::<Approval>()?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

/// Whether `entry` is the posting of a pay run that two different people prepared
/// and approved (checked with the payroll plugin, not taken from the entry's
/// reference alone): the run's approval is the entry's second pair of eyes.
fn approved_pay_run(entry: &Value) -> Result<bool> {
    let reference = &entry["reference"];
    let (Some("payroll"), Some(run), Some(id)) = (
        reference["source"].as_str(),
        reference["document"].as_str(),
        entry["id"].as_str(),
    ) else {
        return Ok(false);
    };
    match plugins::call::<_, Value>("payroll", "get-run", &json!({"id": run})) {
        Ok(r) => Ok(r["ledger-entry"].as_str() == Some(id)
            && r["created-by"].is_string()
            && r["created-by"] != r["approved-by"]),
        Err(e) if skippable(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Threshold and segregation findings of one ledger entry.
fn entry_findings(
    config: &Config,
    entry: &Value,
    approvals: &[Approval],
) -> Result<Vec<(&'static str, Finding)>> {
    if config.approval_thresholds.is_empty() || approved_pay_run(entry)? {
        return Ok(Vec::new());
    }
    Ok(checks::entry_findings(
        entry,
        &config.approval_thresholds,
        approvals,
    ))
}

fn entry_checks(config: &Config, entry: &Value, approvals: &[Approval]) -> Result<()> {
    let Some(id) = entry["id"].as_str() else {
        return Ok(());
    };
    let found = entry_findings(config, entry, approvals)?;
    let of = |check: &str| -> Vec<Finding> {
        found
            .iter()
            .filter(|(c, _)| *c == check)
            .map(|(_, f)| f.clone())
            .collect()
    };
    let key = format!("ledger-entry:{id}");
    record_all(THRESHOLD, &of(THRESHOLD), Scope::Key(key.clone()), config)?;
    record_all(SEGREGATION, &of(SEGREGATION), Scope::Key(key), config)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ApproveEntry {
    entry: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ApprovedEntry {
    approval: Approval,
    approvals: Vec<Approval>,
}

/// Record the caller's approval of a ledger entry (the second pair of eyes for
/// entries above the threshold).
fn approve_entry(input: ApproveEntry) -> Result<ApprovedEntry> {
    let entry: Value = plugins::call("ledger", "get-entry", &json!({"id": input.entry}))?;
    let mut list = approvals(&input.entry)?;
    let who = caller_name();
    if list.iter().any(|a| a.approved_by == who) {
        return Err(Error::conflict(format!(
            "{who} already approved ledger entry {}",
            input.entry
        )));
    }
    let approval = Approval {
        entry: input.entry.clone(),
        approved_by: who,
        approved_at: context::now().to_rfc3339(),
    };
    storage::put(
        &format!("approval/{}/{:04}", input.entry, list.len() + 1),
        &approval,
    )?;
    list.push(approval.clone());
    entry_checks(&config()?, &entry, &list)?;
    Ok(ApprovedEntry {
        approval,
        approvals: list,
    })
}

// ---------------------------------------------------------------- full scan

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ScanResult {
    /// Checks run.
    checks: Vec<String>,
    /// Checks skipped, with why (e.g. the plugin they read is not enabled).
    skipped: Vec<String>,
    /// Open and acknowledged findings after the scan.
    open: u64,
}

/// A check's data source failing because its plugin is not enabled or installed
/// skips the check; anything else fails the scan.
fn skippable(e: &Error) -> bool {
    matches!(e, Error::Forbidden(_) | Error::NotFound(_))
}

/// The expired and overdue rows of the training plugin's `status` for `filter`,
/// read page by page.
fn training_problems(mut filter: Value) -> Result<Vec<Value>> {
    filter["status"] = json!(["expired", "overdue"]);
    filter["limit"] = json!(5000);
    let mut rows = Vec::new();
    loop {
        let page: Value = plugins::call("training", "status", &filter)?;
        rows.extend(page["rows"].as_array().cloned().unwrap_or_default());
        match page["next-cursor"].as_str() {
            Some(cursor) => filter["cursor"] = json!(cursor),
            None => return Ok(rows),
        }
    }
}

fn scan() -> Result<ScanResult> {
    let config = config()?;
    let today = context::today();
    let mut out = ScanResult::default();
    let mut step = |name: &str, run: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        if config.disabled_checks.iter().any(|c| c == name) {
            out.skipped.push(format!("{name}: disabled"));
            return Ok(());
        }
        match run() {
            Ok(()) => {
                out.checks.push(name.to_string());
                Ok(())
            }
            Err(e) if skippable(&e) => {
                out.skipped.push(format!("{name}: {e}"));
                Ok(())
            }
            Err(e) => Err(e),
        }
    };

    step(SEGREGATION, &mut || {
        let runs: Value = plugins::call("payroll", "list-runs", &json!({"status": "posted"}))?;
        let found: Vec<Finding> = runs["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(checks::payroll_segregation)
            .collect();
        store_findings(
            SEGREGATION,
            Severity::High,
            &found,
            Scope::Prefix("payroll-run:".into()),
        )
    })?;
    step(THRESHOLD, &mut || {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        let mut all_threshold = Vec::new();
        let mut all_sod = Vec::new();
        loop {
            let mut input = json!({"what": "entries", "format": "json", "limit": 5000});
            if let Some(c) = &cursor {
                input["cursor"] = json!(c);
            }
            let page: Value = plugins::call("ledger", "export", &input)?;
            for e in page["data"].as_array().into_iter().flatten() {
                let Some(id) = e["id"].as_str() else { continue };
                if let Some(n) = id.strip_prefix("e-").and_then(|n| n.parse::<u64>().ok()) {
                    ids.push(n);
                }
                for (check, f) in entry_findings(&config, e, &approvals(id)?)? {
                    if check == THRESHOLD {
                        all_threshold.push(f);
                    } else {
                        all_sod.push(f);
                    }
                }
            }
            match page["next-cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        store_findings(THRESHOLD, Severity::High, &all_threshold, Scope::All)?;
        store_findings(
            SEGREGATION,
            Severity::High,
            &all_sod,
            Scope::Prefix("ledger-entry:".into()),
        )?;
        let trial: Value = plugins::call("ledger", "trial-balance", &json!({}))?;
        let found = checks::ledger_integrity(&ids, &trial);
        store_findings(LEDGER_INTEGRITY, Severity::Critical, &found, Scope::All)
    })?;
    step(MINIMUM_WAGE, &mut || {
        let list: Value = plugins::call("payroll", "list-employees", &json!({}))?;
        let employees: Vec<checks::Employee> = serde_json::from_value(list["employees"].clone())
            .map_err(|e| Error::internal(format!("unexpected employees from payroll: {e}")))?;
        let found = checks::minimum_wage(&config.minimum_wages, &employees, today);
        store_findings(MINIMUM_WAGE, Severity::High, &found, Scope::All)
    })?;
    step(TRAINING, &mut || {
        store_findings(
            TRAINING,
            Severity::Medium,
            &checks::training(&training_problems(json!({}))?),
            Scope::All,
        )
    })?;
    let subject = Subject {
        trigger: "scan".into(),
        payload: json!({}),
        today: today.to_string(),
    };
    for c in compliance::contributed()? {
        let name = contributed_name(&c.plugin, &c.check.name);
        step(&name, &mut || {
            let found = compliance::evaluate(&c.plugin, &c.check.name, &subject)?;
            store_findings(&name, c.check.severity, &found, Scope::All)
        })?;
    }
    out.open = storage::scan_prefix("f/")
        .iter::<FindingRecord>()
        .filter(|r| r.as_ref().is_ok_and(|(_, r)| r.status != Status::Resolved))
        .count() as u64;
    Ok(out)
}

fn run_scan(_: Empty) -> Result<ScanResult> {
    scan()
}

// ---------------------------------------------------------------- operations

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct CheckRow {
    name: String,
    source: String,
    description: String,
    severity: Severity,
    enabled: bool,
}

#[derive(Debug, Serialize)]
struct CheckList {
    checks: Vec<CheckRow>,
}

fn list_checks(_: Empty) -> Result<CheckList> {
    let config = config()?;
    let builtin = [
        (
            SEGREGATION,
            "The same person created and approved a pay run, or posted and approved a ledger entry above the threshold.",
        ),
        (
            THRESHOLD,
            "A ledger entry above the tenant's approval threshold without a second approver.",
        ),
        (
            MINIMUM_WAGE,
            "An hourly rate below the minimum wage of the employee's country on the date.",
        ),
        (
            TRAINING,
            "An employee whose role requires a course that is expired or overdue.",
        ),
        (
            LEDGER_INTEGRITY,
            "A gap in the ledger's entry numbers or a trial balance that does not balance.",
        ),
    ];
    let mut checks: Vec<CheckRow> = builtin
        .into_iter()
        .map(|(name, description)| CheckRow {
            name: name.into(),
            source: "built-in".into(),
            description: description.into(),
            severity: default_severity(name),
            enabled: !config.disabled_checks.iter().any(|c| c == name),
        })
        .collect();
    for c in compliance::contributed()? {
        let name = contributed_name(&c.plugin, &c.check.name);
        checks.push(CheckRow {
            enabled: !config.disabled_checks.contains(&name),
            name,
            source: c.plugin,
            description: c.check.description,
            severity: c.check.severity,
        });
    }
    Ok(CheckList { checks })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Filter {
    #[serde(default)]
    status: Option<Vec<Status>>,
    #[serde(default)]
    severity: Option<Vec<Severity>>,
    #[serde(default)]
    check: Option<String>,
}

fn findings(filter: &Filter) -> Result<Vec<FindingRecord>> {
    let mut out = Vec::new();
    for item in storage::scan_prefix("f/").iter::<FindingRecord>() {
        let (_, r) = item?;
        if filter
            .status
            .as_ref()
            .is_some_and(|s| !s.contains(&r.status))
            || filter
                .severity
                .as_ref()
                .is_some_and(|s| !s.contains(&r.severity))
            || filter.check.as_ref().is_some_and(|c| *c != r.check)
        {
            continue;
        }
        out.push(r);
    }
    // Most severe first, then newest.
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.last_seen.cmp(&a.last_seen))
    });
    Ok(out)
}

#[derive(Debug, Serialize)]
struct Findings {
    findings: Vec<FindingRecord>,
}

fn list_findings(filter: Filter) -> Result<Findings> {
    Ok(Findings {
        findings: findings(&filter)?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FindingId {
    id: String,
}

fn load(id: &str) -> Result<FindingRecord> {
    storage::get::<FindingRecord>(&format!("f/{id}"))?
        .ok_or_else(|| Error::not_found(format!("finding {id} does not exist")))
}

fn get_finding(input: FindingId) -> Result<FindingRecord> {
    load(&input.id)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Acknowledge {
    id: String,
    #[serde(default)]
    reason: Option<String>,
}

fn acknowledge(input: Acknowledge) -> Result<FindingRecord> {
    let reason = input
        .reason
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            Error::invalid(format!(
                "acknowledging finding {} needs a reason: say why it is accepted, e.g. \"approved by the board on 2026-01-12\"",
                input.id
            ))
        })?;
    let mut r = load(&input.id)?;
    if r.status == Status::Resolved {
        return Err(Error::conflict(format!(
            "finding {} is resolved; there is nothing to acknowledge",
            r.id
        )));
    }
    r.status = Status::Acknowledged;
    r.acknowledged_by = Some(caller_name());
    r.acknowledged_at = Some(context::now().to_rfc3339());
    r.reason = Some(reason);
    storage::put(&format!("f/{}", r.id), &r)?;
    Ok(r)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Resolve {
    id: String,
    #[serde(default)]
    note: Option<String>,
}

fn resolve(input: Resolve) -> Result<FindingRecord> {
    let mut r = load(&input.id)?;
    if r.status == Status::Resolved {
        return Err(Error::conflict(format!(
            "finding {} is already resolved",
            r.id
        )));
    }
    r.status = Status::Resolved;
    r.resolved_by = Some(caller_name());
    r.resolved_at = Some(context::now().to_rfc3339());
    r.note = input.note;
    storage::put(&format!("f/{}", r.id), &r)?;
    Ok(r)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ReportInput {
    #[serde(default)]
    format: Option<String>,
    #[serde(flatten)]
    filter: Filter,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Report {
    /// Counts by status, then severity.
    counts: BTreeMap<String, BTreeMap<String, u64>>,
    findings: Vec<FindingRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    csv: Option<String>,
}

fn name_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn report(input: ReportInput) -> Result<Report> {
    let list = findings(&input.filter)?;
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for r in &list {
        *counts
            .entry(name_of(&r.status))
            .or_default()
            .entry(name_of(&r.severity))
            .or_default() += 1;
    }
    let csv = match input.format.as_deref() {
        None | Some("json") => None,
        Some("csv") => {
            let mut out = String::from(
                "id,check,key,severity,status,summary,first_seen,last_seen,occurrences,acknowledged_by,reason,resolved_by,resolved_at\r\n",
            );
            for r in &list {
                let fields = [
                    r.id.clone(),
                    r.check.clone(),
                    r.key.clone(),
                    name_of(&r.severity),
                    name_of(&r.status),
                    r.summary.clone(),
                    r.first_seen.clone(),
                    r.last_seen.clone(),
                    r.occurrences.to_string(),
                    r.acknowledged_by.clone().unwrap_or_default(),
                    r.reason.clone().unwrap_or_default(),
                    r.resolved_by.clone().unwrap_or_default(),
                    r.resolved_at.clone().unwrap_or_default(),
                ];
                out.push_str(
                    &fields
                        .iter()
                        .map(|f| csv_field(f))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push_str("\r\n");
            }
            Some(out)
        }
        Some(other) => {
            return Err(Error::invalid(format!(
                "format {other:?} is not json or csv"
            )));
        }
    };
    Ok(Report {
        counts,
        findings: list,
        csv,
    })
}
