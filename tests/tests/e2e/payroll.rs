//! Payroll through the real host: the country rules plugins against their fixture
//! cases (`tests/data/payroll/*.json`, each case with its source), employees, pay
//! runs approved by a second person and posted to the ledger, year-to-date figures,
//! payslips, and every kind of bad input the issue lists.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use backoffice_host::auth::Principal;
use backoffice_host::runtime::Limits;
use backoffice_tests::{TestHost, root, user};
use serde_json::{Value, json};

// Adjustment runs correcting approved runs (issue 22, item 1).
mod adjust;
// Off-cycle bonus runs (US supplemental wages).
mod bonus;
// German bonus runs (sonstige Bezüge).
mod bonus_de;
// UK bonus runs (cumulative PAYE, NI aggregated per earnings period).
mod bonus_gb;
// Student loans and pensions (UK), Midijobs, Minijobs and Umlagen (Germany).
mod deductions;
// Payment files: SEPA, Bacs Standard 18 and NACHA, bank accounts shown masked.
mod payments;
// Dry runs of an approval (issue 17).
mod preview;
// Filings: Form 941, W-2, RTI FPS, Lohnsteuer-Anmeldung (issue 22, item 6).
mod filings;
// The FPS NI earnings bands and the Kirchensteuer per denomination (issue 22, item 6).
mod filings_bands;
// Correction filings: Form 941-X, W-2c, berichtigte Lohnsteuer-Anmeldung (issue 22).
mod corrections;
// Corrections of a tax year that has ended: its rules, its correction filings.
mod prior_year;
// The W-2s of a year as an SSA EFW2 file.
mod efw2;
// The W-2cs of a year as an SSA EFW2C file.
mod efw2c;
// The FPS as HMRC's XML (GovTalk envelope, IRmark).
mod fps_xml;
mod us_states;
// A large run approved under a small memory cap.
mod large;
// Create, approve, pay by file in parts and file a large run in bounded memory.
mod scale;
// Which rules plugin, version and package computed each payslip (issue 22, item 7).
mod provenance;

/// A host with the ledger, payroll and the three rules plugins enabled for "acme".
fn host() -> TestHost {
    host_with(Limits {
        call_deadline: Duration::from_secs(10),
        ..Limits::default()
    })
}

/// [`host`] with other limits.
fn host_with(limits: Limits) -> TestHost {
    let t = TestHost::with_limits(limits);
    for file in [
        "ledger",
        "payroll_us",
        "payroll_gb",
        "payroll_de",
        "payroll",
    ] {
        t.install(file);
    }
    t.host
        .create_tenant("acme", None, Some("America/New_York"))
        .unwrap();
    for plugin in [
        "ledger",
        "payroll-us",
        "payroll-gb",
        "payroll-de",
        "payroll",
    ] {
        t.host.enable(plugin, "acme").unwrap();
    }
    t
}

fn clerk(name: &str) -> Principal {
    user(name, &["payroll.*", "ledger.*"])
}

fn call(t: &TestHost, who: &Principal, op: &str, input: Value) -> Value {
    t.call_as("acme", "payroll", op, input, who)
        .unwrap_or_else(|e| panic!("{op} failed: {e}"))
}

/// The call fails with `status` and a message containing every fragment.
fn fails(t: &TestHost, who: &Principal, op: &str, input: Value, status: u16, fragments: &[&str]) {
    let err = t
        .call_as("acme", "payroll", op, input.clone(), who)
        .expect_err(&format!("{op} {input} should fail"));
    let msg = err.to_string();
    assert_eq!(err.http_status(), status, "{msg}");
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} lacks {f:?}");
    }
}

/// Nothing of a refused run was kept: no run, and the books still balance.
fn nothing_was_paid(t: &TestHost, who: &Principal) {
    assert_eq!(call(t, who, "list-runs", json!({}))["runs"], json!([]));
    let trial = t
        .call("acme", "ledger", "trial-balance", json!({}))
        .unwrap();
    assert_eq!(trial["balanced"], true);
}

