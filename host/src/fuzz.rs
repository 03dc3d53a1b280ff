//! Property tests of the host's parsers (issue 16): manifests (`plugin.toml`), packages
//! (a component's sections), and JSON inputs checked against operation schemas. Any
//! input, and valid inputs with characters or bytes flipped, inserted, deleted or
//! duplicated, must give `Ok` or an error that says what is wrong; nothing panics.
//! Inputs are bounded, so no case can run long. Cases per test: [`CASES`] (fewer for
//! the bundled manifests, which are large), or `PROPTEST_CASES` for a longer local run.

use proptest::prelude::*;
use serde_json::Value;

use crate::manifest::{self, Manifest};
use crate::pack::write_leb;
use crate::package::{self, PackageError};

/// Cases per property in CI.
const CASES: u32 = 512;

fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Failures are kept as named unit tests, not as files beside the source.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `base` with up to `max` edits: a run deleted, `insert` text inserted, an element
/// replaced, or a run duplicated in place.
fn edits<T: Clone + std::fmt::Debug>(
    base: Vec<T>,
    max: usize,
    insert: impl Strategy<Value = Vec<T>>,
) -> impl Strategy<Value = Vec<T>> {
    prop::collection::vec((any::<usize>(), 0u8..4, insert), 1..=max).prop_map(move |edits| {
        let mut s = base.clone();
        for (seed, kind, text) in edits {
            let at = seed % (s.len() + 1);
            let end = (at + 1 + seed % 16).min(s.len());
            match kind {
                0 => {
                    s.drain(at..end);
                }
                1 => {
                    s.splice(at..at, text);
                }
                2 => {
                    if let (Some(c), true) = (text.into_iter().next(), at < s.len()) {
                        s[at] = c;
                    }
                }
                _ => {
                    let run: Vec<T> = s[at..end].to_vec();
                    s.splice(at..at, run);
                }
            }
        }
        s
    })
}

/// Text edits that favour TOML's and JSON's own syntax.
fn edited_text(base: &str, max: usize) -> impl Strategy<Value = String> {
    let insert = prop_oneof![
        "[ \\t\\n\"'=\\[\\]{}:,.#*^~<>0-9a-z\\\\-]{0,8}",
        "\\PC{0,4}",
        Just("(".to_string()),
        Just("\\u".to_string()),
        Just("9".repeat(30)),
    ]
    .prop_map(|s: String| s.chars().collect::<Vec<char>>());
    edits(base.chars().collect(), max, insert).prop_map(|c| c.into_iter().collect())
}

/// The input schema of [`SMALL`]'s first operation.
const SCHEMA: &str = r#"{ "type": "object", "required": ["name"], "properties": { "name": { "type": "string", "pattern": "^[A-Z]", "maxLength": 10 } } }"#;

/// Edits of a JSON schema's text: JSON punctuation, keywords, regular expression and
/// `$ref` syntax.
fn edited_schema(base: &str, max: usize) -> impl Strategy<Value = String> {
    let insert = prop_oneof![
        "[ \"{}\\[\\]:,0-9a-z().*+?|^$#/\\\\-]{0,6}",
        prop::sample::select(vec![
            "\"pattern\": \"",
            "\"$ref\": \"#/",
            "\"format\": \"",
            "\"$defs\": {",
            "\"enum\": [",
            "\"minimum\": 1e999",
            "\\p{",
            "(?<",
        ])
        .prop_map(String::from),
    ]
    .prop_map(|s: String| s.chars().collect::<Vec<char>>());
    edits(base.chars().collect(), max, insert).prop_map(|c| c.into_iter().collect())
}

/// A keyword with a value of the right shape or not: regular expressions, JSON
/// pointers, numbers at the edges, values of the wrong type.
fn keyword() -> impl Strategy<Value = (String, Value)> {
    let regex = "[()\\[\\]{}*+?|^$.a-z0-9<>=!\\\\-]{0,8}";
    let names = prop::sample::select(vec![
        "type",
        "required",
        "properties",
        "items",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "format",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "additionalProperties",
        "dependentRequired",
        "dependentSchemas",
        "contains",
        "propertyNames",
        "$defs",
        "$id",
        "$anchor",
        "$dynamicRef",
        "unevaluatedProperties",
    ]);
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        prop::sample::select(vec![0i64, -1, 1, i64::MAX, i64::MIN]).prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[a-z#/$:.-]{0,10}".prop_map(Value::from),
        Just(serde_json::json!({})),
        Just(serde_json::json!([])),
        Just(serde_json::json!(["a", "a"])),
        Just(serde_json::json!({"type": "nope"})),
        Just(serde_json::json!({"$ref": "#/$defs/a"})),
    ];
    prop_oneof![
        regex.prop_map(|p| ("pattern".to_string(), Value::from(p))),
        regex.prop_map(|p| (
            "patternProperties".to_string(),
            serde_json::json!({ p: {} })
        )),
        "#?(/[a-z$~0-9]{0,6}){0,3}".prop_map(|r| ("$ref".to_string(), Value::from(r))),
        (names, value).prop_map(|(n, v)| (n.to_string(), v)),
    ]
}

