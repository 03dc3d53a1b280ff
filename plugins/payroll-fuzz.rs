// Property tests of a payroll rules plugin's tax profiles and inputs (issue 16),
// shared by payroll-de, payroll-gb and payroll-us: each includes this file from its
// `rules/fuzz.rs` after defining `BASE`, a valid calculation input as JSON text.
//
// Each case edits `BASE`: profile fields the plugin's own `profile_schema()` names
// (nested objects too) and unknown ones get arbitrary JSON, extreme numbers, numeric
// text or the schema's enum values; the gross, the pay date and the year-to-date
// figures get extreme or malformed values. `calculate` must answer a payslip or an
// error; it never panics (overflow checks are on in test builds). Inputs are bounded,
// so no case can run long. Cases per test: `CASES`, or `PROPTEST_CASES` for a longer
// local run.

use proptest::prelude::*;
use serde_json::{Value, json};

/// Cases per property in CI.
const CASES: u32 = 512;

fn config() -> ProptestConfig {
    config_with(CASES)
}

include!("fuzz-support.rs");

/// Every profile field path the schema names (`a`, `a.b` for nested objects), with
/// the values its `enum`s list.
fn fields(schema: &Value, prefix: &str, out: &mut Vec<(String, Vec<Value>)>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, sub) in props {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let listed = sub
            .get("enum")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        out.push((path.clone(), listed));
        fields(sub, &path, out);
    }
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            0i64,
            1,
            -1,
            2,
            6,
            7,
            99,
            100,
            1_000_000,
            i64::MAX,
            i64::MIN,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
        ])
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<u64>().prop_map(Value::from),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9.,eE+-]{0,24}",
        "[A-Z0-9 ]{0,10}",
        "\\PC{0,12}",
        Just("9".repeat(40)),
        Just("-99999999999999999999.99".to_string()),
        Just("0.000000000000000000001".to_string()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z-]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One edit of a profile field: which field (an index into the schema's, or an
/// unknown name), and its new value (arbitrary, or one of the field's enum values).
fn profile_edit() -> impl Strategy<Value = (prop::sample::Index, bool, Value, prop::sample::Index)>
{
    (
        any::<prop::sample::Index>(),
        prop::bool::weighted(0.05),
        json_value(),
        any::<prop::sample::Index>(),
    )
}

fn set(profile: &mut Value, path: &str, value: Value) {
    let mut at = profile;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !at.is_object() {
            *at = json!({});
        }
        let Some(map) = at.as_object_mut() else {
            return;
        };
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        at = map.entry(part.to_string()).or_insert_with(|| json!({}));
    }
}

type Edits = Vec<(prop::sample::Index, bool, Value, prop::sample::Index)>;

fn edited(
    edits: Edits,
    gross: Option<i64>,
    date: Option<String>,
    ytd: Vec<(prop::sample::Index, i64)>,
) -> Value {
    let mut input: Value = serde_json::from_str(BASE).expect("BASE is JSON");
    let mut known = Vec::new();
    fields(&super::profile_schema(), "", &mut known);
    for (field, unknown, value, pick) in edits {
        let (path, listed) = if unknown || known.is_empty() {
            ("unknown-field".to_string(), Vec::new())
        } else {
            known[field.index(known.len())].clone()
        };
        let value = if !listed.is_empty() && pick.index(2) == 0 {
            listed[pick.index(listed.len())].clone()
        } else {
            value
        };
        set(&mut input["profile"], &path, value);
    }
    if let Some(gross) = gross {
        input["gross"] = json!(gross);
    }
    if let Some(date) = date {
        input["pay-date"] = json!(date);
    }
    for (code, amount) in ytd {
        input["ytd"][super::YTD_CODES[code.index(super::YTD_CODES.len())]] = json!(amount);
    }
    input
}

fn gross() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(prop_oneof![
        any::<i64>(),
        0i64..10_000_000,
        prop::sample::select(vec![0i64, 1, i64::MAX, i64::MIN, i64::MAX / 100, 1 << 53]),
    ])
}

fn pay_date() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        "20[0-9]{2}-[0-1][0-9]-[0-3][0-9]",
        "[0-9-]{0,12}",
        "\\PC{0,12}",
    ])
}

fn ytd() -> impl Strategy<Value = Vec<(prop::sample::Index, i64)>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop_oneof![any::<i64>(), 0i64..100_000_000],
        ),
        0..4,
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn edited_profiles_compute_or_are_refused(
        edits in prop::collection::vec(profile_edit(), 1..5),
    ) {
        let input = edited(edits, None, None, Vec::new());
        if let Ok(input) = serde_json::from_value::<backoffice_sdk::payroll::CalcInput>(input) {
            let _ = super::calculate(&input);
        }
    }

    #[test]
    fn extreme_inputs_compute_or_are_refused(
        edits in prop::collection::vec(profile_edit(), 0..3),
        gross in gross(),
        date in pay_date(),
        ytd in ytd(),
    ) {
        let input = edited(edits, gross, date, ytd);
        if let Ok(input) = serde_json::from_value::<backoffice_sdk::payroll::CalcInput>(input) {
            let _ = super::calculate(&input);
        }
    }

    #[test]
    fn any_profile_computes_or_is_refused(profile in json_value()) {
        let mut input: Value = serde_json::from_str(BASE).expect("BASE is JSON");
        input["profile"] = profile;
        if let Ok(input) = serde_json::from_value::<backoffice_sdk::payroll::CalcInput>(input) {
            let _ = super::calculate(&input);
        }
    }
}

#[test]
fn the_base_input_computes() {
    let input = serde_json::from_str(BASE).expect("a calculation input");
    assert!(super::calculate(&input).is_ok());
}