/// The creator of run `id` may not approve it (segregation of duties); `approver`
/// does. Answers the approval, the entry it posted and the entry's amounts per account.
fn approve_by_second_person(
    t: &TestHost,
    creator: &Principal,
    approver: &Principal,
    id: &Value,
) -> (Value, Value, BTreeMap<String, i64>) {
    fails(
        t,
        creator,
        "approve-run",
        json!({"id": id}),
        403,
        &["segregation of duties"],
    );
    let posted = call(t, approver, "approve-run", json!({"id": id}));
    assert_eq!(posted["status"], "posted");
    let entry = t
        .call(
            "acme",
            "ledger",
            "get-entry",
            json!({"id": posted["ledger-entry"]}),
        )
        .unwrap();
    let mut by_account: BTreeMap<String, i64> = BTreeMap::new();
    for p in entry["postings"].as_array().unwrap() {
        *by_account
            .entry(p["account"].as_str().unwrap().to_string())
            .or_insert(0) += p["amount"].as_i64().unwrap();
    }
    (posted, entry, by_account)
}

/// A stored payslip (`get-payslip`'s output) is what `calculate-payslip` gives for the
/// same input, computed by the same rules plugin: `rules` sits beside the payslip in
/// one and among its fields in the other (issue 22, item 7).
fn same_payslip(stored: &Value, what_if: &Value) {
    let mut fields = what_if.clone();
    let rules = fields.as_object_mut().unwrap().remove("rules");
    assert_eq!(stored["payslip"], fields);
    assert!(
        rules.is_some(),
        "calculate-payslip names no rules: {what_if}"
    );
    assert_eq!(stored.get("rules"), rules.as_ref(), "{stored}");
}

