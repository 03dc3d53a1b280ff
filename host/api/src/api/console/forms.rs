//! Forms generated from an operation's input JSON Schema, and the way back: submitted
//! form fields to the JSON input, with errors placed next to the field they concern.
//!
//! Field names are paths into the input: `date`, `reference.source`,
//! `postings.0.account`, `employees.2`. What the user typed is always kept, so a form
//! shown again after an error has every value as it was.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value, json};

/// Submitted values by field name (the last value of a repeated name wins).
pub type Values = HashMap<String, String>;

/// One input (or group of inputs) of a generated form.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Field {
    /// Form name: the path into the input.
    pub name: String,
    /// HTML id.
    pub id: String,
    /// Shown label.
    pub label: String,
    /// `text`, `textarea`, `number`, `date`, `select`, `boolean`, `json`, `money`,
    /// `group` or `rows`.
    pub kind: &'static str,
    pub required: bool,
    pub value: String,
    pub options: Vec<String>,
    pub pattern: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub step: Option<&'static str>,
    pub minlength: Option<u64>,
    pub maxlength: Option<u64>,
    pub placeholder: Option<&'static str>,
    pub description: String,
    pub error: Option<String>,
    /// Sub-fields of a group or money field.
    pub children: Vec<Field>,
    /// Rows of a repeatable field; each row is a list of fields.
    pub rows: Vec<Vec<Field>>,
}

