//! Bank lines matched to the ledger's own postings (issue 21, item 2), through the real
//! host: the ledger's posting status (hledger's `*` and `!`) kept on import, filtered
//! like `hledger reg -C` and `hledger bal -U` (checked against hledger 1.25 on the same
//! journal) and changed by `set-status`; a statement line imported from CSV is
//! suggested the bank account's posting of its amount, confirmed (linked, and cleared
//! in the ledger), refused to a second line, and unmatched again; every bad match is
//! refused with nothing changed.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::process::Command;
use std::sync::Arc;

use backoffice_host::clock::TestClock;
use backoffice_host::store::AuditQuery;
use backoffice_tests::{TestHost, user};
use serde_json::{Value, json};

/// A host on 10 January 2026 with ledger, contacts, invoicing and banking for `acme`.
fn host() -> TestHost {
    let clock = Arc::new(TestClock::at_rfc3339("2026-01-10T10:00:00Z"));
    let t = TestHost::with_config(|c| c.clock = clock.clone());
    for file in ["ledger", "contacts", "invoicing", "banking"] {
        t.install(file);
    }
    t.host
        .create_tenant("acme", None, Some("Europe/London"))
        .unwrap();
    for plugin in ["ledger", "contacts", "invoicing", "banking"] {
        t.host.enable(plugin, "acme").unwrap();
    }
    t
}

fn call(t: &TestHost, plugin: &str, op: &str, input: Value) -> Value {
    t.call("acme", plugin, op, input)
        .unwrap_or_else(|e| panic!("{plugin} {op} failed: {e}"))
}

/// The call fails with `status` and a message containing every fragment.
fn fails(t: &TestHost, plugin: &str, op: &str, input: Value, status: u16, fragments: &[&str]) {
    let err = t
        .call("acme", plugin, op, input)
        .expect_err(&format!("{plugin} {op} should fail"));
    let msg = err.to_string();
    assert_eq!(err.http_status(), status, "{msg}");
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} lacks {f:?}");
    }
}

/// Everything a refused match could have changed.
fn state(t: &TestHost) -> Vec<Value> {
    vec![
        call(t, "banking", "unreconciled", json!({})),
        call(
            t,
            "ledger",
            "export",
            json!({"what": "entries", "format": "json"}),
        ),
        call(
            t,
            "ledger",
            "register",
            json!({"account": "assets:bank:current"}),
        ),
    ]
}

/// The register of `account` with a status filter: (entry, posting, amount, status).
fn register(t: &TestHost, account: &str, status: Value) -> Vec<(String, u64, i64, String)> {
    let r = call(
        t,
        "ledger",
        "register",
        json!({"account": account, "status": status}),
    );
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["entry"].as_str().unwrap().to_owned(),
                x["posting"].as_u64().unwrap(),
                x["amount"]["amount"].as_i64().unwrap(),
                x["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---- the ledger's status against hledger ----

/// A journal with marks on transaction lines and on posting lines; `CARD` is the
/// mark of the card payment's bank posting.
const MARKED: &str = "\
2026-01-02 * Opening
    assets:bank:current  1000.00 GBP
    equity:opening

2026-01-05 ! Rent
    expenses:rent  400.00 GBP
    assets:bank:current

2026-01-06 Supplier | cheque 101
    expenses:office  25.50 GBP
    * assets:bank:current  -25.50 GBP

2026-01-08 * Customer
    ! assets:bank:current  120.00 GBP
    income:sales

2026-01-09 Card
    expenses:travel  60.00 GBP
    CARDassets:bank:current
";

fn hledger(journal: &str, args: &[&str]) -> Vec<Vec<String>> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), journal).unwrap();
    let out = Command::new("hledger")
        .arg("-f")
        .arg(file.path())
        .args(args)
        .args(["-O", "csv"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run hledger ({e}): install it with `apt-get install hledger`")
        });
    assert!(
        out.status.success(),
        "hledger {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.trim_matches('"')
                .split("\",\"")
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// `1,000.00 GBP` or `-25.50 GBP` as minor units (every amount here is in GBP).
fn minor(cell: &str) -> i64 {
    let n = cell.trim().trim_end_matches("GBP").trim().replace(',', "");
    if n == "0" {
        return 0;
    }
    let (units, cents) = n.split_once('.').unwrap();
    let v: i64 = format!("{units}{cents}").parse().unwrap();
    assert_eq!(cents.len(), 2, "{cell}");
    v
}

/// Our register with a status filter against `hledger reg FLAGS`: the same postings
/// (date, account, amount) in the same order, with the same running total.
fn check_register(t: &TestHost, journal: &str, status: Value, flags: &[&str]) {
    let mut args = vec!["reg"];
    args.extend(flags);
    let theirs: Vec<(String, String, i64, i64)> = hledger(journal, &args)
        .iter()
        .skip(1)
        .map(|r| (r[1].clone(), r[4].clone(), minor(&r[5]), minor(&r[6])))
        .collect();
    let r = call(t, "ledger", "register", json!({ "status": status }));
    let ours: Vec<(String, String, i64, i64)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["date"].as_str().unwrap().to_owned(),
                x["account"].as_str().unwrap().to_owned(),
                x["amount"]["amount"].as_i64().unwrap(),
                x["balance"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b["amount"].as_i64().unwrap())
                    .sum(),
            )
        })
        .collect();
    assert!(!theirs.is_empty(), "hledger reg {flags:?} is empty");
    assert_eq!(
        ours, theirs,
        "register {status} against hledger reg {flags:?}"
    );
}