fn lines(slip: &Value) -> BTreeMap<String, i64> {
    slip["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["code"].as_str().unwrap().to_string(),
                l["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Every fixture case of every country through `payroll.calculate-payslip`: the set
/// of lines, each amount, net pay and (where given) the year-to-date figures must
/// match exactly. All mismatches are reported together.
#[test]
fn rules_plugins_match_their_fixture_cases() {
    let t = host();
    let reader = user("hr", &["payroll.read"]);
    let mut failures = Vec::new();
    let mut counted = BTreeMap::new();
    for country in ["us", "gb", "de"] {
        let path = root().join(format!("tests/data/payroll/{country}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        let fixture: Value = serde_json::from_str(&text).unwrap();
        let cases = fixture["cases"].as_array().unwrap();
        counted.insert(country, cases.len());
        for case in cases {
            let name = case["name"].as_str().unwrap();
            assert!(
                case["source"].as_str().is_some_and(|s| !s.is_empty()),
                "{country} case {name} names no source"
            );
            let slip = match t.call_as(
                "acme",
                "payroll",
                "calculate-payslip",
                case["input"].clone(),
                &reader,
            ) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("{country} {name}: {e}"));
                    continue;
                }
            };
            let expect = &case["expect"];
            let want: BTreeMap<String, i64> = expect["lines"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
                .collect();
            let got = lines(&slip);
            if got != want {
                failures.push(format!(
                    "{country} {name}: lines {got:?}, expected {want:?}"
                ));
            }
            if slip["net"] != expect["net"] {
                failures.push(format!(
                    "{country} {name}: net {}, expected {}",
                    slip["net"], expect["net"]
                ));
            }
            if let Some(ytd) = expect.get("ytd")
                && &slip["ytd"] != ytd
            {
                failures.push(format!(
                    "{country} {name}: ytd {}, expected {ytd}",
                    slip["ytd"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (country, n) in counted {
        assert!(n >= 15, "{country} has only {n} fixture cases");
    }
}

fn hire(t: &TestHost, admin: &Principal) {
    call(
        t,
        admin,
        "set-employee",
        json!({"id": "US1", "name": "Grace Hopper", "country": "US", "frequency": "monthly",
               "salary": 12_000_000, "department": "Engineering", "job-role": "engineer",
               "start-date": "2025-01-01", "profile": {"filing-status": "single"}}),
    );
    call(
        t,
        admin,
        "set-employee",
        json!({"id": "GB1", "name": "Ada Lovelace", "country": "GB", "frequency": "monthly",
               "salary": 4_800_000, "department": "Finance", "job-role": "accountant",
               "start-date": "2025-04-07", "profile": {"tax-code": "1257L", "ni-category": "A"}}),
    );
    call(
        t,
        admin,
        "set-employee",
        json!({"id": "DE1", "name": "Emmy Noether", "country": "DE", "frequency": "monthly",
               "salary": 6_000_000, "department": "Engineering", "job-role": "engineer",
               "start-date": "2025-01-01",
               "profile": {"steuerklasse": 1, "kirchensteuer": false, "bundesland": "NW",
                           "kv-zusatzbeitrag": "2.5", "kinderlos": true}}),
    );
}

/// A pay run across three countries, approved by a second person: one balanced
/// ledger entry, year-to-date figures carried into the next run, the event, the
/// payslips in three formats and the summary per tax line.
#[test]
fn pay_run_is_approved_by_a_second_person_and_posted_to_the_ledger() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    let setup = call(&t, &alice, "setup-ledger", json!({}));
    assert!(setup["created"].as_array().unwrap().len() >= 5, "{setup}");
    hire(&t, &alice);

    let run = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2025-05-01",
               "period-end": "2025-05-31", "pay-date": "2025-05-30"}),
    );
    assert_eq!(run["status"], "draft");
    assert_eq!(run["id"], "r-000001");
    assert_eq!(run["totals"]["USD"]["gross"], 1_000_000);
    assert_eq!(run["totals"]["GBP"]["gross"], 400_000);
    assert_eq!(run["totals"]["EUR"]["gross"], 500_000);
    assert_eq!(run["countries"].as_object().unwrap().len(), 3);

    // Each payslip equals what the what-if calculator gives for the same input.
    let slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": "r-000001", "employee": "GB1", "format": "text"}),
    );
    let what_if = call(
        &t,
        &alice,
        "calculate-payslip",
        json!({"country": "GB", "pay-date": "2025-05-30", "frequency": "monthly",
               "gross": 400_000, "currency": "GBP", "ytd": {},
               "profile": {"tax-code": "1257L", "ni-category": "A"}}),
    );
    same_payslip(&slip, &what_if);
    let text = slip["text"].as_str().unwrap();
    assert!(
        text.contains("Ada Lovelace (GB1)") && text.contains("NET PAY"),
        "{text}"
    );
    let html = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": "r-000001", "employee": "DE1", "format": "html"}),
    );
    assert!(
        html["html"]
            .as_str()
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );

    // The creator cannot approve.
    fails(
        &t,
        &alice,
        "approve-run",
        json!({"id": "r-000001"}),
        403,
        &["created by alice", "segregation of duties"],
    );
    let posted = call(&t, &bob, "approve-run", json!({"id": "r-000001"}));
    assert_eq!(posted["status"], "posted");
    assert_eq!(posted["approved-by"], "bob");
    let entry_id = posted["ledger-entry"].as_str().unwrap();

    // One balanced entry: wages and employer contributions debited; authorities and
    // net pay credited, per currency.
    let entry = t
        .call("acme", "ledger", "get-entry", json!({"id": entry_id}))
        .unwrap();
    let mut per_currency: BTreeMap<String, i64> = BTreeMap::new();
    for p in entry["postings"].as_array().unwrap() {
        *per_currency
            .entry(p["currency"].as_str().unwrap().into())
            .or_default() += p["amount"].as_i64().unwrap();
    }
    assert_eq!(per_currency.len(), 3);
    assert!(per_currency.values().all(|v| *v == 0), "{per_currency:?}");
    let trial = t
        .call("acme", "ledger", "trial-balance", json!({}))
        .unwrap();
    assert_eq!(trial["balanced"], true, "{trial}");
    let summary = call(&t, &bob, "run-summary", json!({"id": "r-000001"}));
    let usd_net = posted["totals"]["USD"]["net"].as_i64().unwrap();
    let net_pay = entry["postings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["account"] == "liabilities:payroll:net-pay" && p["currency"] == "USD")
        .unwrap();
    assert_eq!(net_pay["amount"].as_i64().unwrap(), -usd_net);
    let fit: i64 = summary["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["code"] == "us-fit")
        .map(|l| l["amount"].as_i64().unwrap())
        .sum();
    assert!(fit > 0, "{summary}");

    // The event.
    let events = t
        .host
        .events(&backoffice_host::store::EventFilter {
            tenant: Some("acme".into()),
            topic: Some("payroll.run-approved".into()),
            limit: 100,
        })
        .unwrap();
    assert_eq!(events.len(), 1);

    // Year to date: June's US payslip continues from May's figures.
    let june = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2025-06-01",
               "period-end": "2025-06-30", "pay-date": "2025-06-30"}),
    );
    let us_june = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": june["id"], "employee": "US1"}),
    );
    assert_eq!(us_june["payslip"]["ytd"]["gross"], 2_000_000, "{us_june}");
    // The same period cannot be paid twice.
    fails(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2025-05-15",
               "period-end": "2025-06-14", "pay-date": "2025-06-14"}),
        409,
        &["r-000001"],
    );
    let runs = call(&t, &bob, "list-runs", json!({}));
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2);
    let page = call(
        &t,
        &bob,
        "list-payslips",
        json!({"run": "r-000001", "limit": 2}),
    );
    assert_eq!(page["payslips"].as_array().unwrap().len(), 2);
    assert!(page["next"].is_string());
}

