//! The 10,000-employee pay run with the deductions of issue 22 switched on, through
//! the real host: employees of the US (401(k), section 125, Pennsylvania tax, Texas and Washington without), the UK
//! (student and postgraduate loans, net pay and salary sacrifice pensions) and
//! Germany (Midijobs, Minijobs, evangelische and katholische Kirchensteuer) in equal
//! thirds (`payroll_mix`), then timed: create-run, approve-run, the three payment
//! files (whole when one call can return it, else in parts), Form 941, the W-2s, the
//! FPS (whole, else in pages of 2,000) and the Lohnsteuer-Anmeldung.
//!
//! Run with `cargo run -p backoffice-tests --example payroll_scale` (the dev
//! profile, whose wasmtime and Cranelift are optimised by the workspace's
//! Cargo.toml; the plugins are the release components). Needs
//! `bash scripts/build-wasm.sh --plugins-only`. `PAYROLL_EMPLOYEES` (default 10,000)
//! sets the head count, `PAYROLL_CAP_MIB` the plugin memory cap (default 64),
//! `PAYROLL_COUNTRY` (`US`, `GB` or `DE`) hires everyone in one country, for one
//! payment file of every employee; `PAYROLL_WASM_DIR` where the components are (default `$CARGO_TARGET_DIR/wasm` or
//! `target/wasm`: point it at another build to compare). A call that fails is
//! printed with its error, not fatal. Prints figures; asserts nothing.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a measuring program: fail loudly, print figures"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use backoffice_host::auth::{Principal, PrincipalKind};
use backoffice_host::runtime::Limits;
use backoffice_host::store::Durability;
use backoffice_host::{Host, HostConfig};
use backoffice_tests::payroll_mix::{hire_input, hire_input_in, payment_settings};
use serde_json::{Value, json};

fn wasm(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("PAYROLL_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| backoffice_tests::root().join("target"))
                .join("wasm")
        });
    let path = dir.join(format!("wasm32-wasip2/release/{name}.wasm"));
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