fn humanize(name: &str) -> String {
    let mut s = name.replace(['-', '_'], " ");
    if let Some(first) = s.get(0..1) {
        let upper = first.to_uppercase();
        s.replace_range(0..1, &upper);
    }
    s
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn id_of(name: &str) -> String {
    format!(
        "f-{}",
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    )
}

fn types(s: &Value) -> Vec<&str> {
    match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// `oneOf`/`anyOf` of scalars (the ledger's "integer or decimal string" amounts): one
/// text input.
fn scalar_union(s: &Value) -> bool {
    let branches = s
        .get("oneOf")
        .or_else(|| s.get("anyOf"))
        .and_then(Value::as_array);
    match branches {
        Some(b) => b.iter().all(|b| {
            types(b)
                .iter()
                .all(|t| matches!(*t, "string" | "integer" | "number"))
                && b.get("type").is_some()
        }),
        None => {
            let t = types(s);
            t.len() > 1
                && t.iter()
                    .all(|t| matches!(*t, "string" | "integer" | "number"))
        }
    }
}

fn properties(s: &Value) -> Option<&Map<String, Value>> {
    s.get("properties").and_then(Value::as_object)
}

fn required_of(s: &Value) -> Vec<&str> {
    s.get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn is_money(s: &Value) -> bool {
    properties(s)
        .is_some_and(|p| p.len() == 2 && p.contains_key("amount") && p.contains_key("currency"))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// How a property schema is edited.
fn kind_of(s: &Value, name: &str) -> &'static str {
    if s.get("enum").is_some() {
        return "select";
    }
    if scalar_union(s) {
        return "text";
    }
    let t = types(s);
    match t.first().copied() {
        Some("boolean") => "boolean",
        Some("integer" | "number") => "number",
        Some("string") => match s.get("format").and_then(Value::as_str) {
            Some("date") => "date",
            _ => {
                let long = s
                    .get("maxLength")
                    .and_then(Value::as_u64)
                    .is_none_or(|m| m > 1000);
                let texty = ["journal", "csv", "text", "body", "notes"]
                    .iter()
                    .any(|w| name.contains(w));
                if long && texty { "textarea" } else { "text" }
            }
        },
        Some("object") if is_money(s) => "money",
        Some("object") if properties(s).is_some_and(|p| !p.is_empty()) => "group",
        Some("array") => match s.get("items") {
            Some(items) if kind_of(items, name) != "json" && kind_of(items, name) != "rows" => {
                "rows"
            }
            _ => "json",
        },
        _ => "json",
    }
}

/// The fields of an object schema, filled with `values` (and `errors`).
pub fn fields(schema: &Value, values: &Values, errors: &HashMap<String, String>) -> Vec<Field> {
    object_fields(schema, "", true, values, errors)
}

/// `enforce`: whether the object itself must be present. The browser is told a field
/// is required only then: inside an optional group or a repeatable row it is required
/// only when the group or row is filled in, which the server checks.
fn object_fields(
    schema: &Value,
    prefix: &str,
    enforce: bool,
    values: &Values,
    errors: &HashMap<String, String>,
) -> Vec<Field> {
    let Some(props) = properties(schema) else {
        return Vec::new();
    };
    let required = required_of(schema);
    props
        .iter()
        .map(|(key, s)| {
            field(
                s,
                &join(prefix, key),
                key,
                enforce && required.contains(&key.as_str()),
                values,
                errors,
            )
        })
        .collect()
}

fn field(
    s: &Value,
    name: &str,
    key: &str,
    required: bool,
    values: &Values,
    errors: &HashMap<String, String>,
) -> Field {
    let kind = kind_of(s, key);
    let mut f = Field {
        name: name.to_string(),
        id: id_of(name),
        label: humanize(key),
        kind,
        required,
        value: values
            .get(name)
            .cloned()
            .unwrap_or_else(|| s.get("default").map(scalar_text).unwrap_or_default()),
        description: s
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        error: errors.get(name).cloned(),
        ..Field::default()
    };
    match kind {
        "select" => {
            f.options = s
                .get("enum")
                .and_then(Value::as_array)
                .map(|e| e.iter().map(scalar_text).collect())
                .unwrap_or_default();
        }
        "number" => {
            f.step = Some(if types(s).contains(&"integer") {
                "1"
            } else {
                "any"
            });
            f.min = s.get("minimum").map(scalar_text);
            f.max = s.get("maximum").map(scalar_text);
        }
        "text" | "textarea" | "date" => {
            f.pattern = s.get("pattern").and_then(Value::as_str).map(String::from);
            f.minlength = s.get("minLength").and_then(Value::as_u64);
            f.maxlength = s.get("maxLength").and_then(Value::as_u64);
            if scalar_union(s) {
                f.placeholder = Some("e.g. 123.45");
                f.pattern = None;
            }
        }
        "json" => f.placeholder = Some("JSON, e.g. {}"),
        "money" | "group" => {
            f.children = object_fields(s, name, required, values, errors);
        }
        "rows" => {
            let items = s.get("items").cloned().unwrap_or(json!({}));
            let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            let used = row_count(name, values);
            let n = (used + 1).max(min).max(1);
            f.rows = (0..n)
                .map(|i| {
                    let row = format!("{name}.{i}");
                    if kind_of(&items, key) == "group" || kind_of(&items, key) == "money" {
                        object_fields(&items, &row, false, values, errors)
                    } else {
                        let mut one = field(&items, &row, key, false, values, errors);
                        one.label = format!("{} {}", humanize(key), i + 1);
                        vec![one]
                    }
                })
                .collect();
        }
        _ => {}
    }
    f
}

/// Rows submitted for the repeatable field `name` (highest index + 1).
fn row_count(name: &str, values: &Values) -> usize {
    let prefix = format!("{name}.");
    values
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .filter_map(|(k, _)| k.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('.').next()?.parse::<usize>().ok())
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// Turn submitted values into the operation's input. Fields that cannot be converted
/// (a number that is not one, JSON that does not parse) are reported by name.
pub fn parse(schema: &Value, values: &Values) -> (Value, BTreeMap<String, String>) {
    let mut errors = BTreeMap::new();
    let out = parse_object(schema, "", values, &mut errors).unwrap_or_default();
    (Value::Object(out), errors)
}

fn parse_object(
    schema: &Value,
    prefix: &str,
    values: &Values,
    errors: &mut BTreeMap<String, String>,
) -> Option<Map<String, Value>> {
    let props = properties(schema)?;
    let mut out = Map::new();
    for (key, s) in props {
        let name = join(prefix, key);
        if let Some(v) = parse_value(s, &name, key, values, errors) {
            out.insert(key.clone(), v);
        }
    }
    Some(out)
}

fn parse_value(
    s: &Value,
    name: &str,
    key: &str,
    values: &Values,
    errors: &mut BTreeMap<String, String>,
) -> Option<Value> {
    let kind = kind_of(s, key);
    let text = values.get(name).map(|v| v.trim()).unwrap_or_default();
    match kind {
        "money" | "group" => {
            let obj = parse_object(s, name, values, errors)?;
            (!obj.is_empty()).then_some(Value::Object(obj))
        }
        "rows" => {
            let items = s.get("items").cloned().unwrap_or(json!({}));
            let n = row_count(name, values);
            let rows: Vec<Value> = (0..n)
                .filter_map(|i| parse_value(&items, &format!("{name}.{i}"), key, values, errors))
                .collect();
            (!rows.is_empty()).then_some(Value::Array(rows))
        }
        _ if text.is_empty() => None,
        "select" => {
            let options = s.get("enum").and_then(Value::as_array);
            Some(
                options
                    .and_then(|o| o.iter().find(|v| scalar_text(v) == text).cloned())
                    .unwrap_or_else(|| Value::String(text.to_string())),
            )
        }
        "boolean" => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => {
                errors.insert(name.to_string(), "choose yes or no".into());
                None
            }
        },
        "number" => {
            let parsed = if types(s).contains(&"integer") {
                text.parse::<i64>().ok().map(Value::from)
            } else {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            };
            if parsed.is_none() {
                let what = if types(s).contains(&"integer") {
                    "a whole number, such as 12 (amounts of money here are in minor units: cents, pence)"
                } else {
                    "a number, such as 12.5"
                };
                errors.insert(name.to_string(), format!("'{text}' is not {what}"));
            }
            parsed
        }
        "json" => match serde_json::from_str(text) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.insert(name.to_string(), format!("this is not valid JSON: {e}"));
                None
            }
        },
        _ => Some(Value::String(text.to_string())),
    }
}

/// Place schema violations of `input` on the fields they concern: `/postings/0/account`
/// becomes `postings.0.account`; a missing required property is put on that property.
/// Violations of the whole input are under the empty name.
pub fn schema_errors(schema: &Value, input: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(validator) = jsonschema::validator_for(schema) else {
        return out;
    };
    for e in validator.iter_errors(input).take(50) {
        let mut name = e
            .instance_path()
            .to_string()
            .trim_start_matches('/')
            .replace('/', ".");
        use jsonschema::error::ValidationErrorKind as Kind;
        let message = match e.kind() {
            Kind::Required { property } => {
                name = join(&name, &scalar_text(property));
                "this field is required".to_string()
            }
            Kind::MinItems { limit } => format!("fill in at least {limit} rows"),
            Kind::MaxItems { limit } => format!("at most {limit} rows are allowed"),
            Kind::Pattern { pattern } => {
                format!("this does not have the expected form ({pattern})")
            }
            _ => e.to_string(),
        };
        out.entry(name).or_insert(message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post_entry_schema() -> Value {
        json!({"type": "object", "required": ["date", "postings"], "properties": {
            "date": {"type": "string", "format": "date"},
            "kind": {"type": "string", "enum": ["a", "b"]},
            "count": {"type": "integer", "minimum": 1},
            "flag": {"type": "boolean"},
            "reference": {"type": "object", "required": ["source"], "properties": {"source": {"type": "string"}, "document": {"type": "string"}}},
            "cost": {"type": "object", "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"}}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "profile": {"type": "object"},
            "postings": {"type": "array", "minItems": 2, "items": {"type": "object", "required": ["account"], "properties": {
                "account": {"type": "string"},
                "amount": {"oneOf": [{"type": "integer"}, {"type": "string"}]}}}}
        }})
    }

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kinds_follow_the_schema() {
        let f = fields(&post_entry_schema(), &Values::new(), &HashMap::new());
        let kind = |n: &str| f.iter().find(|f| f.name == n).map(|f| f.kind).unwrap();
        assert_eq!(kind("date"), "date");
        assert_eq!(kind("kind"), "select");
        assert_eq!(kind("count"), "number");
        assert_eq!(kind("flag"), "boolean");
        assert_eq!(kind("reference"), "group");
        assert_eq!(kind("cost"), "money");
        assert_eq!(kind("tags"), "rows");
        assert_eq!(kind("profile"), "json");
        let postings = f.iter().find(|f| f.name == "postings").unwrap();
        assert_eq!(postings.rows.len(), 2, "minItems rows are shown");
        assert_eq!(postings.rows[1][0].name, "postings.1.account");
        assert_eq!(postings.rows[1][1].kind, "text");
        assert!(f.iter().find(|f| f.name == "date").unwrap().required);
        // Required inside an optional group or a row only once it is filled in.
        let reference = f.iter().find(|f| f.name == "reference").unwrap();
        assert!(!reference.children[0].required);
        assert!(!postings.rows[0][0].required);
    }

    #[test]
    fn submitted_values_become_the_input_and_blank_rows_are_dropped() {
        let v = values(&[
            ("date", "2024-01-15"),
            ("kind", "b"),
            ("count", "3"),
            ("flag", "false"),
            ("reference.source", "web"),
            ("reference.document", ""),
            ("tags.0", "x"),
            ("tags.1", ""),
            ("profile", r#"{"w4": true}"#),
            ("postings.0.account", "expenses:rent"),
            ("postings.0.amount", "800.00"),
            ("postings.1.account", "assets:bank"),
            ("postings.1.amount", ""),
            ("postings.2.account", ""),
        ]);
        let (input, errors) = parse(&post_entry_schema(), &v);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            input,
            json!({"date": "2024-01-15", "kind": "b", "count": 3, "flag": false,
                   "reference": {"source": "web"}, "tags": ["x"], "profile": {"w4": true},
                   "postings": [{"account": "expenses:rent", "amount": "800.00"}, {"account": "assets:bank"}]})
        );
        // The form shown again keeps every value and offers one more blank row.
        let f = fields(&post_entry_schema(), &v, &HashMap::new());
        let postings = f.iter().find(|f| f.name == "postings").unwrap();
        assert_eq!(postings.rows.len(), 3);
        assert_eq!(postings.rows[0][1].value, "800.00");
    }

    #[test]
    fn bad_values_are_reported_on_their_field() {
        let (_, errors) = parse(
            &post_entry_schema(),
            &values(&[("count", "three"), ("profile", "{oops")]),
        );
        assert!(errors["count"].contains("'three' is not a whole number"));
        assert!(errors["profile"].contains("not valid JSON"));
    }

    #[test]
    fn schema_violations_land_on_fields() {
        let input = json!({"count": 0, "postings": [{"amount": 1}]});
        let errors = schema_errors(&post_entry_schema(), &input);
        assert_eq!(errors["date"], "this field is required");
        assert_eq!(errors["postings.0.account"], "this field is required");
        assert!(errors["count"].contains("minimum"), "{errors:?}");
        assert_eq!(errors["postings"], "fill in at least 2 rows");
    }
}
