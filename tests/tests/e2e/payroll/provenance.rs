//! Payslip provenance (issue 22, item 7) through the real binary: each payslip names
//! the rules plugin, version and package digest that computed it, as the registry
//! reports them; an upgrade of the rules changes what new payslips show and nothing
//! of the old ones; a consumer built against `engine@0.1.0` keeps working.

use backoffice_tests::{Cli, wasm, wasm_path};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The version of the bundled `payroll-us` (its `plugin.toml`).
const INSTALLED: &str = "0.1.1";
/// The version the upgrade in these tests installs: the same code repackaged.
const UPGRADED: &str = "0.1.2";

/// The US employee these tests pay: monthly, 5,000.00 USD a month.
fn us_employee() -> Value {
    json!({"id": "US1", "name": "Grace Hopper", "country": "US", "frequency": "monthly",
           "salary": 6_000_000, "start-date": "2026-01-01",
           "profile": {"filing-status": "single"}})
}

/// A CLI with tenant `acme` and `plugins` installed and enabled for it.
fn cli_with(plugins: &[(&str, &str)]) -> Cli {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    for (file, id) in plugins {
        cli.install_unsigned(file).ok();
        cli.run(&["plugin", "enable", id, "--tenant", "acme"]).ok();
    }
    cli
}

/// `{plugin, version, digest}` of an installed plugin, from `plugin list --json`.
fn listed(cli: &Cli, id: &str) -> Value {
    let list = cli.run(&["plugin", "list", "--json"]).json();
    let p = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in plugin list: {list}"))
        .clone();
    json!({"plugin": p["id"], "version": p["version"], "digest": p["digest"]})
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `payroll-us` as the same code released under `version` (five characters, like
/// `0.1.2`): the version of its embedded manifest rewritten in place, so the
/// component stays valid and its package digest changes.
fn payroll_us_as(version: &str) -> Vec<u8> {
    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }
    let mut bytes = wasm("payroll_us");
    let id = find(&bytes, b"id = \"payroll-us\"").expect("payroll-us embeds its manifest");
    let old = format!("version = \"{INSTALLED}\"");
    let old = old.as_bytes();
    let new = format!("version = \"{version}\"");
    assert_eq!(new.len(), old.len(), "a version of five characters");
    let at = id + find(&bytes[id..], old).expect("the manifest names the installed version");
    bytes[at..at + old.len()].copy_from_slice(new.as_bytes());
    bytes
}

fn payslip(cli: &Cli, run: &Value, format: &str) -> Value {
    cli.call(
        "acme",
        "payroll",
        "get-payslip",
        &json!({"run": run, "employee": "US1", "format": format}),
    )
}

#[test]
fn payslips_name_the_rules_that_computed_them_before_and_after_an_upgrade() {
    let cli = cli_with(&[("payroll_us", "payroll-us"), ("payroll", "payroll")]);
    cli.call("acme", "payroll", "set-employee", &us_employee());
    let march = cli.call(
        "acme",
        "payroll",
        "create-run",
        &json!({"frequency": "monthly", "period-start": "2026-03-01",
                "period-end": "2026-03-31", "pay-date": "2026-03-31"}),
    );

    // The payslip names what the registry lists: plugin, installed version and the
    // digest, which is the SHA-256 of the file that was installed.
    let before = listed(&cli, "payroll-us");
    assert_eq!(before["version"], INSTALLED);
    assert_eq!(before["digest"], sha256_hex(&wasm("payroll_us")));
    let slip = payslip(&cli, &march["id"], "text");
    assert_eq!(slip["rules"], before, "{slip}");
    let text = slip["text"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "Computed by payroll-us {INSTALLED} (package sha256 {})",
            before["digest"].as_str().unwrap()
        )),
        "{text}"
    );
    let html = payslip(&cli, &march["id"], "html")["html"].clone();
    assert!(
        html.as_str().unwrap().contains(&format!(
            "<p class=\"rules\">Computed by payroll-us {INSTALLED} (package sha256 {})</p>",
            before["digest"].as_str().unwrap()
        )),
        "{html}"
    );
    let page = cli.call(
        "acme",
        "payroll",
        "list-payslips",
        &json!({"run": march["id"]}),
    );
    assert_eq!(page["payslips"][0]["rules"], before, "{page}");
    // The what-if calculator names them too, next to the payslip's own fields.
    let what_if = cli.call(
        "acme",
        "payroll",
        "calculate-payslip",
        &json!({"country": "US", "pay-date": "2026-03-31", "frequency": "monthly",
                "gross": 500_000, "currency": "USD", "profile": {"filing-status": "single"}}),
    );
    assert_eq!(what_if["rules"], before, "{what_if}");
    assert_eq!(what_if["net"], slip["payslip"]["net"]);

    // The rules are upgraded: the same code as the next version, a different package.
    let file = cli.dir.path().join(format!("payroll-us-{UPGRADED}.wasm"));
    let upgraded = payroll_us_as(UPGRADED);
    std::fs::write(&file, &upgraded).unwrap();
    cli.run(&[
        "plugin",
        "upgrade",
        file.to_str().unwrap(),
        "--yes",
        "--allow-unsigned",
    ])
    .ok();
    let after = listed(&cli, "payroll-us");
    assert_eq!(after["version"], UPGRADED);
    assert_eq!(after["digest"], sha256_hex(&upgraded));
    assert_ne!(after["digest"], before["digest"]);

    // A new run's payslip names the new version and package; the old run's payslip
    // keeps the rules that computed it.
    let april = cli.call(
        "acme",
        "payroll",
        "create-run",
        &json!({"frequency": "monthly", "period-start": "2026-04-01",
                "period-end": "2026-04-30", "pay-date": "2026-04-30"}),
    );
    assert_eq!(payslip(&cli, &april["id"], "json")["rules"], after);
    assert_eq!(payslip(&cli, &march["id"], "json")["rules"], before);
    let page = cli.call(
        "acme",
        "payroll",
        "list-payslips",
        &json!({"run": april["id"]}),
    );
    assert_eq!(page["payslips"][0]["rules"], after, "{page}");
}