fn main() {
    let stack = Limits::default().native_stack_bytes();
    backoffice_host::runtime::stack::on_thread_with(stack, run).expect("start the thread");
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run() {
    let employees = env("PAYROLL_EMPLOYEES", 10_000);
    let cap_mib = env("PAYROLL_CAP_MIB", 64);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = HostConfig::new(dir.path());
    config.durability = Durability::Normal;
    // Deadlines out of the way: this measures time and memory, and the shared
    // machine's load would otherwise stop a slow create-run at 60 s.
    config.limits = Limits {
        memory_bytes: cap_mib << 20,
        migration_deadline: Duration::from_secs(900),
        background_deadline: Duration::from_secs(900),
        ..Limits::default()
    };
    let host = Host::open(config).expect("open host");
    let mut version = String::new();
    for name in [
        "ledger",
        "payroll_us",
        "payroll_gb",
        "payroll_de",
        "payroll",
    ] {
        let mut plan = host.inspect(wasm(name)).expect("inspect");
        plan.allow_unsigned = true; // the bundled builds are not signed
        if name == "payroll" {
            version = plan.manifest.version.to_string();
        }
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
    let try_call = |who: &Principal, op: &str, input: Value| -> Result<Value, String> {
        host.invoke("bench", "payroll", op, &input.to_string(), who)
            .map_err(|e| e.to_string())
    };
    let call = |who: &Principal, op: &str, input: Value| {
        try_call(who, op, input.clone()).unwrap_or_else(|e| panic!("{op}: {e}"))
    };
    call(&alice, "setup-ledger", json!({}));
    let mut settings = call(&alice, "get-settings", json!({}));
    settings["payments"] = payment_settings();
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
        let input = match only {
            Some(c) => hire_input_in(i, c),
            None => hire_input(i),
        };
        call(&alice, "set-employee", input);
    }
    let hiring = started.elapsed();
    println!(
        "payroll {version}: {employees} employees ({}, issue 22 deductions mixed in), plugin memory cap {cap_mib} MiB, debug host, release plugins",
        std::env::var("PAYROLL_COUNTRY").unwrap_or_else(|_| "US, GB, DE in thirds".into())
    );
    println!(
        "  hiring: {:.2} s ({:.0} set-employee calls/s)",
        hiring.as_secs_f64(),
        employees as f64 / hiring.as_secs_f64()
    );

    let timed = |what: &str, f: &mut dyn FnMut() -> Result<String, String>| {
        let started = Instant::now();
        let result = f();
        let took = started.elapsed();
        match result {
            Ok(detail) => println!("  {what}: {:.2} s{detail}", took.as_secs_f64()),
            Err(e) => println!("  {what}: FAILED after {:.2} s: {e}", took.as_secs_f64()),
        }
        took
    };
    let mut run_id = Value::Null;
    timed("create-run", &mut || {
        let run = try_call(
            &alice,
            "create-run",
            json!({"frequency": "monthly", "period-start": "2026-03-01",
                   "period-end": "2026-03-31", "pay-date": "2026-03-31"}),
        )?;
        run_id = run["id"].clone();
        Ok(String::new())
    });
    if run_id.is_null() {
        return;
    }
    timed("approve-run", &mut || {
        try_call(&bob, "approve-run", json!({"id": run_id})).map(|_| String::new())
    });

    for format in ["sepa", "bacs18", "nacha"] {
        timed(&format!("payment-file {format}"), &mut || {
            match try_call(
                &bob,
                "payment-file",
                json!({"run": run_id, "format": format}),
            ) {
                Ok(file) => Ok(format!(
                    ", one file: {} payees, {} bytes",
                    file["payees"],
                    file["content"].as_str().map_or(0, str::len)
                )),
                Err(e) if e.contains("\"parts\": ") => {
                    // As the refusal says: the number of parts that fit.
                    let at = e.find("\"parts\": ").unwrap() + 9;
                    let parts: u32 = e[at..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                        .parse()
                        .unwrap();
                    let (mut payees, mut bytes) = (0, 0);
                    for part in 1..=parts {
                        let file = try_call(
                            &bob,
                            "payment-file",
                            json!({"run": run_id, "format": format, "parts": parts, "part": part}),
                        )?;
                        payees += file["payees"].as_u64().unwrap();
                        bytes += file["content"].as_str().map_or(0, str::len);
                    }
                    Ok(format!(
                        " (refused whole, then in {parts} parts): {payees} payees, {bytes} bytes"
                    ))
                }
                Err(e) => Err(e),
            }
        });
    }

    timed("form-941 2026-Q1", &mut || {
        try_call(&alice, "form-941", json!({"year": 2026, "quarter": 1}))
            .map(|f| format!(", {} employees", f["employees"]))
    });
    let paged = |op: &str, input: Value| -> Result<String, String> {
        match try_call(&alice, op, input.clone()) {
            Ok(out) => Ok(format!(
                ", one answer: {} employees, {} bytes",
                out["employees"].as_array().map_or(0, Vec::len),
                out.to_string().len()
            )),
            Err(e) if e.contains("in pages") => {
                let (mut rows, mut pages, mut bytes) = (0, 0, 0);
                let mut input = input;
                input["limit"] = json!(2000);
                loop {
                    let out = try_call(&alice, op, input.clone())?;
                    pages += 1;
                    bytes += out.to_string().len();
                    rows += out["employees"].as_array().map_or(0, Vec::len);
                    match out.get("next").and_then(Value::as_str) {
                        Some(next) => input["after"] = json!(next),
                        None => break,
                    }
                }
                Ok(format!(
                    " (refused whole, then in {pages} pages of 2,000): {rows} employees, {bytes} bytes"
                ))
            }
            Err(e) => Err(e),
        }
    };
    timed("form-w2 2026", &mut || {
        paged("form-w2", json!({"year": 2026}))
    });
    timed("rti-fps", &mut || paged("rti-fps", json!({"run": run_id})));
    timed("lohnsteuer-anmeldung 2026-03", &mut || {
        try_call(
            &alice,
            "lohnsteuer-anmeldung",
            json!({"year": 2026, "month": 3}),
        )
        .map(|f| format!(", Kz 86 = {}", f["kennzahlen"]["86"]))
    });
}