/// Approval while the ledger is disabled fails and leaves nothing behind: the run
/// stays a draft, no year-to-date figures, no event.
#[test]
fn approval_rolls_back_when_the_ledger_is_disabled() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    hire(&t, &alice);
    call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2025-05-01",
               "period-end": "2025-05-31", "pay-date": "2025-05-30"}),
    );
    t.host.disable("ledger", "acme").unwrap();
    fails(
        &t,
        &bob,
        "approve-run",
        json!({"id": "r-000001"}),
        403,
        &["cannot post run r-000001 to the ledger", "not enabled"],
    );
    let run = call(&t, &bob, "get-run", json!({"id": "r-000001"}));
    assert_eq!(run["status"], "draft");
    assert!(run.get("approved-by").is_none());
    let events = t
        .host
        .events(&backoffice_host::store::EventFilter {
            tenant: Some("acme".into()),
            topic: Some("payroll.run-approved".into()),
            limit: 100,
        })
        .unwrap();
    assert!(events.is_empty());
    // Enabled again, the same approval goes through.
    t.host.enable("ledger", "acme").unwrap();
    let posted = call(&t, &bob, "approve-run", json!({"id": "r-000001"}));
    assert_eq!(posted["status"], "posted");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let t = host();
    let alice = clerk("alice");
    let base = json!({"id": "X1", "name": "Test Person", "frequency": "monthly",
                      "salary": 5_000_000, "start-date": "2025-01-01"});
    let with = |extra: Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    // Unknown country: nothing provides it.
    fails(
        &t,
        &alice,
        "set-employee",
        with(json!({"country": "FR"})),
        404,
        &[
            "no plugin enabled for tenant 'acme' provides backoffice:payroll/rules",
            "FR",
        ],
    );
    // Invalid UK tax code, invalid Steuerklasse.
    fails(
        &t,
        &alice,
        "set-employee",
        with(json!({"country": "GB", "profile": {"tax-code": "12X7Q", "ni-category": "A"}})),
        400,
        &["employee X1", "12X7Q"],
    );
    fails(
        &t,
        &alice,
        "set-employee",
        with(
            json!({"country": "DE", "profile": {"steuerklasse": 7, "bundesland": "BY",
                                                   "kv-zusatzbeitrag": "2.5"}}),
        ),
        400,
        &["employee X1", "steuerklasse"],
    );
    // Negative pay.
    fails(
        &t,
        &alice,
        "set-employee",
        with(json!({"country": "US", "salary": -1, "profile": {}})),
        400,
        &["salary must not be negative"],
    );
    fails(
        &t,
        &alice,
        "calculate-payslip",
        json!({"country": "US", "pay-date": "2025-05-30", "frequency": "monthly",
               "gross": -100, "currency": "USD", "profile": {}}),
        400,
        &["gross must not be negative"],
    );
    // A pay date outside the supported tax years, for each country.
    for (country, currency, profile) in [
        ("US", "USD", json!({})),
        (
            "GB",
            "GBP",
            json!({"tax-code": "1257L", "ni-category": "A"}),
        ),
        (
            "DE",
            "EUR",
            json!({"steuerklasse": 1, "bundesland": "BY", "kv-zusatzbeitrag": "2.5"}),
        ),
    ] {
        fails(
            &t,
            &alice,
            "calculate-payslip",
            json!({"country": country, "pay-date": "2024-03-01", "frequency": "monthly",
                   "gross": 100_000, "currency": currency, "profile": profile}),
            400,
            &["2024"],
        );
    }
    // Nothing was stored by the refused hires.
    let list = call(
        &t,
        &alice,
        "list-employees",
        json!({"include-former": true}),
    );
    assert_eq!(list["employees"], json!([]));
}