#[test]
fn a_consumer_of_engine_0_1_0_still_computes_next_to_payroll_on_0_2_0() {
    // What each component imports: the fixture the 0.1.0 engine, payroll the 0.2.0.
    let cli = Cli::new();
    let imports = |name: &str| -> Vec<String> {
        let file = wasm_path(name).display().to_string();
        let report = cli.run(&["plugin", "inspect", &file, "--json"]).json();
        serde_json::from_value(report["imports"].clone()).unwrap()
    };
    let old = imports("engine_v01");
    assert!(
        old.iter().any(|i| i == "backoffice:payroll/engine@0.1.0"),
        "{old:?}"
    );
    assert!(!old.iter().any(|i| i.contains("@0.2.0")), "{old:?}");
    let new = imports("payroll");
    assert!(
        new.iter().any(|i| i == "backoffice:payroll/engine@0.2.0"),
        "{new:?}"
    );
    assert!(
        !new.iter().any(|i| i == "backoffice:payroll/engine@0.1.0"),
        "{new:?}"
    );
    drop(cli);

    // Both installed on one host: the old consumer computes the same payslip as
    // payroll does, without the provenance it does not know of.
    let cli = cli_with(&[
        ("payroll_us", "payroll-us"),
        ("payroll", "payroll"),
        ("engine_v01", "engine-v01"),
    ]);
    let input = json!({"country": "US", "pay-date": "2026-03-31", "frequency": "monthly",
                       "gross": 500_000, "currency": "USD", "ytd": {},
                       "profile": {"filing-status": "single"}});
    let old_slip = cli.call("acme", "engine-v01", "calculate", &input);
    assert!(old_slip.get("rules").is_none(), "{old_slip}");
    let mut new_slip = cli.call("acme", "payroll", "calculate-payslip", &input);
    let rules = new_slip.as_object_mut().unwrap().remove("rules").unwrap();
    assert_eq!(old_slip, new_slip);
    assert_eq!(rules, listed(&cli, "payroll-us"));
    let countries = cli.call("acme", "engine-v01", "countries", &json!({}));
    assert_eq!(countries["countries"], json!(["US"]));
}
