//! A pay run larger than a plugin instance's memory could hold at once: its approval
//! reads the payslips one at a time (noticed when a 30,000-employee run trapped at the
//! 64 MiB cap). Here the cap is made small so that a few thousand employees show it.

use std::time::Duration;

use backoffice_host::runtime::Limits;
use serde_json::json;

use super::{call, clerk, host_with};

#[test]
fn a_large_run_approves_within_a_small_memory_cap() {
    let n: usize = std::env::var("PAYROLL_LARGE_EMPLOYEES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000);
    let cap_mib: usize = std::env::var("PAYROLL_LARGE_CAP_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let t = host_with(Limits {
        call_deadline: Duration::from_secs(60),
        memory_bytes: cap_mib << 20,
        ..Limits::default()
    });
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    for i in 0..n {
        call(
            &t,
            &alice,
            "set-employee",
            json!({"id": format!("U{i:05}"), "name": format!("Employee {i}"), "country": "US",
                   "frequency": "monthly", "salary": 6_000_000, "start-date": "2025-01-01",
                   "profile": {"filing-status": "single"}, "effective-date": "2025-01-01"}),
        );
    }
    let run = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01",
               "period-end": "2026-03-31", "pay-date": "2026-03-31"}),
    );
    let approved = call(&t, &bob, "approve-run", json!({"id": run["id"]}));
    assert_eq!(approved["status"], "posted", "{approved}");
    // The entry carries every employee's wages: $5,000.00 a month each.
    let wages = t
        .call_as(
            "acme",
            "ledger",
            "balance",
            json!({"prefix": "expenses:payroll:wages"}),
            &bob,
        )
        .unwrap();
    assert_eq!(
        wages["rows"][0]["amounts"][0]["amount"],
        json!(500_000 * n as i64),
        "{wages}"
    );
    // Every employee's year-to-date figures moved to this run.
    let ytd = call(
        &t,
        &alice,
        "get-ytd",
        json!({"employee": format!("U{:05}", n - 1)}),
    );
    assert_eq!(ytd["years"][0]["run"], run["id"], "{ytd}");
}
