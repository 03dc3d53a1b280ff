//! The bundled `contacts` plugin through the real host: what a back-office clerk does
//! with a register of customers and suppliers.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_host::HostError;
use backoffice_tests::TestHost;
use serde_json::{Value, json};

fn host() -> TestHost {
    TestHost::new().with_plugin("contacts", "contacts", &["acme"])
}

fn create(t: &TestHost, name: &str, kind: &str) -> Value {
    t.call(
        "acme",
        "contacts",
        "create",
        json!({"name": name, "kind": kind}),
    )
    .unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn update_with_a_stale_revision_is_a_conflict_and_changes_nothing() {
    let t = host();
    let c = create(&t, "Initech", "customer");
    let id = c["id"].as_str().unwrap();
    assert_eq!(c["revision"], 1);
    let updated = t
        .call(
            "acme",
            "contacts",
            "update",
            json!({"id": id, "expected-revision": 1, "phone": "+44 20 7946 0000"}),
        )
        .unwrap();
    assert_eq!(updated["revision"], 2);
    let stale = t
        .call(
            "acme",
            "contacts",
            "update",
            json!({"id": id, "expected-revision": 1, "name": "Initrode"}),
        )
        .unwrap_err();
    assert!(matches!(stale, HostError::Call { .. }), "{stale:?}");
    assert_eq!(stale.http_status(), 409, "{stale}");
    let now = t
        .call("acme", "contacts", "get", json!({"id": id}))
        .unwrap();
    assert_eq!(now["name"], "Initech");
    assert_eq!(now["phone"], "+44 20 7946 0000");
}

#[test]
fn archived_contacts_leave_the_list_but_stay_readable() {
    let t = host();
    let a = create(&t, "Alpha Supplies", "supplier");
    create(&t, "Beta Foods", "customer");
    t.call("acme", "contacts", "archive", json!({"id": a["id"]}))
        .unwrap();
    let list = t.call("acme", "contacts", "list", json!({})).unwrap();
    assert_eq!(names(&list), ["Beta Foods"]);
    let all = t
        .call(
            "acme",
            "contacts",
            "list",
            json!({"include-archived": true}),
        )
        .unwrap();
    assert_eq!(names(&all), ["Alpha Supplies", "Beta Foods"]);
    let got = t
        .call("acme", "contacts", "get", json!({"id": a["id"]}))
        .unwrap();
    assert_eq!(got["archived"], true);
}

#[test]
fn list_pages_with_a_cursor_and_filters_by_kind_and_prefix() {
    let t = host();
    for (name, kind) in [
        ("Acme Tools", "supplier"),
        ("Ada Ltd", "customer"),
        ("Adam & Co", "customer"),
        ("Zeta", "customer"),
    ] {
        create(&t, name, kind);
    }
    let first = t
        .call("acme", "contacts", "list", json!({"limit": 2}))
        .unwrap();
    assert_eq!(names(&first), ["Acme Tools", "Ada Ltd"]);
    let cursor = first["next-cursor"].as_str().unwrap();
    let second = t
        .call(
            "acme",
            "contacts",
            "list",
            json!({"limit": 2, "cursor": cursor}),
        )
        .unwrap();
    assert_eq!(names(&second), ["Adam & Co", "Zeta"]);
    let customers = t
        .call(
            "acme",
            "contacts",
            "list",
            json!({"kind": "customer", "name-prefix": "ad"}),
        )
        .unwrap();
    assert_eq!(names(&customers), ["Ada Ltd", "Adam & Co"]);
    let missing = t
        .call("acme", "contacts", "get", json!({"id": "c-999999"}))
        .unwrap_err();
    assert_eq!(missing.http_status(), 404, "{missing}");
}

#[test]
fn billing_details_are_optional_checked_and_clearable() {
    let t = host();
    // A contact without them reads as before: the fields are simply absent.
    let plain = create(&t, "Initech", "customer");
    for field in ["billing-address", "payment-terms-days", "default-currency"] {
        assert!(plain.get(field).is_none(), "{plain}");
    }
    let c = t
        .call(
            "acme",
            "contacts",
            "create",
            json!({"name": "Acme Retail Ltd", "kind": "customer",
                   "billing-address": " 1 High Street \n\n London EC1A 1AA ",
                   "payment-terms-days": 30, "default-currency": "GBP"}),
        )
        .unwrap();
    assert_eq!(c["billing-address"], "1 High Street\nLondon EC1A 1AA");
    assert_eq!(c["payment-terms-days"], 30);
    assert_eq!(c["default-currency"], "GBP");
    let id = c["id"].as_str().unwrap();
    for (input, status, fragment) in [
        (
            json!({"default-currency": "XYZ"}),
            400,
            "not an ISO 4217 currency code",
        ),
        (json!({"payment-terms-days": 4000}), 400, "maximum"),
        (json!({"billing-address": ""}), 400, ""),
    ] {
        let mut input = input;
        input["id"] = json!(id);
        let err = t.call("acme", "contacts", "update", input).unwrap_err();
        assert_eq!(err.http_status(), status, "{err}");
        assert!(err.to_string().contains(fragment), "{err}");
    }
    let cleared = t
        .call(
            "acme",
            "contacts",
            "update",
            json!({"id": id, "payment-terms-days": null, "default-currency": null, "billing-address": null}),
        )
        .unwrap();
    assert!(cleared.get("payment-terms-days").is_none(), "{cleared}");
    assert!(cleared.get("default-currency").is_none(), "{cleared}");
    assert!(cleared.get("billing-address").is_none(), "{cleared}");
    assert_eq!(cleared["revision"], 2);
}