/// An employee whose country's rules plugin is not enabled: the run names the
/// plugin to enable, and nothing is drafted.
#[test]
fn a_missing_rules_plugin_is_named() {
    let t = host();
    let alice = clerk("alice");
    hire(&t, &alice);
    t.host.disable("payroll-de", "acme").unwrap();
    fails(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2025-05-01",
               "period-end": "2025-05-31", "pay-date": "2025-05-30"}),
        404,
        &[
            "payroll-de",
            "backoffice plugin enable payroll-de --tenant acme",
        ],
    );
    nothing_was_paid(&t, &alice);
}

/// Year-to-date figures belong to a tax year: a late December run approved after
/// January's keeps each year's figures apart. Periods must match the frequency, and
/// an employee is paid once per period.
#[test]
fn year_to_date_figures_follow_the_tax_year() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    call(
        &t,
        &alice,
        "set-employee",
        json!({"id": "US1", "name": "Grace Hopper", "country": "US", "frequency": "monthly",
               "salary": 12_000_000, "start-date": "2025-01-01",
               "profile": {"filing-status": "single"}}),
    );
    let run = |start: &str, end: &str| {
        let r = call(
            &t,
            &alice,
            "create-run",
            json!({"frequency": "monthly", "period-start": start, "period-end": end,
                   "pay-date": end}),
        );
        call(&t, &bob, "approve-run", json!({"id": r["id"]}));
        call(
            &t,
            &bob,
            "get-payslip",
            json!({"run": r["id"], "employee": "US1"}),
        )["payslip"]
            .clone()
    };
    let january = run("2026-01-01", "2026-01-31");
    assert_eq!(january["tax-year"], "2026");
    assert_eq!(january["ytd"]["gross"], 1_000_000);
    let december = run("2025-12-01", "2025-12-31");
    assert_eq!(december["tax-year"], "2025");
    assert_eq!(
        december["ytd"]["gross"], 1_000_000,
        "2025 starts from its own figures"
    );
    let february = run("2026-02-01", "2026-02-28");
    assert_eq!(
        february["ytd"]["gross"], 2_000_000,
        "2026 continues from January"
    );

    fails(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01",
               "period-end": "2026-03-15", "pay-date": "2026-03-15"}),
        400,
        &["a monthly period lasts 28 to 31 days", "15 days"],
    );
    fails(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-02-01",
               "period-end": "2026-02-28", "pay-date": "2026-02-28", "employees": ["US1"]}),
        409,
        &["already paid US1"],
    );
}

/// What a form for an employee needs: the country's rules, their tax years and the
/// profile schema; and ledger accounts for a country without configured authorities.
#[test]
fn countries_describe_their_rules_and_get_ledger_accounts() {
    let t = host();
    let alice = clerk("alice");
    let gb = call(&t, &alice, "describe-country", json!({"country": "gb"}));
    assert_eq!(gb["country"], "GB");
    assert_eq!(gb["support"]["currency"], "GBP");
    let years = gb["support"]["tax-years"].as_array().unwrap();
    assert!(
        years.contains(&json!("2025-26")) && years.contains(&json!("2026-27")),
        "{gb}"
    );
    assert!(
        gb["profile-schema"]["properties"]["tax-code"].is_object(),
        "{gb}"
    );
    fails(
        &t,
        &alice,
        "describe-country",
        json!({"country": "FR"}),
        404,
        &["FR"],
    );

    let mut settings = call(&t, &alice, "get-settings", json!({}));
    settings["authorities"]
        .as_object_mut()
        .unwrap()
        .remove("DE");
    call(&t, &alice, "set-settings", settings);
    let setup = call(&t, &alice, "setup-ledger", json!({}));
    assert!(
        setup["created"]
            .as_array()
            .unwrap()
            .contains(&json!("liabilities:payroll:de")),
        "{setup}"
    );
}

