//! Plugin manifests: the `plugin.toml` a plugin embeds in its component.
//!
//! The SDK copies the author's `plugin.toml` verbatim into a custom section named
//! [`SECTION`]; the host reads it without running plugin code and validates it here.
//! Schemas may be written as JSON text or as TOML tables; both normalise to JSON.

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

/// Name of the custom section holding the manifest.
pub const SECTION: &str = "backoffice:manifest";

/// Capabilities a plugin may request. `log` and `context` are always available.
pub const CAPABILITIES: &[&str] = &[
    "storage",
    "events",
    "scheduler",
    "plugins",
    "notify",
    "http",
];

/// A validated manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Manifest {
    /// Stable plugin id, lowercase.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Who publishes the plugin.
    pub vendor: String,
    /// The package version.
    pub version: Version,
    /// What the plugin does.
    #[serde(default)]
    pub description: String,
    /// The host API versions the plugin works with.
    pub host_api: VersionReq,
    /// Requested capabilities.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Where the plugin may send HTTP requests (`scheme://host[:port]`, see
    /// [`crate::outbound`]); needs the `http` capability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_outbound_hosts: Vec<String>,
    /// Event topics the plugin wants delivered.
    #[serde(default)]
    pub subscriptions: Vec<String>,
    /// Event topics the plugin may emit. Topics outside its own `<id>.` prefix also
    /// need an admin's grant (`backoffice events grant`).
    #[serde(default)]
    pub emits: Vec<String>,
    /// Other plugins this one needs, with acceptable versions.
    #[serde(default)]
    pub dependencies: BTreeMap<String, VersionReq>,
    /// Plugins this one calls when the tenant has them enabled, but works without:
    /// callable with `plugins.call`, not needed to install or enable, free to be
    /// disabled. A call while one is disabled gets `forbidden`.
    #[serde(default)]
    pub optional_dependencies: BTreeMap<String, VersionReq>,
    /// Operations callers can invoke.
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// Jobs the plugin can run.
    #[serde(default)]
    pub jobs: Vec<Job>,
    /// The previous version can read the data this version's `migrate` leaves, so
    /// `backoffice plugin rollback` may return to it.
    #[serde(default)]
    pub reversible_migrations: bool,
    /// Extension interfaces the plugin exports, with the keys it serves.
    #[serde(default)]
    pub provides: Vec<Provide>,
    /// Extension interfaces the plugin calls (`backoffice:payroll/rules@0.1.0`): an
    /// extension call to an interface not listed here is refused.
    #[serde(default)]
    pub uses: Vec<String>,
    /// What the plugin's background work (jobs, event deliveries) may do.
    #[serde(default)]
    pub background: Background,
    /// Tenant settings the plugin reads with `context.setting`; each tenant's admins
    /// set them (`backoffice settings set`), checked against the schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<Setting>,
    /// The `[limits]` table: memory and a default call deadline other than the host's
    /// defaults, each bounded by the admin's policy when the plugin is installed.
    #[serde(default, skip_serializing_if = "PluginLimits::is_empty")]
    pub limits: PluginLimits,
    /// Screens the console shows for the plugin (`[[screens]]`), rendered by its
    /// generic renderer: a table of a read-only operation's output, with chosen
    /// columns, links and an optional chart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub screens: Vec<Screen>,
}

/// Most screens one plugin may declare.
pub const MAX_SCREENS: usize = 20;

/// Most columns of one screen.
pub const MAX_COLUMNS: usize = 20;

/// A declared console screen: the console calls `operation` (read-only) as the
/// signed-in user with `input` plus the filters the user filled in, and shows the
/// array at `rows` of its output as a table of `columns`, the object at `total` as a
/// last row, and a chart of one numeric field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Screen {
    /// Path segment under `/console/t/<tenant>/screens/<plugin>/`: lowercase, digits, '-'.
    pub name: String,
    /// Heading and menu label.
    pub title: String,
    /// A sentence shown above the table.
    #[serde(default)]
    pub description: String,
    /// The read-only operation called; the user needs its permission.
    pub operation: String,
    /// Fixed input fields, merged under the filters.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub input: serde_json::Map<String, serde_json::Value>,
    /// Properties of the operation's input offered as filters, in this order (a
    /// date, number, text or, for an `enum`, a choice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// Field of the output holding the array of rows; empty: the output itself.
    #[serde(default)]
    pub rows: String,
    /// Field of the output holding an object shown as a last, total row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    /// Text of the total row's first cell.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub total_label: String,
    /// The table's columns, in order.
    pub columns: Vec<Column>,
    /// A chart of one numeric field over the rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
}

/// A column of a [`Screen`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Column {
    /// Field of each row.
    pub field: String,
    /// Header.
    pub label: String,
    /// Field shown when `field` is missing or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// How the value is shown.
    #[serde(default)]
    pub format: ColumnFormat,
    /// Makes the cell a link: a path under the tenant's console, where `{field}` is
    /// replaced by the row's value of `field`, URL-encoded (`screens/hr/people?team={team}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// How a [`Column`]'s value is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnFormat {
    /// As text (a number right-aligned).
    #[default]
    Text,
    /// A number, right-aligned.
    Number,
    /// A number with one decimal and ` %`; null as `n/a`.
    Percent,
}