/// [`SCHEMA`] with up to `max` keywords set in any of its objects.
fn schema_with_keywords(max: usize) -> impl Strategy<Value = Value> {
    prop::collection::vec((any::<prop::sample::Index>(), keyword()), 1..=max).prop_map(|adds| {
        let mut schema: Value = serde_json::from_str(SCHEMA).expect("SCHEMA is JSON");
        for (at, (key, value)) in adds {
            let mut pointers = Vec::new();
            fn objects(v: &Value, at: String, out: &mut Vec<String>) {
                if let Value::Object(map) = v {
                    out.push(at.clone());
                    for (k, v) in map {
                        objects(
                            v,
                            format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                            out,
                        );
                    }
                }
            }
            objects(&schema, String::new(), &mut pointers);
            let pointer = &pointers[at.index(pointers.len())];
            if let Some(Value::Object(map)) = schema.pointer_mut(pointer) {
                map.insert(key, value);
            }
        }
        schema
    })
}

/// The manifests of the bundled plugins: real, large, every feature in use.
const BUNDLED: &[&str] = &[
    include_str!("../../plugins/banking/plugin.toml"),
    include_str!("../../plugins/compliance/plugin.toml"),
    include_str!("../../plugins/contacts/plugin.toml"),
    include_str!("../../plugins/invoicing/plugin.toml"),
    include_str!("../../plugins/ledger/plugin.toml"),
    include_str!("../../plugins/payroll/plugin.toml"),
    include_str!("../../plugins/payroll-de/plugin.toml"),
    include_str!("../../plugins/payroll-gb/plugin.toml"),
    include_str!("../../plugins/payroll-us/plugin.toml"),
    include_str!("../../plugins/training/plugin.toml"),
];

/// A small manifest with every kind of field.
const SMALL: &str = r#"
id = "contacts"
name = "Contacts"
vendor = "backoffice"
version = "0.1.0"
description = "People and companies."
host-api = "^0.1"
capabilities = ["storage", "events", "scheduler", "plugins"]
subscriptions = ["ledger.entry-posted"]
emits = ["contacts.added"]
reversible-migrations = true

[dependencies]
ledger = "^0.1"

[optional-dependencies]
invoicing = ">=0.1, <2"

[[operations]]
name = "create"
permission = "contacts.write"
deadline-ms = 5000
input = '''{ "type": "object", "required": ["name"], "properties": { "name": { "type": "string", "pattern": "^[A-Z]", "maxLength": 10 } } }'''

[operations.output]
type = "object"
properties = { id = { type = "string", format = "date" } }

[[operations]]
name = "list"
permission = "contacts.read"
read-only = true

[[jobs]]
name = "nightly"
cron = "0 2 * * 1-5"

[[jobs]]
name = "on-request"
"#;

/// Parse; what parses must also load: the host compiles every schema it accepted.
fn parse_and_compile(text: &str) -> Result<(), TestCaseError> {
    if let Ok(m) = Manifest::parse(text) {
        for op in &m.operations {
            for schema in [&op.input, &op.output] {
                prop_assert!(
                    jsonschema::validator_for(schema).is_ok(),
                    "operation '{}' has a schema the manifest check accepted but the host cannot compile: {schema}",
                    op.name
                );
            }
        }
    }
    Ok(())
}

/// A component with the given custom sections, encoded by hand: the header, then
/// section id 0, its size, the name's length and name, the payload.
fn component(sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"\0asm\x0d\x00\x01\x00".to_vec();
    for (name, data) in sections {
        let mut body = Vec::new();
        write_leb(name.len(), &mut body);
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        out.push(0);
        write_leb(body.len(), &mut out);
        out.extend(body);
    }
    out
}

fn package_bytes() -> Vec<u8> {
    component(&[
        ("other", b"x"),
        (manifest::SECTION, SMALL.as_bytes()),
        ("name", b"\x00\x01a"),
    ])
}

