//! A pay run of 10,000 employees spread over the US, the UK and Germany through the
//! real host: the payroll plugin drafts every payslip through the country rules
//! plugins (one `backoffice:payroll/rules` call per employee), then a second person
//! approves it, which posts one ledger entry and updates every year-to-date record.
//! During the second month's draft, another person edits employees of the same
//! company: how long those writes take beside the pay run.
//!
//! Needs the components: `bash scripts/build-wasm.sh --plugins-only`. Run with
//! `cargo bench -p backoffice-host --bench payroll`; it prints the times and the
//! rate of calls to the rules plugins. `PAYROLL_EMPLOYEES` changes the head count.
//! After the first approval it makes the SEPA, Bacs and NACHA payment files (a third
//! of the employees each); `PAYROLL_COUNTRY=DE` (or `GB`, `US`) hires everyone in one
//! country, for one file of every employee.

use std::time::{Duration, Instant};

use backoffice_host::auth::{Principal, PrincipalKind};
use backoffice_host::runtime::Limits;
use backoffice_host::store::Durability;
use backoffice_host::{Host, HostConfig};
use serde_json::json;

fn wasm(name: &str) -> Vec<u8> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join(format!("wasm/wasm32-wasip2/release/{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|_| {
        panic!(
            "{} missing: run `bash scripts/build-wasm.sh --plugins-only` first",
            path.display()
        )
    })
}

fn person(name: &str) -> Principal {
    Principal {
        id: Some(name.into()),
        tenant: None,
        token_id: None,
        kind: PrincipalKind::User,
        roles: vec!["payroll".into()],
        permissions: vec!["payroll.*".into(), "ledger.*".into()],
    }
}

// On a thread with the stack plugin calls need, so that calls run in place as on a
// server's threads (see `runtime::stack`).
fn main() {
    backoffice_host::runtime::stack::on_thread_with(stack(), run)
        .expect("start the benchmark thread");
}

fn stack() -> usize {
    Limits::default().native_stack_bytes()
}