/// Our balance with a status filter against `hledger bal FLAGS` (flat, every account).
fn check_balance(t: &TestHost, journal: &str, status: Value, flags: &[&str]) {
    let mut args = vec!["bal", "--flat", "--empty"];
    args.extend(flags);
    let mut theirs: Vec<(String, i64)> = hledger(journal, &args)
        .iter()
        .skip(1)
        .filter(|r| r[0] != "total")
        .map(|r| (r[0].clone(), minor(&r[1])))
        .filter(|(_, v)| *v != 0)
        .collect();
    theirs.sort();
    let b = call(t, "ledger", "balance", json!({ "status": status }));
    let mut ours: Vec<(String, i64)> = b["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap().to_owned(),
                r["amounts"][0]["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    ours.sort();
    assert!(!theirs.is_empty(), "hledger bal {flags:?} is empty");
    assert_eq!(
        ours, theirs,
        "balance {status} against hledger bal {flags:?}"
    );
}

#[test]
fn posting_status_is_kept_filtered_and_set_like_hledger() {
    let t = host();
    let journal = MARKED.replace("CARD", "");
    let imported = call(
        &t,
        "ledger",
        "import-journal",
        json!({ "journal": journal }),
    );
    assert_eq!(imported["entries"], 5);

    // Kept on import: the transaction's mark on every posting without its own.
    let status = |id: &str| -> Vec<Value> {
        call(&t, "ledger", "get-entry", json!({ "id": id }))["postings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.get("status").cloned().unwrap_or(Value::Null))
            .collect()
    };
    assert_eq!(status("e-000001"), vec![json!("cleared"), json!("cleared")]);
    assert_eq!(status("e-000002"), vec![json!("pending"), json!("pending")]);
    assert_eq!(status("e-000003"), vec![Value::Null, json!("cleared")]);
    assert_eq!(status("e-000004"), vec![json!("pending"), json!("cleared")]);
    assert_eq!(status("e-000005"), vec![Value::Null, Value::Null]);

    // Filtered as hledger filters: -C, -P, -U, and -U -P together.
    for (status, flags) in [
        (json!("cleared"), vec!["-C"]),
        (json!("pending"), vec!["-P"]),
        (json!("unmarked"), vec!["-U"]),
        (json!(["unmarked", "pending"]), vec!["-U", "-P"]),
    ] {
        check_register(&t, &journal, status.clone(), &flags);
        check_balance(&t, &journal, status, &flags);
    }
    // With from, the opening balance counts only the postings the filter keeps.
    let r = call(
        &t,
        "ledger",
        "register",
        json!({"account": "assets:bank:current", "from": "2026-01-06", "status": "cleared"}),
    );
    assert_eq!(r["opening"][0]["amount"], 100_000);
    assert_eq!(r["closing"][0]["amount"], 100_000 - 2_550);

    // Exported with the status.
    let csv = call(
        &t,
        "ledger",
        "export",
        json!({"what": "entries", "format": "csv"}),
    )["csv"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",reverses,status,tags"),
        "{csv}"
    );
    assert!(
        csv.contains("Customer,,assets:bank:current,GBP,12000,120.00,,pending"),
        "{csv}"
    );

    // set-status on a locked period: allowed (the figures do not change), and the
    // ledger then agrees with hledger on the journal with that mark written in.
    call(&t, "ledger", "set-lock-date", json!({"date": "2026-01-31"}));
    let before = call(&t, "ledger", "trial-balance", json!({}));
    let e = call(
        &t,
        "ledger",
        "set-status",
        json!({"id": "e-000005", "account": "assets:bank:current", "status": "cleared"}),
    );
    assert_eq!(e["postings"][1]["status"], "cleared");
    assert!(e["postings"][0].get("status").is_none());
    assert_eq!(call(&t, "ledger", "trial-balance", json!({})), before);
    let marked = MARKED.replace("CARD", "* ");
    check_register(&t, &marked, json!("cleared"), &["-C"]);
    check_balance(&t, &marked, json!("unmarked"), &["-U"]);
    // Back to unmarked, by index.
    call(
        &t,
        "ledger",
        "set-status",
        json!({"id": "e-000005", "posting": 1, "status": "unmarked"}),
    );
    check_register(&t, &journal, json!("unmarked"), &["-U"]);

    // Bad input: nothing changes.
    let entries = || {
        call(
            &t,
            "ledger",
            "export",
            json!({"what": "entries", "format": "json"}),
        )
    };
    let unchanged = entries();
    fails(
        &t,
        "ledger",
        "set-status",
        json!({"id": "e-000005", "posting": 2, "status": "cleared"}),
        400,
        &["entry e-000005 has 2 postings (0 to 1); posting 2 does not exist"],
    );
    fails(
        &t,
        "ledger",
        "set-status",
        json!({"id": "e-000005", "account": "income:sales", "status": "cleared"}),
        400,
        &[
            "no posting to income:sales",
            "expenses:travel, assets:bank:current",
        ],
    );
    fails(
        &t,
        "ledger",
        "set-status",
        json!({"id": "e-000005", "status": "cleared"}),
        400,
        &["give either posting"],
    );
    fails(
        &t,
        "ledger",
        "set-status",
        json!({"id": "e-000099", "posting": 0, "status": "cleared"}),
        404,
        &["no entry e-000099"],
    );
    fails(
        &t,
        "ledger",
        "set-status",
        json!({"id": "e-000005", "posting": 0, "status": "done"}),
        400,
        &["status"],
    );
    let reader = user("reader", &["ledger.read"]);
    let err = t
        .call_as(
            "acme",
            "ledger",
            "set-status",
            json!({"id": "e-000005", "posting": 0, "status": "cleared"}),
            &reader,
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    assert_eq!(entries(), unchanged);

    // Every change is in the audit chain.
    let audit = t
        .host
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    let set: Vec<&str> = audit
        .iter()
        .filter(|a| a.target == "ledger.set-status")
        .map(|a| a.outcome.as_str())
        .collect();
    assert_eq!(set.iter().filter(|o| **o == "ok").count(), 2, "{set:?}");
    assert!(set.len() >= 7, "refusals are audited too: {set:?}");
}

// ---- banking ----

const BOOKS: &str = "\
2026-01-01 * Opening balance
    assets:bank:current  1000.00 GBP
    equity:opening

2026-01-06 Stationers | cheque 101
    expenses:office  120.00 GBP
    assets:bank:current

2026-01-07 Refund from Paper Ltd
    assets:bank:current  120.00 GBP
    income:other

2026-01-08 * Interest
    assets:bank:current  55.00 GBP
    income:interest

2026-01-20 Stationers | cheque 102
    expenses:office  120.00 GBP
    assets:bank:current
";

const STATEMENT: &str = "\
Date,Amount,Reference,Name
2026-01-09,-120.00,CHQ 101,Stationers
2026-01-09,-120.00,CHQ 101 again,Stationers
2026-01-10,55.00,Interest,Bank
2026-01-10,3.21,INT JAN,Bank
";

#[test]
fn a_bank_line_is_matched_to_a_ledger_posting_which_is_cleared() {
    let t = host();
    call(&t, "ledger", "import-journal", json!({ "journal": BOOKS }));
    let acct = call(
        &t,
        "banking",
        "add-account",
        json!({"name": "Current account", "account-number": "31926819", "currency": "GBP", "ledger-account": "assets:bank:current"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &t,
        "banking",
        "save-csv-mapping",
        json!({"name": "plain", "skip-rows": 1, "date-column": 1, "date-format": "YYYY-MM-DD",
               "amount-column": 2, "reference-column": 3, "counterparty-column": 4}),
    );
    let st = call(
        &t,
        "banking",
        "import-csv",
        json!({"account": acct, "mapping": "plain", "content": STATEMENT,
               "closing-balance": "818.21", "closing-date": "2026-01-10"}),
    )["statements"][0]
        .clone();
    assert_eq!(st["imported"], 4);
    let lines: Vec<String> =
        call(&t, "banking", "get-statement", json!({"id": st["id"]}))["lines-detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect();
    let (cheque, again, interest, int_jan) = (&lines[0], &lines[1], &lines[2], &lines[3]);

    // Suggested: the cheque's credit of the bank account, 3 days before the line; not
    // the refund (a debit of the same size), not cheque 102 (11 days later), not the
    // interest (already cleared).
    let s = call(&t, "banking", "suggest", json!({"statement": st["id"]}));
    let for_line = |s: &Value, id: &str| -> Value {
        s["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["line"] == id)
            .map_or(json!([]), |x| x["candidates"].clone())
    };
    let c = for_line(&s, cheque);
    assert_eq!(c.as_array().unwrap().len(), 1, "{c}");
    assert_eq!(
        (
            &c[0]["kind"],
            &c[0]["entry"],
            &c[0]["posting"],
            &c[0]["score"],
            &c[0]["date"]
        ),
        (
            &json!("posting"),
            &json!("e-000002"),
            &json!(1),
            &json!(75),
            &json!("2026-01-06")
        )
    );
    assert_eq!(
        c[0]["reason"],
        "an unmarked ledger posting of the same amount, 3 days apart"
    );
    assert_eq!(c[0]["description"], "Stationers | cheque 101");
    assert_eq!(
        for_line(&s, again),
        c,
        "both lines may take it until one does"
    );
    assert_eq!(for_line(&s, interest), json!([]));
    assert_eq!(s["lines-without"], 2);

    // Bad matches are refused with nothing changed.
    let before = state(&t);
    let confirm = |line: &str, extra: Value| {
        let mut input = json!({ "line": line });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        input
    };
    for (input, status, fragments) in [
        (
            confirm(cheque, json!({"entry": "e-000099"})),
            404,
            vec!["no ledger entry e-000099"],
        ),
        (
            confirm(cheque, json!({"entry": "e-000002", "posting": 5})),
            400,
            vec!["posting 5 does not exist"],
        ),
        (
            confirm(cheque, json!({"entry": "e-000002", "posting": 0})),
            400,
            vec!["posting 0 of e-000002 is to expenses:office, not to assets:bank:current"],
        ),
        (
            confirm(cheque, json!({"entry": "e-000003"})),
            400,
            vec![
                "has no posting of GBP -120.00 to assets:bank:current",
                "signed amount",
            ],
        ),
        (
            confirm(cheque, json!({"entry": "e-000003", "posting": 0})),
            400,
            vec!["posting 0 of e-000003 is GBP 120.00", "is GBP -120.00"],
        ),
        (
            confirm(interest, json!({"entry": "e-000004"})),
            409,
            vec!["posting 0 of e-000004 is already cleared"],
        ),
        (
            confirm(cheque, json!({"posting": 1})),
            400,
            vec!["give one of document"],
        ),
        (
            confirm(cheque, json!({"entry": "e-000002", "rule": "x"})),
            400,
            vec!["give one of document"],
        ),
    ] {
        fails(&t, "banking", "confirm-match", input, status, &fragments);
    }
    // A clerk who may read the ledger but not post to it.
    let clerk = user("clerk", &["banking.*", "ledger.read"]);
    let err = t
        .call_as(
            "acme",
            "banking",
            "confirm-match",
            confirm(cheque, json!({"entry": "e-000002"})),
            &clerk,
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    assert!(err.to_string().contains("ledger.post"), "{err}");
    fails(
        &t,
        "banking",
        "unmatch",
        json!({"line": cheque}),
        400,
        &["is not matched"],
    );
    assert_eq!(state(&t), before);

    // Confirmed: linked on the line, cleared in the ledger, no entry posted.
    let m = call(
        &t,
        "banking",
        "confirm-match",
        confirm(cheque, json!({"entry": "e-000002"})),
    );
    assert_eq!(m["status"], "matched");
    assert_eq!(
        (
            &m["matched"]["kind"],
            &m["matched"]["ledger-entry"],
            &m["matched"]["posting"]
        ),
        (&json!("posting"), &json!("e-000002"), &json!(1))
    );
    let cleared = register(&t, "assets:bank:current", json!("cleared"));
    assert!(
        cleared.contains(&("e-000002".into(), 1, -12_000, "cleared".into())),
        "{cleared:?}"
    );
    let open = register(&t, "assets:bank:current", json!(["unmarked", "pending"]));
    assert_eq!(
        open,
        vec![
            ("e-000003".into(), 0, 12_000, "unmarked".into()),
            ("e-000005".into(), 1, -12_000, "unmarked".into()),
        ]
    );
    assert_eq!(
        call(
            &t,
            "ledger",
            "export",
            json!({"what": "entries", "format": "json"})
        )["data"]
            .as_array()
            .unwrap()
            .len(),
        5,
        "linking posts nothing"
    );

    // The second line cannot take the same posting, and it is no longer suggested.
    let before = state(&t);
    fails(
        &t,
        "banking",
        "confirm-match",
        confirm(again, json!({"entry": "e-000002", "posting": 1})),
        409,
        &[&format!(
            "posting 1 of e-000002 is already linked to line {cheque}"
        )],
    );
    assert_eq!(state(&t), before);
    let s = call(&t, "banking", "suggest", json!({"statement": st["id"]}));
    assert_eq!(for_line(&s, again), json!([]));

    // Unreconciled and reconcile count the linked line as matched.
    let u = call(&t, "banking", "unreconciled", json!({"account": acct}));
    assert_eq!(u["accounts"][0]["count"], 3);
    let r = call(&t, "banking", "reconcile", json!({"id": st["id"]}));
    assert_eq!(r["unmatched-lines"], 3);
    // The ledger holds 1,055.00 at the statement's end; what the bank has seen of it
    // (the cleared postings: opening, interest, and now the cheque) is 935.00.
    assert_eq!(
        (
            &r["closing-balance"],
            &r["ledger-balance"],
            &r["cleared-balance"],
            &r["cleared-difference"]
        ),
        (
            &json!(81_821),
            &json!(105_500),
            &json!(93_500),
            &json!(81_821 - 93_500)
        )
    );

    // A rule's entry: its bank posting is cleared and linked at once, so it is never
    // suggested for another line.
    call(
        &t,
        "banking",
        "set-rule",
        json!({"name": "interest", "reference-contains": "INT JAN", "contra-account": "income:interest"}),
    );
    let m = call(
        &t,
        "banking",
        "confirm-match",
        confirm(int_jan, json!({"rule": "interest"})),
    );
    let entry = m["matched"]["ledger-entry"].as_str().unwrap().to_owned();
    assert_eq!(m["matched"]["posting"], 0);
    let e = call(&t, "ledger", "get-entry", json!({ "id": entry }));
    assert_eq!(e["postings"][0]["status"], "cleared");
    // Unmatching it reverses the rule's entry (the ledger keeps both; the pair's
    // bank postings are cleared, netting to zero); matched again, a new entry.
    let l = call(&t, "banking", "unmatch", json!({"line": int_jan}));
    assert_eq!(l["status"], "unmatched");
    let e = call(&t, "ledger", "get-entry", json!({ "id": entry }));
    let reversal = e["reversed-by"].as_str().unwrap().to_owned();
    let r = call(&t, "ledger", "get-entry", json!({ "id": reversal }));
    assert_eq!(
        r["postings"][0]["amount"],
        -e["postings"][0]["amount"].as_i64().unwrap()
    );
    assert_eq!(r["postings"][0]["status"], "cleared");
    let m = call(
        &t,
        "banking",
        "confirm-match",
        confirm(int_jan, json!({"rule": "interest"})),
    );
    let again_entry = m["matched"]["ledger-entry"].as_str().unwrap();
    assert_ne!(again_entry, entry, "a new entry, not the reversed one");
    assert_eq!(m["matched"]["posting"], 0);

    // Unmatched: the posting is unmarked again, suggested again, and the other line
    // may take it.
    let l = call(&t, "banking", "unmatch", json!({"line": cheque}));
    assert_eq!(l["status"], "unmatched");
    assert!(l.get("matched").is_none());
    let e = call(&t, "ledger", "get-entry", json!({"id": "e-000002"}));
    assert!(e["postings"][1].get("status").is_none(), "{e}");
    let s = call(&t, "banking", "suggest", json!({"statement": st["id"]}));
    assert_eq!(for_line(&s, again)[0]["entry"], "e-000002");
    let m = call(
        &t,
        "banking",
        "confirm-match",
        confirm(again, json!({"entry": "e-000002", "posting": 1})),
    );
    assert_eq!(m["matched"]["kind"], "posting");
    let u = call(&t, "banking", "unreconciled", json!({"account": acct}));
    assert_eq!(u["accounts"][0]["count"], 2);
}

/// Measured by hand (`cargo test -p backoffice-tests --test e2e -- --ignored
/// banking_clear::measure`): `suggest` for a 5,000-line statement against a ledger
/// with 5,000 unmarked postings to the bank account, confirming one line, and
/// `balance` with and without a status filter.
#[test]
#[ignore = "a measurement, run by hand"]
fn measure_suggest_against_ledger_postings() {
    use std::time::{Duration, Instant};
    let clock = Arc::new(TestClock::at_rfc3339("2026-03-01T10:00:00Z"));
    let t = TestHost::with_config(|c| {
        c.clock = clock.clone();
        c.limits = backoffice_host::runtime::Limits {
            call_deadline: Duration::from_secs(120),
            ..backoffice_host::runtime::Limits::default()
        };
    });
    for p in ["ledger", "contacts", "invoicing", "banking"] {
        t.install(p);
    }
    t.host.create_tenant("acme", None, None).unwrap();
    for p in ["ledger", "contacts", "invoicing", "banking"] {
        t.host.enable(p, "acme").unwrap();
    }
    let n = 5_000;
    let day = |i: usize| format!("2026-01-{:02}", 1 + i % 28);
    let amount = |i: usize| format!("{}.{:02}", 10 + i % 4_000, i % 100);
    let mut journal = String::new();
    for i in 0..n {
        journal.push_str(&format!(
            "{} Payment {i}\n    expenses:misc  {} GBP\n    assets:bank:current\n\n",
            day(i),
            amount(i)
        ));
    }
    call(
        &t,
        "ledger",
        "import-journal",
        json!({ "journal": journal }),
    );
    let acct = call(
        &t,
        "banking",
        "add-account",
        json!({"name": "Current", "account-number": "1", "currency": "GBP", "ledger-account": "assets:bank:current"}),
    )["id"]
        .clone();
    call(
        &t,
        "banking",
        "save-csv-mapping",
        json!({"name": "plain", "skip-rows": 1, "date-column": 1, "date-format": "YYYY-MM-DD",
               "amount-column": 2, "reference-column": 3, "counterparty-column": 4}),
    );
    let mut csv = String::from("Date,Amount,Reference,Name\n");
    for i in 0..n {
        csv.push_str(&format!(
            "2026-01-{:02},-{},R{i},Payee {i}\n",
            3 + i % 28,
            amount(i)
        ));
    }
    call(
        &t,
        "banking",
        "import-csv",
        json!({"account": acct, "mapping": "plain", "content": csv}),
    );
    let started = Instant::now();
    let s = call(
        &t,
        "banking",
        "suggest",
        json!({"account": acct, "limit": 5000}),
    );
    let suggest = started.elapsed();
    let with = s["suggestions"].as_array().unwrap();
    assert_eq!(with.len(), n, "every line has its posting");
    let first = &with[0];
    let started = Instant::now();
    call(
        &t,
        "banking",
        "confirm-match",
        json!({"line": first["line"], "entry": first["candidates"][0]["entry"],
               "posting": first["candidates"][0]["posting"]}),
    );
    let confirm = started.elapsed();
    let started = Instant::now();
    call(&t, "ledger", "balance", json!({}));
    let plain = started.elapsed();
    let started = Instant::now();
    let b = call(&t, "ledger", "balance", json!({"status": "cleared"}));
    let filtered = started.elapsed();
    assert_eq!(
        b["rows"].as_array().unwrap().len(),
        1,
        "only the bank posting is cleared"
    );
    println!(
        "suggest: {n} lines against {n} unmarked postings {suggest:.2?}; confirm-match to a posting {confirm:.2?}; balance {plain:.2?}, with status {filtered:.2?} ({} postings)",
        2 * n
    );
}