/// Every operation schema of the bundled plugins, compiled as the host compiles them,
/// and the property names they use (keys for generated objects).
fn bundled_schemas() -> (Vec<(String, jsonschema::Validator)>, Vec<String>) {
    let mut validators = Vec::new();
    let mut keys = std::collections::BTreeSet::new();
    fn collect(v: &Value, keys: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    keys.extend(props.keys().cloned());
                }
                map.values().for_each(|v| collect(v, keys));
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, keys)),
            _ => {}
        }
    }
    for text in BUNDLED {
        let m = Manifest::parse(text).expect("a bundled manifest parses");
        for op in &m.operations {
            collect(&op.input, &mut keys);
            let v = jsonschema::validator_for(&op.input).expect("a bundled schema compiles");
            validators.push((format!("{}/{}", m.id, op.name), v));
        }
    }
    (validators, keys.into_iter().collect())
}

fn json_value(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        prop_oneof![
            "[0-9.eE+-]{0,20}",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "[a-z]-[0-9]{6}",
            "\\PC{0,16}",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        let key = prop_oneof![prop::sample::select(keys.clone()), "\\PC{0,8}"];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn any_text_is_a_manifest_or_refused(text in "(?s).{0,600}") {
        parse_and_compile(&text)?;
    }

    #[test]
    fn edited_manifests_parse_or_are_refused(text in edited_text(SMALL, 8)) {
        parse_and_compile(&text)?;
    }

    #[test]
    fn schemas_with_keywords_added_parse_or_are_refused(schema in schema_with_keywords(4)) {
        let text = SMALL.replace(SCHEMA, &schema.to_string().replace("'''", "'"));
        parse_and_compile(&text)?;
    }

    #[test]
    fn edited_schemas_parse_or_are_refused(schema in edited_schema(SCHEMA, 4)) {
        // A literal TOML string holds anything but its own closing quotes.
        let text = SMALL.replace(SCHEMA, &schema.replace("'''", "'"));
        parse_and_compile(&text)?;
    }

    #[test]
    fn any_bytes_are_a_package_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = package::read_manifest(&bytes);
        let mut framed = b"\0asm\x0d\x00\x01\x00".to_vec();
        framed.extend(bytes);
        let _ = package::read_manifest(&framed);
    }

    #[test]
    fn edited_packages_are_read_or_refused(
        bytes in edits(package_bytes(), 6, prop::collection::vec(any::<u8>(), 0..8)),
    ) {
        if let Err(e) = package::read_manifest(&bytes) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

proptest! {
    // The bundled manifests are up to 40 KB each: fewer cases, each parsing one.
    #![proptest_config(config(CASES / 8))]

    #[test]
    fn edited_bundled_manifests_parse_or_are_refused(
        text in (0..BUNDLED.len()).prop_flat_map(|i| edited_text(BUNDLED[i], 4)),
    ) {
        parse_and_compile(&text)?;
    }
}

#[test]
fn json_inputs_are_checked_against_every_bundled_schema() {
    let (validators, keys) = bundled_schemas();
    let mut runner = proptest::test_runner::TestRunner::new(config(CASES));
    let strategy = (
        any::<prop::sample::Index>(),
        json_value(keys),
        edits(
            Vec::new(),
            4,
            "\\PC{0,4}".prop_map(|s: String| s.into_bytes()),
        ),
    );
    runner
        .run(&strategy, |(which, value, noise)| {
            let (name, validator) = &validators[which.index(validators.len())];
            // The value itself, then its text with bytes inserted, as a body would be.
            let _ = crate::runtime::schema_errors(validator, &value);
            let mut text = serde_json::to_vec(&value).expect("serialises");
            let at = text.len() / 2;
            text.splice(at..at, noise);
            if let Ok(parsed) = serde_json::from_slice::<Value>(&text) {
                let errors = crate::runtime::schema_errors(validator, &parsed);
                prop_assert!(errors.is_none_or(|e| !e.is_empty()), "{name}");
            }
            Ok(())
        })
        .expect("no input breaks schema validation");
}

#[test]
fn the_seed_inputs_are_valid() {
    assert!(Manifest::parse(SMALL).is_ok() && SMALL.contains(SCHEMA));
    let m = package::read_manifest(&package_bytes()).expect("the package reads");
    assert_eq!(m.id, "contacts");
    assert!(matches!(
        package::read_manifest(&component(&[])),
        Err(PackageError::NoManifest)
    ));
    assert!(!bundled_schemas().0.is_empty());
}