fn run() {
    let employees: usize = std::env::var("PAYROLL_EMPLOYEES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = HostConfig::new(dir.path());
    config.durability = Durability::Normal;
    config.limits = Limits::default();
    let host = Host::open(config).expect("open host");
    for name in [
        "ledger",
        "payroll_us",
        "payroll_gb",
        "payroll_de",
        "payroll",
    ] {
        let mut plan = host.inspect(wasm(name)).expect("inspect");
        plan.allow_unsigned = true; // the bundled builds are not signed
        host.install(plan).expect("install");
    }
    host.create_tenant("bench", None, Some("Europe/London"))
        .expect("tenant");
    for id in [
        "ledger",
        "payroll-us",
        "payroll-gb",
        "payroll-de",
        "payroll",
    ] {
        host.enable(id, "bench").expect("enable");
    }
    let (alice, bob) = (person("alice"), person("bob"));
    let call = |who: &Principal, op: &str, input: serde_json::Value| {
        host.invoke("bench", "payroll", op, &input.to_string(), who)
            .unwrap_or_else(|e| panic!("{op}: {e}"))
    };
    call(&alice, "setup-ledger", json!({}));
    // The company's side of the payment files (issue 22).
    let mut settings = call(&alice, "get-settings", json!({}));
    settings["payments"] = json!({
        "sepa": {"name": "Bench GmbH", "iban": "DE02120300000000202051", "bic": "BYLADEM1001"},
        "bacs": {"service-user-number": "123456", "name": "Bench Ltd",
                 "sort-code": "401276", "account-number": "12345678"},
        "nacha": {"immediate-destination": "021000021", "immediate-destination-name": "JPMorgan Chase",
                  "immediate-origin": "121000248", "immediate-origin-name": "Bench Inc",
                  "company-name": "Bench Inc", "company-id": "1123456789",
                  "originating-dfi": "121000248"}
    });
    call(&alice, "set-settings", settings);

    // PAYROLL_COUNTRY=US|GB|DE: everyone in that country (one payment file of all).
    let only = match std::env::var("PAYROLL_COUNTRY").as_deref() {
        Ok("US") => Some(0),
        Ok("GB") => Some(1),
        Ok("DE") => Some(2),
        _ => None,
    };
    let started = Instant::now();
    for i in 0..employees {
        let (country, salary, profile) = match only.unwrap_or(i % 3) {
            0 => (
                "US",
                4_000_000 + (i as i64 % 97) * 100_000,
                json!({"filing-status": "single"}),
            ),
            1 => (
                "GB",
                2_500_000 + (i as i64 % 89) * 100_000,
                json!({"tax-code": "1257L", "ni-category": "A"}),
            ),
            _ => (
                "DE",
                3_000_000 + (i as i64 % 83) * 100_000,
                json!({"steuerklasse": 1 + (i % 6) as i64, "bundesland": "NW", "kv-zusatzbeitrag": "2.5", "kirchensteuer": i % 2 == 0}),
            ),
        };
        let bank = match country {
            "US" => json!({"scheme": "ach", "routing-number": "026009593",
                           "account-number": format!("{:012}", i), "account-type": "checking"}),
            "GB" => json!({"scheme": "bacs", "sort-code": "601613", "account-number": "31926819"}),
            _ => json!({"scheme": "sepa", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}),
        };
        call(
            &alice,
            "set-employee",
            json!({"id": format!("E{i:05}"), "name": format!("Employee {i}"), "country": country,
                   "frequency": "monthly", "salary": salary, "department": format!("D{}", i % 12),
                   "start-date": "2026-01-01", "profile": profile, "bank": bank}),
        );
    }
    let hiring = started.elapsed();

    let started = Instant::now();
    let run = call(
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01",
               "period-end": "2026-03-31", "pay-date": "2026-03-31"}),
    );
    let draft = started.elapsed();
    let started = Instant::now();
    let posted = call(&bob, "approve-run", json!({"id": run["id"]}));
    let approve = started.elapsed();
    assert_eq!(posted["status"], "posted");
    // The net pay as payment files, one per scheme (a third of the employees each,
    // or all of them with PAYROLL_COUNTRY).
    let mut files = Vec::new();
    for format in ["sepa", "bacs18", "nacha"] {
        let started = Instant::now();
        let made = host.invoke(
            "bench",
            "payroll",
            "payment-file",
            &json!({"run": run["id"], "format": format}).to_string(),
            &bob,
        );
        let took = started.elapsed();
        files.push(match made {
            Ok(file) => format!(
                "  payment-file {format}: {} payees, {} bytes, {:.2} s",
                file["payees"],
                file["content"].as_str().map_or(0, str::len),
                took.as_secs_f64()
            ),
            Err(e) => format!("  payment-file {format}: {e}"),
        });
    }

    // The next month: every employee now has year-to-date figures, so each payslip
    // takes two rules calls (the tax year first, then the figures of that year).
    // Meanwhile HR keeps editing employees in the same company: interactive writes
    // beside the pay run, which runs on a snapshot and writes at its end.
    let started = Instant::now();
    let running = std::sync::atomic::AtomicBool::new(true);
    let (april, edits) = std::thread::scope(|s| {
        let hr = std::thread::Builder::new()
            .stack_size(stack())
            .spawn_scoped(s, || {
                backoffice_host::runtime::stack::mark_thread(stack());
                let mut times = Vec::new();
                while running.load(std::sync::atomic::Ordering::Relaxed) {
                    let n = times.len();
                    let t = Instant::now();
                    call(
                        &alice,
                        "set-employee",
                        json!({"id": format!("N{n:06}"), "name": format!("New hire {n}"),
                           "country": "GB", "frequency": "monthly", "salary": 3_000_000,
                           "department": "D0", "start-date": "2026-05-01",
                           "profile": {"tax-code": "1257L", "ni-category": "A"}}),
                    );
                    times.push(t.elapsed());
                }
                times
            })
            .expect("start the HR thread");
        let april = call(
            &alice,
            "create-run",
            json!({"frequency": "monthly", "period-start": "2026-04-01",
                   "period-end": "2026-04-30", "pay-date": "2026-04-30"}),
        );
        running.store(false, std::sync::atomic::Ordering::Relaxed);
        (april, hr.join().expect("hr"))
    });
    let draft2 = started.elapsed();
    let started = Instant::now();
    call(&bob, "approve-run", json!({"id": april["id"]}));
    let approve2 = started.elapsed();

    let per_sec = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!("payroll run of {employees} employees (US, GB, DE in equal thirds), release build");
    println!(
        "  hiring (set-employee, one call each, profile checked by the rules): {:.2} s, {:.0} calls/s",
        hiring.as_secs_f64(),
        per_sec(employees, hiring)
    );
    println!(
        "  create-run (draft, one rules call per employee): {:.2} s, {:.0} rules calls/s",
        draft.as_secs_f64(),
        per_sec(employees, draft)
    );
    println!(
        "  approve-run (ledger entry, year-to-date records, event): {:.2} s",
        approve.as_secs_f64()
    );
    println!(
        "  draft + approve: {:.2} s",
        (draft + approve).as_secs_f64()
    );
    println!(
        "  next month, with year-to-date figures: create-run {:.2} s ({:.0} rules calls/s, two per employee), approve-run {:.2} s, together {:.2} s",
        draft2.as_secs_f64(),
        per_sec(2 * employees, draft2),
        approve2.as_secs_f64(),
        (draft2 + approve2).as_secs_f64()
    );
    for line in &files {
        println!("{line}");
    }
    let mut edits = edits;
    edits.sort();
    let at = |q: f64| edits[((edits.len() as f64 * q) as usize).min(edits.len() - 1)];
    println!(
        "  employee edits in the same company during that create-run: {} calls, p50 {:?}, p99 {:?}",
        edits.len(),
        at(0.50),
        at(0.99)
    );
}