/// The chart of a [`Screen`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Chart {
    /// `bar` (one bar per row) or `line` (rows in order, a time series).
    pub kind: ChartKind,
    /// Field naming each bar or point (a date for a time series).
    pub label: String,
    /// The numeric field plotted; rows without a number are left out.
    pub value: String,
    /// The chart's title, for screen readers and as a caption.
    #[serde(default)]
    pub title: String,
    /// Top of the scale of a bar chart (100 for percentages); default: the largest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Kinds of [`Chart`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChartKind {
    /// One bar per row.
    Bar,
    /// A line through the rows, in order.
    Line,
}

impl Manifest {
    /// The declared screen named `name`.
    pub fn screen(&self, name: &str) -> Option<&Screen> {
        self.screens.iter().find(|s| s.name == name)
    }

    fn validate_screens(&self) -> Result<(), ManifestError> {
        if self.screens.len() > MAX_SCREENS {
            return Err(invalid(format!(
                "{} screens declared; at most {MAX_SCREENS}",
                self.screens.len()
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.screens {
            let what = format!("screen '{}'", s.name);
            check_ident("screen name", &s.name, 64).map_err(invalid)?;
            if !seen.insert(s.name.as_str()) {
                return Err(invalid(format!("{what} is declared twice")));
            }
            if s.title.trim().is_empty() {
                return Err(invalid(format!("{what}: title must not be empty")));
            }
            let Some(op) = self.operation(&s.operation) else {
                return Err(invalid(format!(
                    "{what}: operation '{}' is not declared",
                    s.operation
                )));
            };
            if !op.read_only {
                return Err(invalid(format!(
                    "{what}: operation '{}' must be read-only (the console calls it each time the screen is opened)",
                    s.operation
                )));
            }
            for f in &s.filters {
                if op.input["properties"].get(f).is_none() {
                    return Err(invalid(format!(
                        "{what}: filter '{f}' is not a property of the input of '{}'",
                        s.operation
                    )));
                }
            }
            if s.columns.is_empty() || s.columns.len() > MAX_COLUMNS {
                return Err(invalid(format!(
                    "{what}: declare 1 to {MAX_COLUMNS} columns"
                )));
            }
            for c in &s.columns {
                if let Some(link) = &c.link
                    && (link.starts_with('/') || link.contains("://") || link.contains(".."))
                {
                    return Err(invalid(format!(
                        "{what}: column '{}': link '{link}' must be a path under the tenant's console, like 'screens/{}/other?key={{field}}'",
                        c.field, self.id
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The smallest memory cap a plugin may declare: 1 MiB.
pub const MIN_MEMORY_BYTES: u64 = 1 << 20;

/// The largest memory cap a plugin may declare: 4 GiB, all a 32-bit linear memory
/// can address. The admin's policy (`--max-plugin-memory-mib`) is usually lower.
pub const MAX_MEMORY_BYTES: u64 = 4 << 30;

/// The `[limits]` table of `plugin.toml`, normalised: what the plugin asks for
/// instead of the host's defaults. `None` keeps the host's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PluginLimits {
    /// Memory of one instance, summed over all its linear memories, in bytes
    /// (written `memory = "96MiB"` or a number of bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Deadline of a call of any operation that declares no `deadline-ms` of its
    /// own, in milliseconds (written `deadline = "500ms"`, `"5s"` or a number of
    /// milliseconds), at most [`MAX_DEADLINE_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

impl PluginLimits {
    /// Whether the plugin declares no limit at all.
    pub fn is_empty(&self) -> bool {
        self.memory_bytes.is_none() && self.deadline_ms.is_none()
    }
}

/// `[limits]` as written: sizes and durations as text with a unit, or plain numbers.
#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawLimits {
    memory: Option<toml::Value>,
    deadline: Option<toml::Value>,
}

impl RawLimits {
    fn normalise(self) -> Result<PluginLimits, ManifestError> {
        Ok(PluginLimits {
            memory_bytes: self.memory.map(|v| parse_size(&v)).transpose()?,
            deadline_ms: self.deadline.map(|v| parse_duration(&v)).transpose()?,
        })
    }
}

/// `"64MiB"`, `"512KiB"`, `"1GiB"` or a number of bytes.
fn parse_size(v: &toml::Value) -> Result<u64, ManifestError> {
    let units = [
        ("", 1),
        ("B", 1),
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
    ];
    parse_with_unit(v, &units, || {
        invalid(format!(
            "[limits] memory = {v} is not a size; write it as \"64MiB\" (units KiB, MiB, GiB) or a number of bytes"
        ))
    })
}

/// `"500ms"`, `"5s"` or a number of milliseconds.
fn parse_duration(v: &toml::Value) -> Result<u64, ManifestError> {
    parse_with_unit(v, &[("ms", 1), ("s", 1000)], || {
        invalid(format!(
            "[limits] deadline = {v} is not a duration; write it as \"500ms\", \"5s\" or a number of milliseconds"
        ))
    })
}

/// A plain integer, or text of digits followed by one of `units` (its name and what one
/// of it counts); `bad()` for anything else, a negative number or an overflow.
fn parse_with_unit(
    v: &toml::Value,
    units: &[(&str, u64)],
    bad: impl Fn() -> ManifestError,
) -> Result<u64, ManifestError> {
    match v {
        toml::Value::Integer(n) => u64::try_from(*n).map_err(|_| bad()),
        toml::Value::String(text) => {
            let text = text.trim();
            let split = text
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len());
            let (digits, unit) = text.split_at(split);
            let n: u64 = digits.parse().map_err(|_| bad())?;
            let unit = unit.trim();
            let (_, factor) = units
                .iter()
                .find(|(name, _)| *name == unit)
                .ok_or_else(&bad)?;
            n.checked_mul(*factor).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// The most settings one plugin may declare.
pub const MAX_SETTINGS: usize = 64;

/// One `[[settings]]` entry: a value per tenant, with a JSON Schema and a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Setting {
    /// The name `context.setting` asks for: lowercase letters, digits and '-'.
    pub key: String,
    /// What the setting changes, shown to admins.
    #[serde(default)]
    pub description: String,
    /// JSON Schema every value must satisfy.
    pub schema: serde_json::Value,
    /// The value while a tenant has set none; without one the setting reads as unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

impl Setting {
    /// Check `value` against the schema; the error lists what is wrong.
    pub fn check(&self, value: &serde_json::Value) -> Result<(), String> {
        let validator = jsonschema::validator_for(&self.schema)
            .map_err(|e| format!("setting '{}': its schema cannot be used: {e}", self.key))?;
        match schema_errors(&validator, value) {
            None => Ok(()),
            Some(problems) => Err(format!(
                "setting '{}' does not accept {value}: {problems}",
                self.key
            )),
        }
    }
}

/// The `[background]` table: the permissions the plugin's jobs and event handlers
/// run with. They run as the plugin itself (`plugin:<id>` in the audit log), holding
/// exactly these permissions and no others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Background {
    /// Permissions of other plugins' operations that background work calls, each
    /// written out (`ledger.read`): no `*` and no `ledger.*`.
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// An extension interface a plugin exports (see [`crate::extensions`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Provide {
    /// The interface with its version, e.g. `backoffice:payroll/rules@0.1.0`.
    pub interface: String,
    /// What the plugin serves: countries for payroll rules.
    pub keys: Vec<String>,
}

/// The longest deadline an operation may declare with `deadline-ms`.
pub const MAX_DEADLINE_MS: u64 = 60_000;

/// One invocable operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Operation {
    /// Operation name, unique in the plugin.
    pub name: String,
    /// Permission the caller needs, such as `ledger.post`.
    pub permission: String,
    /// What the operation does.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the input.
    #[serde(default = "any_object")]
    pub input: serde_json::Value,
    /// JSON Schema of the output.
    #[serde(default = "any_value")]
    pub output: serde_json::Value,
    /// The operation only reads: it runs in a read-only snapshot beside other calls
    /// instead of queueing for the write lock, and any write it tries is refused.
    #[serde(default)]
    pub read_only: bool,
    /// A deadline longer than the host's default for this operation (batch work such
    /// as a pay run), in milliseconds, at most [`MAX_DEADLINE_MS`]. The admin's
    /// `--call-timeout-ms` still applies when it is longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

/// A job the plugin runs by cron or on request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Job {
    /// Job name, unique in the plugin.
    pub name: String,
    /// Five-field cron expression in the tenant's time zone, or none for on-request jobs.
    #[serde(default)]
    pub cron: Option<String>,
    /// What the job does.
    #[serde(default)]
    pub description: String,
}

fn any_object() -> serde_json::Value {
    serde_json::json!({ "type": "object" })
}

fn any_value() -> serde_json::Value {
    serde_json::json!({})
}

/// Why a manifest was refused. Each message says what to change in `plugin.toml`.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The TOML does not parse or has wrong types.
    #[error("plugin.toml is not valid: {0}")]
    Syntax(String),
    /// A field breaks a rule.
    #[error("plugin.toml: {0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> ManifestError {
    ManifestError::Invalid(msg.into())
}

/// `value` as a lowercase identifier (see [`is_ident`]); else what is wrong with it,
/// naming it `what` ("tenant id", "user name", ...).
pub fn check_ident(what: &str, value: &str, max: usize) -> Result<(), String> {
    if is_ident(value, max) {
        Ok(())
    } else {
        Err(format!(
            "{what} '{value}' must be lowercase letters, digits and '-', starting with a letter and not ending with '-', at most {max} characters"
        ))
    }
}

/// Whether `s` is a lowercase identifier: `[a-z][a-z0-9-]*`, at most `max` bytes.
pub fn is_ident(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && s.len() <= max
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
        && !s.ends_with('-')
}

/// Whether `s` is a dotted name like `ledger.post` or `ledger.entry-posted`.
fn is_dotted(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() >= 2 && parts.iter().all(|p| is_ident(p, 64))
}

/// Text form of a schema field: JSON text is parsed, a TOML table is converted.
fn schema_value(v: toml::Value, what: &str) -> Result<serde_json::Value, ManifestError> {
    match v {
        toml::Value::String(text) => serde_json::from_str(&text)
            .map_err(|e| invalid(format!("{what} is not valid JSON: {e}"))),
        other => serde_json::to_value(other)
            .map_err(|e| invalid(format!("{what} cannot be read as JSON: {e}"))),
    }
}

impl Manifest {
    /// Parse and validate the manifest text embedded in a component.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let raw: RawManifest =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(e.message().to_string()))?;
        let operations = raw
            .operations
            .into_iter()
            .map(|op| {
                let schema =
                    |v: Option<toml::Value>, field: &str, default: fn() -> serde_json::Value| {
                        v.map(|v| schema_value(v, &format!("operation '{}': {field}", op.name)))
                            .unwrap_or_else(|| Ok(default()))
                    };
                Ok(Operation {
                    input: schema(op.input, "input", any_object)?,
                    output: schema(op.output, "output", any_value)?,
                    name: op.name,
                    permission: op.permission,
                    read_only: op.read_only,
                    deadline_ms: op.deadline_ms,
                    description: op.description,
                })
            })
            .collect::<Result<Vec<_>, ManifestError>>()?;
        let settings = raw
            .settings
            .into_iter()
            .map(|s| {
                let what = format!("setting '{}'", s.key);
                Ok(Setting {
                    schema: schema_value(s.schema, &format!("{what}: schema"))?,
                    // A default is a value, not a schema: TOML converts as it is, and
                    // a string stays a string.
                    default: s
                        .default
                        .map(|d| {
                            serde_json::to_value(d).map_err(|e| {
                                invalid(format!("{what}: default cannot be read as JSON: {e}"))
                            })
                        })
                        .transpose()?,
                    key: s.key,
                    description: s.description,
                })
            })
            .collect::<Result<Vec<_>, ManifestError>>()?;
        let manifest = Manifest {
            id: raw.id,
            name: raw.name,
            vendor: raw.vendor,
            version: raw.version,
            description: raw.description,
            host_api: raw.host_api,
            capabilities: raw.capabilities,
            allowed_outbound_hosts: raw.allowed_outbound_hosts,
            subscriptions: raw.subscriptions,
            emits: raw.emits,
            dependencies: raw.dependencies,
            optional_dependencies: raw.optional_dependencies,
            operations,
            jobs: raw.jobs,
            reversible_migrations: raw.reversible_migrations,
            provides: raw.provides,
            uses: raw.uses,
            background: raw.background,
            settings,
            limits: raw.limits.normalise()?,
            screens: raw.screens,
        };
        manifest.validate()?;
        Ok(manifest)
    }

    /// Check every rule a manifest must follow.
    pub fn validate(&self) -> Result<(), ManifestError> {
        check_ident("id", &self.id, 40).map_err(invalid)?;
        if self.name.trim().is_empty() {
            return Err(invalid("name must not be empty"));
        }
        if self.vendor.trim().is_empty() {
            return Err(invalid("vendor must not be empty"));
        }
        for cap in &self.capabilities {
            if !CAPABILITIES.contains(&cap.as_str()) {
                return Err(invalid(format!(
                    "unknown capability '{cap}'; known capabilities are {}",
                    CAPABILITIES.join(", ")
                )));
            }
        }
        for topic in &self.subscriptions {
            if !is_dotted(topic) {
                return Err(invalid(format!(
                    "subscription '{topic}' must be a dotted topic such as 'ledger.entry-posted'"
                )));
            }
        }
        for topic in &self.emits {
            if !is_dotted(topic) {
                return Err(invalid(format!(
                    "emitted topic '{topic}' must be a dotted topic such as '{}.something-happened'",
                    self.id
                )));
            }
        }
        crate::outbound::parse_all(&self.allowed_outbound_hosts).map_err(invalid)?;
        let http = self.capabilities.iter().any(|c| c == "http");
        let hosts = !self.allowed_outbound_hosts.is_empty();
        if http != hosts {
            return Err(invalid(if http {
                "`capabilities` has \"http\" but `allowed-outbound-hosts` lists no host; list where the plugin sends requests, such as allowed-outbound-hosts = [\"https://api.example.com\"]"
            } else {
                "`allowed-outbound-hosts` lists hosts but `capabilities` lacks \"http\"; add it"
            }));
        }
        if !self.emits.is_empty() && !self.capabilities.iter().any(|c| c == "events") {
            return Err(invalid(
                "`emits` lists topics but `capabilities` lacks \"events\"; add it",
            ));
        }
        for dep in self.optional_dependencies.keys() {
            if self.dependencies.contains_key(dep) {
                return Err(invalid(format!(
                    "'{dep}' is listed under both [dependencies] and [optional-dependencies]; keep one"
                )));
            }
        }
        for dep in self
            .dependencies
            .keys()
            .chain(self.optional_dependencies.keys())
        {
            if !is_ident(dep, 40) || dep == &self.id {
                return Err(invalid(format!(
                    "dependency '{dep}' is not a valid plugin id"
                )));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for op in &self.operations {
            if !is_ident(&op.name, 64) {
                return Err(invalid(format!(
                    "operation name '{}' must be lowercase letters, digits and '-'",
                    op.name
                )));
            }
            if RESERVED_OPERATIONS.contains(&op.name.as_str()) {
                return Err(invalid(format!(
                    "operation name '{0}' is reserved: POST /v1/tenants/{{tenant}}/plugins/{{plugin}}/{0} is the host's own route to {0} a plugin for a tenant; rename the operation (for example '{0}-feature')",
                    op.name
                )));
            }
            if !names.insert(op.name.as_str()) {
                return Err(invalid(format!(
                    "operation '{}' is declared twice",
                    op.name
                )));
            }
            if !is_dotted(&op.permission) {
                return Err(invalid(format!(
                    "operation '{}': permission '{}' must look like 'plugin.action'",
                    op.name, op.permission
                )));
            }
            if let Some(ms) = op.deadline_ms
                && !(1..=MAX_DEADLINE_MS).contains(&ms)
            {
                return Err(invalid(format!(
                    "operation '{}': deadline-ms {ms} must be between 1 and {MAX_DEADLINE_MS}",
                    op.name
                )));
            }
            for (field, schema) in [("input", &op.input), ("output", &op.output)] {
                jsonschema::meta::validate(schema).map_err(|e| {
                    invalid(format!(
                        "operation '{}': {field} is not a valid JSON Schema: {e}",
                        op.name
                    ))
                })?;
                // The host compiles each schema when it loads the plugin: a schema that
                // passes the meta-schema but does not compile (a `pattern` that is not a
                // regular expression, a `$ref` to nothing) is refused here, at install,
                // not left to fail every load (found by fuzzing, issue 16).
                jsonschema::validator_for(schema).map_err(|e| {
                    invalid(format!(
                        "operation '{}': {field} schema cannot be used: {e}",
                        op.name
                    ))
                })?;
            }
        }
        let mut provided = std::collections::BTreeSet::new();
        for p in &self.provides {
            let Some(ext) = crate::extensions::find(&p.interface) else {
                return Err(invalid(format!(
                    "[[provides]] interface '{}' is not an extension point of this host; known: {}",
                    p.interface,
                    known_extensions()
                )));
            };
            if p.keys.is_empty() {
                return Err(invalid(format!(
                    "[[provides]] {}: list at least one {} under keys",
                    p.interface, ext.key_name
                )));
            }
            for key in &p.keys {
                (ext.check_key)(key)
                    .map_err(|e| invalid(format!("[[provides]] {}: {e}", p.interface)))?;
            }
            if !provided.insert(p.interface.as_str()) {
                return Err(invalid(format!(
                    "[[provides]] {} is listed twice; put all keys in one entry",
                    p.interface
                )));
            }
        }
        let mut used = std::collections::BTreeSet::new();
        for interface in &self.uses {
            if crate::extensions::find(interface).is_none() {
                return Err(invalid(format!(
                    "uses: '{interface}' is not an extension point of this host; known: {}",
                    known_extensions()
                )));
            }
            if !used.insert(interface.as_str()) {
                return Err(invalid(format!("uses: '{interface}' is listed twice")));
            }
        }
        if !self.uses.is_empty() && !self.capabilities.iter().any(|c| c == "plugins") {
            return Err(invalid(
                "`uses` lists extension points but `capabilities` lacks \"plugins\"; add it",
            ));
        }
        self.validate_background()?;
        self.validate_settings()?;
        self.validate_limits()?;
        let mut jobs = std::collections::BTreeSet::new();
        for job in &self.jobs {
            if !is_ident(&job.name, 64) {
                return Err(invalid(format!("job name '{}' is not valid", job.name)));
            }
            if !jobs.insert(job.name.as_str()) {
                return Err(invalid(format!("job '{}' is declared twice", job.name)));
            }
            if let Some(cron) = &job.cron {
                check_cron(cron).map_err(|e| invalid(format!("job '{}': {e}", job.name)))?;
            }
        }
        self.validate_screens()
    }

    /// `[background] permissions`: each a plain dotted permission, listed once; no
    /// wildcard, which would hand background work whatever a dependency adds later
    /// (its admin operations included).
    fn validate_background(&self) -> Result<(), ManifestError> {
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.background.permissions {
            if p == "*" || p.ends_with(".*") {
                return Err(invalid(format!(
                    "[background] permissions: '{p}' is a wildcard; list each permission your jobs and event handlers need, such as 'ledger.read'"
                )));
            }
            if !is_dotted(p) {
                return Err(invalid(format!(
                    "[background] permissions: '{p}' must look like 'plugin.action', such as 'ledger.read'"
                )));
            }
            if !seen.insert(p.as_str()) {
                return Err(invalid(format!(
                    "[background] permissions: '{p}' is listed twice"
                )));
            }
        }
        Ok(())
    }

    /// `[limits]`: a memory cap of at least [`MIN_MEMORY_BYTES`] and at most
    /// [`MAX_MEMORY_BYTES`], a deadline from 1 ms to [`MAX_DEADLINE_MS`]. Whether the
    /// host's policy allows them is checked when the plugin is installed.
    fn validate_limits(&self) -> Result<(), ManifestError> {
        if let Some(bytes) = self.limits.memory_bytes
            && !(MIN_MEMORY_BYTES..=MAX_MEMORY_BYTES).contains(&bytes)
        {
            return Err(invalid(format!(
                "[limits] memory of {bytes} bytes must be between 1MiB and 4GiB"
            )));
        }
        if let Some(ms) = self.limits.deadline_ms
            && !(1..=MAX_DEADLINE_MS).contains(&ms)
        {
            return Err(invalid(format!(
                "[limits] deadline of {ms} ms must be between 1 ms and {MAX_DEADLINE_MS} ms"
            )));
        }
        Ok(())
    }

    /// Whether the plugin declares that it calls the extension `interface`.
    pub fn uses_extension(&self, interface: &str) -> bool {
        self.uses.iter().any(|u| u == interface)
    }

    /// Whether `topic` lies under this plugin's own prefix `<id>.`.
    pub fn owns_topic(&self, topic: &str) -> bool {
        topic
            .strip_prefix(self.id.as_str())
            .is_some_and(|rest| rest.starts_with('.'))
    }

    /// The acceptable versions of `plugin` when this one may call it: listed under
    /// `[dependencies]` or `[optional-dependencies]`.
    pub fn callable(&self, plugin: &str) -> Option<&VersionReq> {
        self.dependencies
            .get(plugin)
            .or_else(|| self.optional_dependencies.get(plugin))
    }

    /// The declared setting called `key`.
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.key == key)
    }

    /// `[[settings]]`: valid unique keys, usable schemas, defaults that pass them.
    fn validate_settings(&self) -> Result<(), ManifestError> {
        if self.settings.len() > MAX_SETTINGS {
            return Err(invalid(format!(
                "{} settings are declared; at most {MAX_SETTINGS} are allowed (group related values in one object setting)",
                self.settings.len()
            )));
        }
        let mut keys = std::collections::BTreeSet::new();
        for setting in &self.settings {
            check_ident("setting key", &setting.key, 64).map_err(invalid)?;
            if !keys.insert(setting.key.as_str()) {
                return Err(invalid(format!(
                    "setting '{}' is declared twice",
                    setting.key
                )));
            }
            jsonschema::meta::validate(&setting.schema).map_err(|e| {
                invalid(format!(
                    "setting '{}': schema is not a valid JSON Schema: {e}",
                    setting.key
                ))
            })?;
            if let Some(default) = &setting.default {
                setting
                    .check(default)
                    .map_err(|e| invalid(format!("the default of {e}")))?;
            } else {
                jsonschema::validator_for(&setting.schema).map_err(|e| {
                    invalid(format!(
                        "setting '{}': schema cannot be used: {e}",
                        setting.key
                    ))
                })?;
            }
        }
        Ok(())
    }

    /// The operation called `name`.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.name == name)
    }

    /// The declared operations' names, `, `-separated, for an error naming the choices.
    pub fn operation_names(&self) -> String {
        listed(self.operations.iter().map(|o| o.name.as_str()))
    }

    /// The declared jobs' names, `, `-separated.
    pub fn job_names(&self) -> String {
        listed(self.jobs.iter().map(|j| j.name.as_str()))
    }

    /// The declared settings' keys, `, `-separated (empty when there are none).
    pub fn setting_keys(&self) -> String {
        listed(self.settings.iter().map(|s| s.key.as_str()))
    }
}

fn listed<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

fn known_extensions() -> String {
    crate::extensions::KNOWN
        .iter()
        .map(|e| e.interface)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Full check of a cron expression: fields, ranges, and that it ever fires.
fn check_cron(expr: &str) -> Result<(), String> {
    crate::cron::Cron::parse(expr).map(|_| ())
}

/// `plugin.toml` as written, before schemas are normalised to JSON.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawManifest {
    id: String,
    name: String,
    vendor: String,
    version: Version,
    #[serde(default)]
    description: String,
    host_api: VersionReq,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    subscriptions: Vec<String>,
    #[serde(default)]
    emits: Vec<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, VersionReq>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, VersionReq>,
    #[serde(default)]
    operations: Vec<RawOperation>,
    #[serde(default)]
    jobs: Vec<Job>,
    #[serde(default)]
    reversible_migrations: bool,
    #[serde(default)]
    provides: Vec<Provide>,
    #[serde(default)]
    uses: Vec<String>,
    #[serde(default)]
    background: Background,
    #[serde(default)]
    settings: Vec<RawSetting>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    screens: Vec<Screen>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawSetting {
    key: String,
    #[serde(default)]
    description: String,
    schema: toml::Value,
    default: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawOperation {
    name: String,
    permission: String,
    #[serde(default)]
    description: String,
    input: Option<toml::Value>,
    output: Option<toml::Value>,
    #[serde(default)]
    read_only: bool,
    deadline_ms: Option<u64>,
}

/// Operation names the host's own routes take under
/// `/v1/tenants/{tenant}/plugins/{plugin}/`: an operation of that name could not be
/// called over HTTP.
pub const RESERVED_OPERATIONS: &[&str] = &["enable", "disable"];

/// Schema violations of `value` as `path: message`, `; `-separated (the first ten);
/// none when it fits.
pub fn schema_errors(
    validator: &jsonschema::Validator,
    value: &serde_json::Value,
) -> Option<String> {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(10)
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() {
                e.to_string()
            } else {
                format!("{path}: {e}")
            }
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "contacts"
name = "Contacts"
vendor = "backoffice"
version = "0.1.0"
host-api = "^0.1"
capabilities = ["storage"]

[dependencies]
ledger = "^1.2"

[[operations]]
name = "create"
permission = "contacts.write"
input = '''{ "type": "object", "required": ["name"] }'''

[operations.output]
type = "object"

[[jobs]]
name = "nightly"
cron = "0 2 * * *"
"#;

    /// Asserts that parsing `text` fails with an error that contains `needle`.
    #[track_caller]
    fn assert_refused(text: &str, needle: &str) {
        let err = Manifest::parse(text).unwrap_err().to_string();
        assert!(err.contains(needle), "expected '{needle}' in: {err}");
    }

    /// Asserts, for each case `(from, to, needle)`, that `text` with `from` replaced by
    /// `to` is refused with an error that contains `needle`.
    #[track_caller]
    fn assert_refused_replacing(text: &str, cases: &[(&str, &str, &str)]) {
        for (from, to, needle) in cases {
            assert_refused(&text.replace(from, to), needle);
        }
    }

    #[test]
    fn parses_json_and_table_schemas() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.id, "contacts");
        assert_eq!(m.version, Version::new(0, 1, 0));
        let op = m.operation("create").unwrap();
        assert_eq!(op.input["required"][0], "name");
        assert_eq!(op.output["type"], "object");
        assert!(m.dependencies["ledger"].matches(&Version::new(1, 3, 0)));
    }

    #[test]
    fn screens_need_a_read_only_operation_and_its_input_properties() {
        let read = GOOD
            .replace(
                "permission = \"contacts.write\"",
                "permission = \"contacts.read\"\nread-only = true",
            )
            .replace(
                "\"required\": [\"name\"] }",
                "\"required\": [\"name\"], \"properties\": {\"name\": {\"type\": \"string\"}} }",
            );
        let screen = |extra: &str| {
            format!(
                "{read}\n[[screens]]\nname = \"people\"\ntitle = \"People\"\noperation = \"create\"\n{extra}\ncolumns = [{{ field = \"name\", label = \"Name\", link = \"screens/contacts/people?name={{name}}\" }}]\n"
            )
        };
        let m = Manifest::parse(&screen("filters = [\"name\"]")).unwrap_or_else(|e| panic!("{e}"));
        let s = m.screen("people").unwrap();
        assert_eq!(s.columns[0].format, ColumnFormat::Text);
        // Stored as JSON and read back the same.
        let back: Manifest = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_refused(&screen("filters = [\"colour\"]"), "filter 'colour'");
        assert_refused(&screen("colour = 1"), "colour");
        #[rustfmt::skip]
        assert_refused_replacing(&screen(""), &[
            ("operation = \"create\"", "operation = \"nope\"", "'nope' is not declared"),
            ("read-only = true", "", "must be read-only"),
            ("screens/contacts", "https://evil.example/x", "must be a path"),
        ]);
    }

    #[test]
    fn refuses_bad_fields_with_a_useful_message() {
        #[rustfmt::skip]
        assert_refused_replacing(GOOD, &[
            // (in GOOD, replaced by, expected in the error)
            ("\"contacts\"", "\"Contacts!\"", "id 'Contacts!'"),
            ("version = \"0.1.0\"", "version = \"one\"", "not valid"),
            ("[\"storage\"]", "[\"network\"]", "unknown capability 'network'"),
            ("contacts.write", "write", "permission 'write'"),
            ("name = \"create\"", "name = \"enable\"", "operation name 'enable' is reserved"),
            ("0 2 * * *", "every night", "5 fields"),
            ("0 2 * * *", "0 25 * * *", "hour: 25 is outside 0-23"),
            ("0 2 * * *", "0 0 31 2 *", "never fires"),
            ("\"type\": \"object\", ", "\"type\": 5, ", "not a valid JSON Schema"),
            ("{ \"type\"", "{ type", "not valid JSON"),
            ("\"required\"", "\"pattern\": \"(\", \"required\"", "input schema cannot be used: \"(\" is not a \"regex\""),
            ("\"required\"", "\"patternProperties\": { \"(\": {} }, \"required\"", "input schema cannot be used"),
            ("\"required\"", "\"$ref\": \"#/nowhere\", \"required\"", "input schema cannot be used"),
            ("[\"storage\"]", "[\"storage\"]\nemits = [\"contacts\"]", "emitted topic 'contacts'"),
            ("[\"storage\"]", "[\"storage\"]\nemits = [\"contacts.added\"]", "lacks \"events\""),
            ("[\"storage\"]", "[\"storage\", \"plugins\"]\nuses = [\"backoffice:payroll/rules\"]", "uses: 'backoffice:payroll/rules' is not an extension point"),
            ("[\"storage\"]", "[\"storage\"]\nuses = [\"backoffice:payroll/rules@0.1.0\"]", "lacks \"plugins\""),
        ]);
        assert_refused("id = ", "not valid");
        for (table, needle) in [
            ("permissions = [\"*\"]", "'*' is a wildcard"),
            ("permissions = [\"ledger.*\"]", "'ledger.*' is a wildcard"),
            (
                "permissions = [\"post\"]",
                "'post' must look like 'plugin.action'",
            ),
            ("permisions = [\"ledger.read\"]", "not valid"),
        ] {
            assert_refused(&format!("{GOOD}\n[background]\n{table}\n"), needle);
        }
    }

    #[test]
    fn background_permissions_and_uses_parse() {
        let text = GOOD.replace(
            "[\"storage\"]",
            "[\"storage\", \"plugins\"]\nuses = [\"backoffice:payroll/rules@0.1.0\"]",
        ) + "\n[background]\npermissions = [\"ledger.read\", \"ledger.post\"]\n";
        let m = Manifest::parse(&text).unwrap();
        assert_eq!(m.background.permissions, ["ledger.read", "ledger.post"]);
        assert!(m.uses_extension("backoffice:payroll/rules@0.1.0"));
        assert!(!m.uses_extension("backoffice:compliance/checks@0.1.0"));
        let plain = Manifest::parse(GOOD).unwrap();
        assert!(plain.background.permissions.is_empty() && plain.uses.is_empty());
    }

    #[test]
    fn settings_parse_check_values_and_refuse_bad_declarations() {
        let text = format!(
            "{GOOD}\n[[settings]]\nkey = \"reminder-days\"\ndescription = \"Days before expiry\"\nschema = {{ type = \"integer\", minimum = 1, maximum = 365 }}\ndefault = 30\n\n[[settings]]\nkey = \"sender\"\nschema = '{{\"type\": \"string\", \"format\": \"email\"}}'\n"
        );
        let m = Manifest::parse(&text).unwrap();
        let days = m.setting("reminder-days").unwrap();
        assert_eq!(days.default, Some(serde_json::json!(30)));
        assert!(days.check(&serde_json::json!(90)).is_ok());
        let err = days.check(&serde_json::json!(400)).unwrap_err();
        assert!(
            err.contains("reminder-days") && err.contains("400"),
            "{err}"
        );
        assert!(days.check(&serde_json::json!("30")).is_err());
        assert_eq!(m.setting("sender").unwrap().default, None);
        assert!(m.setting("missing").is_none());

        #[rustfmt::skip]
        assert_refused_replacing(&text, &[
            ("default = 30", "default = 0", "the default of setting 'reminder-days'"),
            ("key = \"sender\"", "key = \"reminder-days\"", "declared twice"),
            ("key = \"sender\"", "key = \"Sender\"", "setting key 'Sender'"),
            ("type = \"integer\"", "type = 7", "not a valid JSON Schema"),
        ]);
    }

    #[test]
    fn limits_parse_with_units_and_refuse_what_is_out_of_range() {
        let with = |table: &str| format!("{GOOD}\n[limits]\n{table}\n");
        let m = Manifest::parse(&with("memory = \"96MiB\"\ndeadline = \"500ms\"")).unwrap();
        assert_eq!(m.limits.memory_bytes, Some(96 << 20));
        assert_eq!(m.limits.deadline_ms, Some(500));
        let m = Manifest::parse(&with("memory = 2097152\ndeadline = \"5s\"")).unwrap();
        assert_eq!(m.limits.memory_bytes, Some(2 << 20));
        assert_eq!(m.limits.deadline_ms, Some(5000));
        let m = Manifest::parse(&with("memory = \"1GiB\"\ndeadline = 250")).unwrap();
        assert_eq!(m.limits.memory_bytes, Some(1 << 30));
        assert_eq!(m.limits.deadline_ms, Some(250));
        // Nothing declared: the host's defaults, and nothing stored for it.
        let plain = Manifest::parse(GOOD).unwrap();
        assert!(plain.limits.is_empty());
        let json = serde_json::to_string(&plain).unwrap();
        assert!(!json.contains("limits"), "{json}");
        // The stored form reads back the same.
        let m = Manifest::parse(&with("memory = \"96MiB\"")).unwrap();
        let back: Manifest = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back.limits, m.limits);

        let bad = [
            ("memory = \"96MB\"", "is not a size; write it as \"64MiB\""),
            ("memory = \"lots\"", "is not a size"),
            ("memory = -1", "is not a size"),
            ("memory = \"512KiB\"", "must be between 1MiB and 4GiB"),
            ("memory = \"5GiB\"", "must be between 1MiB and 4GiB"),
            ("deadline = \"2m\"", "is not a duration"),
            ("deadline = 0", "must be between 1 ms and 60000 ms"),
            ("deadline = \"61s\"", "must be between 1 ms and 60000 ms"),
            ("memroy = \"64MiB\"", "not valid"),
        ];
        for (table, want) in bad {
            assert_refused(&with(table), want);
        }
    }

    #[test]
    fn idents() {
        assert!(is_ident("payroll-us", 40));
        assert!(!is_ident("9lives", 40));
        assert!(!is_ident("trailing-", 40));
        assert!(is_dotted("ledger.entry-posted"));
        assert!(!is_dotted("ledger"));
        let m = Manifest::parse(GOOD).unwrap();
        assert!(m.owns_topic("contacts.added"));
        assert!(!m.owns_topic("contactsx.added"));
        assert!(!m.owns_topic("ledger.entry-posted"));
    }
}
