//! The kit used as a vendor would: install a built component, enable it for a tenant,
//! call its operations. The component is the `probe` test fixture, built by
//! `scripts/build-wasm.sh` into `target/wasm/wasm32-wasip2/release/`.

use std::path::PathBuf;

use backoffice_testkit::TestKit;
use serde_json::json;

fn probe() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("wasm/wasm32-wasip2/release/probe.wasm")
}

#[test]
fn a_plugin_round_trips_through_the_kit() {
    let path = probe();
    assert!(
        path.exists(),
        "{} is missing: build the components first with `bash scripts/build-wasm.sh`",
        path.display()
    );
    let kit = TestKit::new().expect("a kit");
    let info = kit.install_file(&path).expect("install");
    assert_eq!(info.id, "probe");
    kit.tenant("acme").expect("tenant");
    kit.enable("probe", "acme").expect("enable");
    kit.call("acme", "probe", "put", json!({ "key": "k", "value": 7 }))
        .expect("put");
    let out = kit
        .call("acme", "probe", "get", json!({ "key": "k" }))
        .expect("get");
    assert_eq!(out, json!({ "value": 7 }));
    // Another tenant sees nothing of acme's.
    kit.tenant("other").expect("tenant");
    kit.enable("probe", "other").expect("enable");
    let out = kit
        .call("other", "probe", "get", json!({ "key": "k" }))
        .expect("get");
    assert_eq!(out, json!({ "value": null }));
}