/// A UK starter brings a P45: the opening figures feed cumulative PAYE, a draft made
/// before they were entered cannot be approved, and once a run of the year is
/// approved they are history.
#[test]
fn opening_figures_from_a_p45_feed_the_first_run() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let profile = json!({"tax-code": "1257L", "ni-category": "A"});
    let hire = |id: &str, name: &str, salary: i64, start: &str| {
        call(
            &t,
            &alice,
            "set-employee",
            json!({"id": id, "name": name, "country": "GB", "frequency": "monthly",
                   "salary": salary, "start-date": start, "profile": profile}),
        );
    };
    hire("GB2", "Mary Somerville", 4_800_000, "2026-09-01");
    let september = json!({"frequency": "monthly", "period-start": "2026-09-01",
                           "period-end": "2026-09-30", "pay-date": "2026-09-30"});
    let stale = call(&t, &alice, "create-run", september.clone());

    let p45 = json!({"taxable-pay": 2_000_000, "tax": 150_000});
    let out = call(
        &t,
        &alice,
        "set-opening-ytd",
        json!({"employee": "GB2", "pay-date": "2026-09-30", "figures": p45,
               "note": "P45 from Previous Ltd, left 2026-08-29"}),
    );
    assert_eq!(out["tax-year"], "2026-27");
    assert_eq!(out["country"], "GB");
    assert_eq!(out["figures"], p45);
    assert_eq!(out["run"], Value::Null);
    assert_eq!(out["opening"]["set-by"], "alice");

    // The draft was computed without them.
    fails(
        &t,
        &bob,
        "approve-run",
        json!({"id": stale["id"]}),
        409,
        &["year-to-date figures of employee GB2 changed"],
    );
    call(&t, &alice, "delete-run", json!({"id": stale["id"]}));
    let run = call(&t, &alice, "create-run", september);
    let stored = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": run["id"], "employee": "GB2"}),
    );
    let slip = stored["payslip"].clone();
    let what_if = |ytd: &Value| {
        call(
            &t,
            &alice,
            "calculate-payslip",
            json!({"country": "GB", "pay-date": "2026-09-30", "frequency": "monthly",
                   "gross": 400_000, "currency": "GBP", "ytd": ytd, "profile": profile}),
        )
    };
    same_payslip(&stored, &what_if(&p45));
    assert_ne!(
        lines(&slip).get("gb-paye"),
        lines(&what_if(&json!({}))).get("gb-paye"),
        "the previous employment's pay and tax change this month's PAYE"
    );

    call(&t, &bob, "approve-run", json!({"id": run["id"]}));
    let years = call(&t, &bob, "get-ytd", json!({"employee": "GB2"}))["years"].clone();
    assert_eq!(years.as_array().unwrap().len(), 1, "{years}");
    assert_eq!(years[0]["run"], run["id"]);
    assert_eq!(years[0]["figures"], slip["ytd"]);
    assert_eq!(years[0]["figures"]["taxable-pay"], 2_400_000);
    assert_eq!(years[0]["opening"]["figures"], p45);
    assert_eq!(
        years[0]["opening"]["note"],
        "P45 from Previous Ltd, left 2026-08-29"
    );

    // Bad input, each refused with nothing written.
    let set = |figures: Value, note: &str, employee: &str| json!({"employee": employee, "pay-date": "2026-09-30", "figures": figures, "note": note});
    fails(
        &t,
        &alice,
        "set-opening-ytd",
        set(p45.clone(), "P45 again", "GB2"),
        409,
        &["already has GB figures of tax year 2026-27 from approved run"],
    );
    fails(
        &t,
        &alice,
        "set-opening-ytd",
        set(json!({"pay": 1}), "P45", "GB1"),
        404,
        &["employee GB1 does not exist", "set-employee"],
    );
    hire("GB3", "Caroline Herschel", 3_000_000, "2026-10-01");
    fails(
        &t,
        &alice,
        "set-opening-ytd",
        set(json!({"pay": 1}), "P45", "GB3"),
        400,
        &["opening figures", "ytd code 'pay' is not known"],
    );
    fails(
        &t,
        &alice,
        "set-opening-ytd",
        set(p45.clone(), "  ", "GB3"),
        400,
        &["note"],
    );
    fails(
        &t,
        &bob,
        "get-ytd",
        json!({"employee": "GB9"}),
        404,
        &["employee GB9 does not exist"],
    );
    assert_eq!(
        call(&t, &bob, "get-ytd", json!({"employee": "GB3"}))["years"],
        json!([])
    );
}
