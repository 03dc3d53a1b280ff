//! The bundled `banking` plugin through the real host, next to the ledger, contacts
//! and invoicing: a VAT invoice issued, part paid by a line of a camt.053 statement
//! that is imported, suggested, confirmed and reconciled against the ledger; a bank
//! fee matched by a rule; duplicates and every kind of bad statement refused with
//! nothing changed; a CSV statement through a saved mapping. An ignored test measures
//! a 10,000-line import and suggestion run.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use backoffice_host::clock::TestClock;
use backoffice_host::runtime::Limits;
use backoffice_host::store::EventFilter;
use backoffice_tests::{Cli, TestHost, user};
use serde_json::{Value, json};

const IBAN: &str = "GB29NWBK60161331926819";

/// A host on 10 January 2026 with ledger, contacts, invoicing and banking for `acme`.
fn host(deadline: Duration) -> TestHost {
    let clock = Arc::new(TestClock::at_rfc3339("2026-01-10T10:00:00Z"));
    let t = TestHost::with_config(|c| {
        c.clock = clock.clone();
        c.limits = Limits {
            call_deadline: deadline,
            ..Limits::default()
        };
    });
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

fn bank(t: &TestHost, op: &str, input: Value) -> Value {
    call(t, "banking", op, input)
}

/// The banking call fails with `status` and a message containing every fragment.
fn fails(t: &TestHost, op: &str, input: Value, status: u16, fragments: &[&str]) -> String {
    let err = t
        .call("acme", "banking", op, input)
        .expect_err(&format!("banking {op} should fail"));
    let msg = err.to_string();
    assert_eq!(err.http_status(), status, "{msg}");
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} lacks {f:?}");
    }
    msg
}

fn events(t: &TestHost, topic: &str) -> Vec<Value> {
    let mut list = t
        .host
        .events(&EventFilter {
            tenant: Some("acme".into()),
            topic: Some(topic.into()),
            limit: 1000,
        })
        .unwrap();
    list.reverse();
    list.iter()
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect()
}

/// Everything a refused import or match could have changed.
fn state(t: &TestHost) -> Vec<Value> {
    vec![
        bank(t, "list-statements", json!({})),
        bank(t, "unreconciled", json!({})),
        call(t, "invoicing", "list-payments", json!({})),
        call(t, "ledger", "trial-balance", json!({})),
        call(
            t,
            "ledger",
            "export",
            json!({"what": "entries", "format": "json"}),
        ),
        json!(events(t, "banking.statement-imported").len()),
    ]
}

/// Chart of accounts, VAT at 20 %, the opening bank balance of 1,000.00 and the
/// current account registered in banking.
fn books(t: &TestHost) -> String {
    call(
        t,
        "invoicing",
        "set-tax-code",
        json!({"code": "UK-VAT20", "rate-bp": 2000, "account": "liabilities:vat"}),
    );
    call(t, "invoicing", "setup-ledger", json!({}));
    for (name, kind) in [
        ("assets:bank:current", "asset"),
        ("equity:opening", "equity"),
        ("expenses:bank-charges", "expense"),
    ] {
        call(
            t,
            "ledger",
            "create-account",
            json!({"name": name, "type": kind}),
        );
    }
    call(
        t,
        "ledger",
        "post-entry",
        json!({"date": "2026-01-01", "description": "Opening balance", "postings": [
            {"account": "assets:bank:current", "amount": "1000.00", "currency": "GBP"},
            {"account": "equity:opening", "amount": "-1000.00", "currency": "GBP"}]}),
    );
    let a = bank(
        t,
        "add-account",
        json!({"name": "Current account", "iban": "gb29 nwbk 6016 1331 9268 19",
               "currency": "GBP", "ledger-account": "assets:bank:current"}),
    );
    assert_eq!(a["iban"], IBAN, "kept in its electronic form");
    assert_eq!(a["id"], "ba-000001");
    a["id"].as_str().unwrap().to_owned()
}

/// One `Ntry` of a camt.053 statement: amount as written, CRDT or DBIT.
struct Entry<'a> {
    amount: &'a str,
    indicator: &'a str,
    date: &'a str,
    bank_ref: &'a str,
    party: &'a str,
    remittance: &'a str,
}

fn ntry(e: &Entry, ccy: &str) -> String {
    let role = if e.indicator == "CRDT" {
        "Dbtr"
    } else {
        "Cdtr"
    };
    format!(
        r#"<Ntry><Amt Ccy="{ccy}">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{}</Dt></BookgDt><ValDt><Dt>{}</Dt></ValDt><AcctSvcrRef>{}</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><{role}><Pty><Nm>{}</Nm></Pty></{role}></RltdPties><RmtInf><Ustrd>{}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
"#,
        e.amount, e.indicator, e.date, e.date, e.bank_ref, e.party, e.remittance
    )
}

/// A camt.053.001.08 document with one statement.
fn camt(
    id: &str,
    iban: &str,
    ccy: &str,
    opening: &str,
    closing: &str,
    entries: &[Entry],
) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
<BkToCstmrStmt>
<GrpHdr><MsgId>{id}-MSG</MsgId><CreDtTm>2026-01-31T18:00:00Z</CreDtTm></GrpHdr>
<Stmt>
<Id>{id}</Id>
<CreDtTm>2026-01-31T18:00:00Z</CreDtTm>
<FrToDt><FrDtTm>2026-01-01T00:00:00Z</FrDtTm><ToDtTm>2026-01-31T23:59:59Z</ToDtTm></FrToDt>
<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{ccy}</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-31</Dt></Dt></Bal>
"#
    );
    for e in entries {
        s.push_str(&ntry(e, ccy));
    }
    s.push_str("</Stmt>\n</BkToCstmrStmt>\n</Document>\n");
    s
}

const PAYMENT: Entry = Entry {
    amount: "100.00",
    indicator: "CRDT",
    date: "2026-01-20",
    bank_ref: "B-0001",
    party: "Acme Retail Ltd",
    remittance: "Payment INV-2026-0001 thank you",
};
const FEE: Entry = Entry {
    amount: "12.50",
    indicator: "DBIT",
    date: "2026-01-31",
    bank_ref: "B-0002",
    party: "Northwind Bank",
    remittance: "Monthly account fee",
};

#[test]
fn a_camt053_part_payment_is_suggested_confirmed_and_reconciled() {
    let t = host(Duration::from_secs(5));
    let acct = books(&t);
    let customer = call(
        &t,
        "contacts",
        "create",
        json!({"name": "Acme Retail Ltd", "kind": "customer", "payment-terms-days": 30,
               "default-currency": "GBP"}),
    );
    let draft = call(
        &t,
        "invoicing",
        "create-document",
        json!({"kind": "invoice", "contact": customer["id"], "lines": [
            {"description": "Consulting", "quantity": 2, "unit-price": "100.00", "tax-code": "UK-VAT20"}]}),
    );
    let invoice = call(&t, "invoicing", "issue", json!({"id": draft["id"]}));
    assert_eq!(invoice["number"], "INV-2026-0001");
    assert_eq!(invoice["total"], 24000, "200.00 + VAT 40.00");
    assert_eq!(invoice["due-date"], "2026-02-09");
    bank(
        &t,
        "set-rule",
        json!({"name": "bank-fees", "reference-contains": "account fee",
               "contra-account": "expenses:bank-charges"}),
    );

    // The January statement: 1,000.00 + 100.00 - 12.50 = 1,087.50.
    let file = camt(
        "STMT-2026-01",
        IBAN,
        "GBP",
        "1000.00",
        "1087.50",
        &[PAYMENT, FEE],
    );
    let out = bank(&t, "import-camt053", json!({"content": file}));
    let st = &out["statements"][0];
    assert_eq!(st["statement-id"], "STMT-2026-01");
    assert_eq!(st["account"], acct.as_str());
    assert_eq!(st["imported"], 2);
    assert_eq!(st["duplicates"], json!([]));
    assert_eq!(st["opening-balance"], 100_000);
    assert_eq!(st["closing-balance"], 108_750);
    assert_eq!(st["closing-date"], "2026-01-31");
    let sid = st["id"].as_str().unwrap().to_owned();
    let imported = events(&t, "banking.statement-imported");
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0]["lines"], 2);

    // Each line is kept with the XML it came from.
    let detail = bank(&t, "get-statement", json!({"id": sid}));
    let lines = detail["lines-detail"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["amount"], 10_000);
    assert_eq!(lines[0]["counterparty"], "Acme Retail Ltd");
    assert_eq!(lines[0]["bank-reference"], "B-0001");
    assert_eq!(
        lines[0]["origin"],
        "/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]"
    );
    assert!(
        lines[0]["raw"]
            .as_str()
            .unwrap()
            .starts_with("<Ntry><Amt Ccy=\"GBP\">100.00</Amt>")
    );
    assert_eq!(lines[1]["amount"], -1_250);
    let (pay_line, fee_line) = (
        lines[0]["id"].as_str().unwrap().to_owned(),
        lines[1]["id"].as_str().unwrap().to_owned(),
    );

    // Not reconciled yet: the ledger has only the opening balance.
    let r = bank(&t, "reconcile", json!({"id": sid}));
    assert_eq!(
        (
            &r["closing-balance"],
            &r["ledger-balance"],
            &r["difference"],
            &r["reconciled"]
        ),
        (
            &json!(108_750),
            &json!(100_000),
            &json!(8_750),
            &json!(false)
        )
    );
    assert_eq!(r["unmatched-lines"], 2);

    // Suggestions: the invoice by its number, the fee by the rule.
    let s = bank(&t, "suggest", json!({"statement": sid}));
    assert_eq!(s["lines-without"], 0);
    let by_line = |id: &str| {
        s["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["line"] == id)
            .unwrap()["candidates"]
            .clone()
    };
    let inv_candidates = by_line(&pay_line);
    assert_eq!(inv_candidates[0]["kind"], "invoice");
    assert_eq!(inv_candidates[0]["number"], "INV-2026-0001");
    assert_eq!(inv_candidates[0]["open"], 24000);
    assert_eq!(
        inv_candidates[0]["reason"],
        "invoice number INV-2026-0001 in the reference"
    );
    let fee_candidates = by_line(&fee_line);
    assert_eq!(fee_candidates.as_array().unwrap().len(), 1);
    assert_eq!(fee_candidates[0]["rule"], "bank-fees");

    // Confirmed: invoicing records the payment to the mapped bank account.
    let m = bank(
        &t,
        "confirm-match",
        json!({"line": pay_line, "document": inv_candidates[0]["document"]}),
    );
    assert_eq!(m["status"], "matched");
    assert_eq!(m["matched"]["kind"], "invoice");
    assert_eq!(m["matched"]["number"], "INV-2026-0001");
    let payment = call(
        &t,
        "invoicing",
        "get-payment",
        json!({"id": m["matched"]["payment"]}),
    );
    assert_eq!(payment["amount"], 10_000);
    assert_eq!(payment["date"], "2026-01-20");
    assert_eq!(payment["bank-account"], "assets:bank:current");
    assert_eq!(payment["reference"], "B-0001");
    // Matching twice is refused.
    fails(
        &t,
        "confirm-match",
        json!({"line": pay_line, "document": "INV-2026-0001"}),
        409,
        &["already matched", "INV-2026-0001"],
    );
    let fee = bank(
        &t,
        "confirm-match",
        json!({"line": fee_line, "rule": "bank-fees"}),
    );
    let entry = call(
        &t,
        "ledger",
        "get-entry",
        json!({"id": fee["matched"]["ledger-entry"]}),
    );
    let postings: Vec<(&str, i64)> = entry["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["account"].as_str().unwrap(),
                p["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        postings,
        vec![
            ("assets:bank:current", -1_250),
            ("expenses:bank-charges", 1_250)
        ]
    );
    let matched = events(&t, "banking.line-matched");
    assert_eq!(matched.len(), 2);
    assert_eq!(matched[0]["matched"]["document"], invoice["id"]);

    // Invoicing: 140.00 still open, overdue 20 days on 1 March.
    let doc = call(
        &t,
        "invoicing",
        "get-document",
        json!({"id": "INV-2026-0001"}),
    );
    assert_eq!(doc["open"], 14_000);
    let age = call(
        &t,
        "invoicing",
        "ageing",
        json!({"as-of": "2026-03-01", "side": "sales"}),
    );
    assert_eq!(
        age["rows"][0]["buckets"],
        json!({"current": 0, "1-30": 14_000, "31-60": 0, "61-90": 0, "over-90": 0})
    );
    let tb = call(&t, "ledger", "trial-balance", json!({}));
    assert_eq!(tb["balanced"], true);
    let vat = call(
        &t,
        "ledger",
        "balance",
        json!({"prefix": "liabilities:vat"}),
    );
    assert_eq!(vat["totals"][0]["amount"], -4_000, "the invoice's VAT");

    // Now the statement agrees with the ledger, and nothing is left to match.
    let r = bank(&t, "reconcile", json!({"id": sid}));
    assert_eq!(
        (
            &r["ledger-balance"],
            &r["difference"],
            &r["reconciled"],
            &r["unmatched-lines"]
        ),
        (&json!(108_750), &json!(0), &json!(true), &json!(0))
    );
    assert_eq!(bank(&t, "unreconciled", json!({})), json!({"accounts": []}));

    // The same file again: refused as a duplicate statement, nothing changed.
    let before = state(&t);
    fails(
        &t,
        "import-camt053",
        json!({"content": file}),
        409,
        &[
            "statement STMT-2026-01 was already imported",
            "nothing was imported",
        ],
    );
    // A statement in US dollars for this sterling account.
    let usd = camt("STMT-2026-02", IBAN, "USD", "1087.50", "1087.50", &[]);
    fails(
        &t,
        "import-camt053",
        json!({"content": usd}),
        400,
        &[
            "/Document/BkToCstmrStmt/Stmt[1]/Acct/Ccy",
            "in USD but the account is in GBP",
            "nothing was imported",
        ],
    );
    // An entry in another currency than the statement's account.
    let mixed = camt(
        "STMT-2026-02",
        IBAN,
        "GBP",
        "1087.50",
        "1087.50",
        &[PAYMENT],
    )
    .replace("<Amt Ccy=\"GBP\">100.00", "<Amt Ccy=\"EUR\">100.00");
    fails(
        &t,
        "import-camt053",
        json!({"content": mixed}),
        400,
        &["Stmt[1]/Ntry[1]/Amt", "\"EUR\""],
    );
    // More decimals than sterling has.
    let fine = Entry {
        amount: "1.005",
        bank_ref: "B-0100",
        ..FEE
    };
    let decimals = camt("STMT-2026-02", IBAN, "GBP", "1087.50", "1086.495", &[fine]);
    fails(
        &t,
        "import-camt053",
        json!({"content": decimals}),
        400,
        &["Stmt[1]/Bal[2]/Amt", "more than 2 decimal places"],
    );
    // Another account's IBAN, and a statement for an account given explicitly.
    let other = camt("STMT-X-1", "DE89370400440532013000", "GBP", "0", "0", &[]);
    fails(
        &t,
        "import-camt053",
        json!({"content": other}),
        400,
        &[
            "Stmt[1]/Acct/Id",
            "no bank account has \"DE89370400440532013000\"",
        ],
    );
    fails(
        &t,
        "import-camt053",
        json!({"content": other, "account": acct}),
        400,
        &["is for DE89370400440532013000, not for ba-000001"],
    );
    // Malformed XML: the line of the error.
    let broken = file
        .replace("STMT-2026-01", "STMT-2026-03")
        .replacen("</Ntry>", "</Ntryy>", 1);
    fails(
        &t,
        "import-camt053",
        json!({"content": broken}),
        400,
        &["malformed XML at line 12", "Stmt[1]/Ntry[1]", "`</Ntryy>`"],
    );
    assert_eq!(
        state(&t),
        before,
        "every refused import left everything as it was"
    );

    // A later statement that repeats the payment line: only the new line is imported.
    let interest = Entry {
        amount: "0.80",
        indicator: "CRDT",
        date: "2026-02-01",
        bank_ref: "B-0003",
        party: "Northwind Bank",
        remittance: "Interest",
    };
    let feb = camt(
        "STMT-2026-02",
        IBAN,
        "GBP",
        "1087.50",
        "1088.30",
        &[PAYMENT, interest],
    );
    let out = bank(&t, "import-camt053", json!({"content": feb}));
    let st = &out["statements"][0];
    assert_eq!(st["imported"], 1);
    assert_eq!(
        st["duplicates"],
        json!([{"origin": "/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]", "existing-line": pay_line}])
    );
    let open = bank(&t, "unreconciled", json!({"account": acct}));
    assert_eq!(open["accounts"][0]["count"], 1);
    assert_eq!(open["accounts"][0]["total"], 80);
    assert_eq!(open["accounts"][0]["lines"][0]["reference"], "Interest");
    // A rule that does not hold for the line, or a line of money in against no
    // invoice: refused, nothing posted or recorded.
    let interest_line = open["accounts"][0]["lines"][0]["id"].clone();
    let before = state(&t);
    fails(
        &t,
        "confirm-match",
        json!({"line": interest_line, "rule": "bank-fees"}),
        400,
        &["rule bank-fees does not hold for line", "GBP 0.80"],
    );
    fails(
        &t,
        "confirm-match",
        json!({"line": interest_line, "document": "INV-2026-0099"}),
        404,
        &["INV-2026-0099"],
    );
    assert_eq!(state(&t), before);
}

#[test]
fn a_csv_statement_through_a_saved_mapping() {
    let t = host(Duration::from_secs(5));
    let acct = books(&t);
    fails(
        &t,
        "save-csv-mapping",
        json!({"name": "sparkasse", "date-column": 1, "date-format": "DD.MM.YYYY", "amount-column": 2, "debit-column": 3}),
        400,
        &["either amount-column (signed) or both debit-column and credit-column"],
    );
    bank(
        &t,
        "save-csv-mapping",
        json!({"name": "sparkasse", "delimiter": ";", "skip-rows": 1, "date-column": 1,
               "date-format": "DD.MM.YYYY", "decimal-separator": ",", "thousands-separator": ".",
               "debit-column": 2, "credit-column": 3, "reference-column": 4, "counterparty-column": 5}),
    );
    let before = state(&t);
    let bad = "Datum;Soll;Haben;Zweck;Name\n02.01.2026;1.234,56;;Miete;Vermieter\n03.01.2026;;12,345;RE-17;Kunde\n";
    fails(
        &t,
        "import-csv",
        json!({"account": acct, "mapping": "sparkasse", "content": bad}),
        400,
        &[
            "line 3:",
            "more than 2 decimal places",
            "nothing was imported",
        ],
    );
    fails(
        &t,
        "import-csv",
        json!({"account": acct, "mapping": "nope", "content": bad}),
        404,
        &["no CSV mapping \"nope\""],
    );
    assert_eq!(state(&t), before);
    let good = bad.replace("12,345", "12,34");
    let out = bank(
        &t,
        "import-csv",
        json!({"account": acct, "mapping": "sparkasse", "content": good,
               "closing-balance": "-222.22", "closing-date": "2026-01-03"}),
    );
    let st = &out["statements"][0];
    assert_eq!(st["imported"], 2);
    assert_eq!(st["format"], "csv");
    let lines = bank(&t, "get-statement", json!({"id": st["id"]}))["lines-detail"].clone();
    assert_eq!(lines[0]["amount"], -123_456);
    assert_eq!(lines[0]["raw"], "02.01.2026;1.234,56;;Miete;Vermieter");
    assert_eq!(lines[0]["origin"], "line 2");
    assert_eq!(lines[1]["amount"], 1_234);
    // Page by page.
    let page = bank(&t, "get-statement", json!({"id": st["id"], "limit": 1}));
    assert_eq!(page["lines-detail"].as_array().unwrap().len(), 1);
    assert_eq!(page["next-after"], lines[0]["id"]);
    let page = bank(
        &t,
        "get-statement",
        json!({"id": st["id"], "after": page["next-after"]}),
    );
    assert_eq!(page["lines-detail"][0]["id"], lines[1]["id"]);
    assert_eq!(page["next-after"], Value::Null);
    // The same file again, without a statement id: the content's hash refuses it.
    fails(
        &t,
        "import-csv",
        json!({"account": acct, "mapping": "sparkasse", "content": good}),
        409,
        &["already imported"],
    );
    // Closing balance -222.22 against the ledger's 1,000.00: a difference to explain.
    let r = bank(&t, "reconcile", json!({"id": st["id"]}));
    assert_eq!(r["difference"], -122_222);
    assert_eq!(r["reconciled"], false);

    // A supplier bill paid without a reference: found by its open amount and the
    // supplier's name, and paid through invoicing.
    let supplier = call(
        &t,
        "contacts",
        "create",
        json!({"name": "Paper Supplies plc", "kind": "supplier", "default-currency": "GBP"}),
    );
    let bill = call(
        &t,
        "invoicing",
        "create-document",
        json!({"kind": "bill", "contact": supplier["id"], "date": "2026-01-02", "lines": [
            {"description": "Paper", "unit-price": "45.00", "tax-code": "UK-VAT20"}]}),
    );
    let bill = call(&t, "invoicing", "issue", json!({"id": bill["id"]}));
    assert_eq!(bill["total"], 5_400);
    let paid = "Datum;Soll;Haben;Zweck;Name\n05.01.2026;54,00;;;paper supplies PLC\n";
    let out = bank(
        &t,
        "import-csv",
        json!({"account": acct, "mapping": "sparkasse", "content": paid, "statement-id": "2026-01-05"}),
    );
    let st2 = out["statements"][0]["id"].clone();
    let s = bank(&t, "suggest", json!({"statement": st2}));
    let c = &s["suggestions"][0]["candidates"];
    assert_eq!(c.as_array().unwrap().len(), 1);
    assert_eq!(c[0]["kind"], "bill");
    assert_eq!(c[0]["number"], bill["number"]);
    assert_eq!(
        c[0]["reason"],
        "open amount and counterparty are the line's"
    );
    let m = bank(
        &t,
        "confirm-match",
        json!({"line": s["suggestions"][0]["line"], "document": c[0]["document"]}),
    );
    assert_eq!(m["matched"]["kind"], "bill");
    let bill = call(&t, "invoicing", "get-document", json!({"id": bill["id"]}));
    assert_eq!(bill["open"], 0);
    let payable = call(
        &t,
        "ledger",
        "balance",
        json!({"prefix": "liabilities:payable"}),
    );
    assert_eq!(payable["totals"], json!([]), "nothing owed to the supplier");
    assert_eq!(
        call(&t, "ledger", "trial-balance", json!({}))["balanced"],
        true
    );
}

/// An OFX 1.0.2 (SGML) statement of account 31926819 in `ccy` for January.
fn ofx(ccy: &str, end: &str, balance: &str, transactions: &[(&str, &str, &str, &str)]) -> String {
    let mut s = format!(
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX>\n<BANKMSGSRSV1><STMTTRNRS><TRNUID>1\n<STMTRS>\n<CURDEF>{ccy}\n<BANKACCTFROM><BANKID>601613<ACCTID>31926819<ACCTTYPE>SAVINGS</BANKACCTFROM>\n<BANKTRANLIST><DTSTART>20260101<DTEND>{end}\n"
    );
    for (date, amount, fitid, memo) in transactions {
        s.push_str(&format!(
            "<STMTTRN>\n<TRNTYPE>OTHER\n<DTPOSTED>{date}\n<TRNAMT>{amount}\n<FITID>{fitid}\n<NAME>Northwind Bank\n<MEMO>{memo}\n</STMTTRN>\n"
        ));
    }
    s.push_str(&format!(
        "</BANKTRANLIST>\n<LEDGERBAL><BALAMT>{balance}<DTASOF>{end}</LEDGERBAL>\n</STMTRS></STMTTRNRS></BANKMSGSRSV1>\n</OFX>\n"
    ));
    s
}

#[test]
fn an_ofx_statement_is_imported_matched_by_a_rule_and_reconciled() {
    let t = host(Duration::from_secs(5));
    books(&t);
    call(
        &t,
        "ledger",
        "create-account",
        json!({"name": "assets:bank:savings", "type": "asset"}),
    );
    let savings = bank(
        &t,
        "add-account",
        json!({"name": "Savings", "account-number": "31926819", "currency": "GBP",
               "ledger-account": "assets:bank:savings"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    bank(
        &t,
        "set-rule",
        json!({"name": "fees", "counterparty-equals": "northwind bank", "amount-equals": -1250,
               "contra-account": "expenses:bank-charges"}),
    );
    let file = ofx(
        "GBP",
        "20260131",
        "-12.50",
        &[("20260131", "-12.50", "F-1", "Fee")],
    );
    let before = state(&t);
    let usd = ofx("USD", "20260228", "0", &[]);
    fails(
        &t,
        "import-ofx",
        json!({"content": usd}),
        400,
        &[
            "CURDEF",
            "in USD but the account is in GBP",
            "nothing was imported",
        ],
    );
    let broken = file.replace("<TRNAMT>-12.50", "<TRNAMT>-12.505");
    fails(
        &t,
        "import-ofx",
        json!({"content": broken}),
        400,
        &["line 14:", "TRNAMT", "more than 2 decimal places"],
    );
    assert_eq!(state(&t), before);
    let out = bank(&t, "import-ofx", json!({"content": file}));
    let st = &out["statements"][0];
    assert_eq!(st["statement-id"], "ofx-31926819-20260101-20260131");
    assert_eq!(st["account"], savings.as_str());
    assert_eq!(st["format"], "ofx");
    assert_eq!(st["closing-balance"], -1_250);
    fails(
        &t,
        "import-ofx",
        json!({"content": file}),
        409,
        &["already imported"],
    );
    let s = bank(&t, "suggest", json!({"account": savings}));
    let c = &s["suggestions"][0]["candidates"];
    assert_eq!(c[0]["rule"], "fees");
    // A clerk who may match bank lines but not post to the ledger.
    let clerk = user("clerk", &["banking.*"]);
    let before = state(&t);
    let err = t
        .call_as(
            "acme",
            "banking",
            "confirm-match",
            json!({"line": s["suggestions"][0]["line"], "rule": "fees"}),
            &clerk,
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    assert!(err.to_string().contains("ledger.post"), "{err}");
    assert_eq!(state(&t), before);
    bank(
        &t,
        "confirm-match",
        json!({"line": s["suggestions"][0]["line"], "rule": "fees"}),
    );
    let r = bank(&t, "reconcile", json!({"id": st["id"]}));
    assert_eq!(r["ledger-balance"], -1_250);
    assert_eq!(r["reconciled"], true);
}

#[test]
fn through_the_cli_a_statement_is_imported_once() {
    let cli = Cli::new();
    let plugins = ["ledger", "contacts", "invoicing", "banking"];
    for p in plugins {
        cli.install_unsigned(p).ok();
    }
    cli.run(&["tenant", "create", "acme"]).ok();
    for p in plugins {
        cli.run(&["plugin", "enable", p, "--tenant", "acme"]).ok();
    }
    cli.call(
        "acme",
        "ledger",
        "create-account",
        &json!({"name": "assets:bank:current", "type": "asset"}),
    );
    let account = |iban: &str| {
        json!({"name": "Current", "iban": iban, "currency": "GBP",
               "ledger-account": "assets:bank:current"})
        .to_string()
    };
    let add = ["call", "--tenant", "acme", "banking", "add-account"];
    cli.run_with_stdin(&add, &account("GB28 NWBK 6016 1331 9268 19"))
        .fails(2, &["wrong check digits", "ISO 7064 MOD 97-10"]);
    let a = cli
        .run_with_stdin(&add, &account("GB29 NWBK 6016 1331 9268 19"))
        .json();
    assert_eq!(a["iban"], IBAN);
    let file = json!({"content": camt("CLI-1", IBAN, "GBP", "12.50", "0.00", &[FEE])}).to_string();
    let import = ["call", "--tenant", "acme", "banking", "import-camt053"];
    let out = cli.run_with_stdin(&import, &file).json();
    assert_eq!(out["statements"][0]["imported"], 1);
    cli.run_with_stdin(&import, &file)
        .fails(4, &["statement CLI-1 was already imported"]);
    let open = cli.call("acme", "banking", "unreconciled", &json!({}));
    assert_eq!(open["accounts"][0]["count"], 1);
    assert_eq!(open["accounts"][0]["total"], -1_250);
}

/// Not asserted, measured: `cargo test -p backoffice-tests --test e2e
/// banking::measure -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, run by hand"]
fn measure_a_10000_line_statement() {
    let t = host(Duration::from_secs(60));
    let acct = books(&t);
    bank(
        &t,
        "save-csv-mapping",
        json!({"name": "plain", "date-column": 1, "date-format": "YYYY-MM-DD",
               "amount-column": 2, "reference-column": 3, "counterparty-column": 4,
               "bank-reference-column": 5}),
    );
    // 100 open invoices of 10 customers; every 100th line pays one by its number.
    call(
        &t,
        "invoicing",
        "set-tax-code",
        json!({"code": "UK-VAT20", "rate-bp": 2000, "account": "liabilities:vat"}),
    );
    let mut customers = Vec::new();
    for c in 0..10 {
        let made = call(
            &t,
            "contacts",
            "create",
            json!({"name": format!("Customer {c}"), "kind": "customer", "default-currency": "GBP"}),
        );
        customers.push(made["id"].clone());
    }
    for i in 0..100 {
        let d = call(
            &t,
            "invoicing",
            "create-document",
            json!({"kind": "invoice", "contact": customers[i % 10], "lines": [
                {"description": "Goods", "unit-price": 1000 + i, "tax-code": "UK-VAT20"}]}),
        );
        call(&t, "invoicing", "issue", json!({"id": d["id"]}));
    }
    let mut csv = String::from("date,amount,reference,counterparty,bank-ref\n");
    for i in 0..10_000 {
        let reference = if i % 100 == 0 {
            format!("INV-2026-{:04}", 1 + i / 100)
        } else {
            format!("REF-{i:05}")
        };
        csv.push_str(&format!(
            "2026-01-{:02},{}.{:02},{reference},Customer {},BR-{i:06}\n",
            1 + i % 28,
            1 + i % 997,
            i % 100,
            i % 10
        ));
    }
    let started = Instant::now();
    let out = bank(
        &t,
        "import-csv",
        json!({"account": acct, "mapping": "plain", "content": csv}),
    );
    let import = started.elapsed();
    assert_eq!(out["statements"][0]["imported"], 10_000);
    let started = Instant::now();
    let s = bank(&t, "suggest", json!({"account": acct}));
    let suggest = started.elapsed();
    println!(
        "10,000-line CSV ({} bytes): import {:.2?}; suggest against 100 open invoices {:.2?} ({} lines with candidates, {} without)",
        csv.len(),
        import,
        suggest,
        s["suggestions"].as_array().unwrap().len(),
        s["lines-without"]
    );
    // camt.053: 2,500 entries in one call, and how many of this shape fit in 1 MiB.
    let entries: Vec<(String, String)> = (0..2_500)
        .map(|i| {
            (
                format!("C-{i:06}"),
                format!("{}.{:02}", 1 + i % 997, i % 100),
            )
        })
        .collect();
    let list: Vec<Entry> = entries
        .iter()
        .map(|(r, a)| Entry {
            amount: a,
            bank_ref: r,
            ..PAYMENT
        })
        .collect();
    let big = camt("BIG-1", IBAN, "GBP", "0", "0", &list);
    let started = Instant::now();
    let out = bank(&t, "import-camt053", json!({"content": big}));
    println!(
        "2,500-entry camt.053 ({} bytes): import {:.2?}",
        big.len(),
        started.elapsed()
    );
    assert_eq!(out["statements"][0]["imported"], 2_500);
    let e = ntry(&PAYMENT, "GBP");
    let head = camt("X", IBAN, "GBP", "0", "0", &[]).len();
    println!(
        "camt.053: {} bytes per entry like these, so about {} entries per 1 MiB call",
        e.len(),
        (1_048_576 - head - 200) / (e.len() + 2)
    );
}

/// The trial balance's accounts with a balance, and its totals: what a match and its
/// unmatching must leave as they were (an account whose postings were reversed has
/// no balance, as before it had any).
fn balances(t: &TestHost) -> Value {
    let tb = call(t, "ledger", "trial-balance", json!({}));
    let rows: Vec<Value> = tb["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            ["debit", "credit"].iter().any(|side| {
                r[*side]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["amount"] != 0)
            })
        })
        .map(|r| json!([r["account"], r["debit"], r["credit"]]))
        .collect();
    json!({"rows": rows, "debit": tb["debit"], "credit": tb["credit"], "balanced": tb["balanced"]})
}

#[test]
fn an_invoice_match_and_a_rule_match_are_unmatched_by_reversals_and_matched_again() {
    let t = host(Duration::from_secs(5));
    books(&t);
    let customer = call(
        &t,
        "contacts",
        "create",
        json!({"name": "Acme Retail Ltd", "kind": "customer", "payment-terms-days": 30,
               "default-currency": "GBP"}),
    );
    let draft = call(
        &t,
        "invoicing",
        "create-document",
        json!({"kind": "invoice", "contact": customer["id"], "lines": [
            {"description": "Consulting", "quantity": 2, "unit-price": "100.00", "tax-code": "UK-VAT20"}]}),
    );
    let invoice = call(&t, "invoicing", "issue", json!({"id": draft["id"]}));
    let total = invoice["total"].as_i64().unwrap();
    bank(
        &t,
        "set-rule",
        json!({"name": "bank-fees", "reference-contains": "account fee",
               "contra-account": "expenses:bank-charges"}),
    );
    let file = camt(
        "STMT-2026-01",
        IBAN,
        "GBP",
        "1000.00",
        "1087.50",
        &[PAYMENT, FEE],
    );
    let out = bank(&t, "import-camt053", json!({"content": file}));
    let sid = out["statements"][0]["id"].as_str().unwrap().to_owned();
    let detail = bank(&t, "get-statement", json!({"id": sid}));
    let pay_line = detail["lines-detail"][0]["id"].as_str().unwrap().to_owned();
    let fee_line = detail["lines-detail"][1]["id"].as_str().unwrap().to_owned();

    // Before any match.
    let as_of = json!({"as-of": "2026-01-31"});
    let open_before = call(&t, "invoicing", "open-items", as_of.clone());
    let ageing_before = call(&t, "invoicing", "ageing", as_of.clone());
    assert_eq!(open_before["items"][0]["open"], total);
    let books_before = balances(&t);
    let rec_before = bank(&t, "reconcile", json!({"id": sid}));

    // Matched: the payment and the fee; the statement reconciles.
    let m = bank(
        &t,
        "confirm-match",
        json!({"line": pay_line, "document": "INV-2026-0001"}),
    );
    let payment = m["matched"]["payment"].as_str().unwrap().to_owned();
    let pay_entry = m["matched"]["ledger-entry"].as_str().unwrap().to_owned();
    let pay_posting = m["matched"]["posting"].as_u64().unwrap();
    let f = bank(
        &t,
        "confirm-match",
        json!({"line": fee_line, "rule": "bank-fees"}),
    );
    let fee_entry = f["matched"]["ledger-entry"].as_str().unwrap().to_owned();
    let r = bank(&t, "reconcile", json!({"id": sid}));
    assert_eq!(
        (&r["reconciled"], &r["unmatched-lines"]),
        (&json!(true), &json!(0))
    );
    assert_eq!(
        call(
            &t,
            "invoicing",
            "get-document",
            json!({"id": "INV-2026-0001"})
        )["open"],
        total - 10_000
    );

    // A line of a reconciled statement is refused, saying why and what to do.
    let before = state(&t);
    fails(
        &t,
        "unmatch",
        json!({"line": pay_line}),
        409,
        &["STMT-2026-01", "is reconciled", "reopen: true"],
    );
    assert_eq!(state(&t), before, "a refused unmatch changes nothing");

    // Unmatched with reopen: the payment is voided by a reversing entry, the invoice
    // is open again, the line unmatched.
    let l = bank(&t, "unmatch", json!({"line": pay_line, "reopen": true}));
    assert_eq!(l["status"], "unmatched");
    assert!(l.get("matched").is_none());
    let p = call(&t, "invoicing", "get-payment", json!({"id": payment}));
    assert_eq!(p["voided"]["date"], "2026-01-20");
    let reversal = p["voided"]["ledger-entry"].as_str().unwrap().to_owned();
    let original = call(&t, "ledger", "get-entry", json!({"id": pay_entry}));
    assert_eq!(
        original["reversed-by"],
        reversal.as_str(),
        "kept, and reversed"
    );
    let rev = call(&t, "ledger", "get-entry", json!({"id": reversal}));
    let negated: Vec<i64> = original["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| -p["amount"].as_i64().unwrap())
        .collect();
    let got: Vec<i64> = rev["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(got, negated);
    // The pair nets to zero in the cleared balance.
    let i = usize::try_from(pay_posting).unwrap();
    assert_eq!(original["postings"][i]["status"], "cleared");
    assert_eq!(rev["postings"][i]["status"], "cleared");
    let doc = call(
        &t,
        "invoicing",
        "get-document",
        json!({"id": "INV-2026-0001"}),
    );
    assert_eq!(doc["open"], total);
    let kinds: Vec<&str> = doc["settlements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["payment", "payment-voided"],
        "the history is kept"
    );
    assert_eq!(
        call(&t, "invoicing", "open-items", as_of.clone()),
        open_before
    );
    assert_eq!(
        call(&t, "invoicing", "ageing", as_of.clone()),
        ageing_before
    );
    let st = call(
        &t,
        "invoicing",
        "statement",
        json!({"contact": customer["id"], "to": "2026-01-31"}),
    );
    assert_eq!(st["currencies"][0]["closing"], total);
    assert_eq!(events(&t, "invoicing.payment-voided").len(), 1);

    // The rule's match: its entry is reversed too (the statement is no longer
    // reconciled, so no reopen is needed).
    let l = bank(&t, "unmatch", json!({"line": fee_line}));
    assert_eq!(l["status"], "unmatched");
    let fe = call(&t, "ledger", "get-entry", json!({"id": fee_entry}));
    assert!(fe["reversed-by"].is_string(), "{fe}");
    assert_eq!(events(&t, "banking.line-unmatched").len(), 2);

    // The books are as before the matches.
    assert_eq!(balances(&t), books_before);
    let rec = bank(&t, "reconcile", json!({"id": sid}));
    for field in [
        "ledger-balance",
        "difference",
        "reconciled",
        "unmatched-lines",
        "cleared-balance",
        "cleared-difference",
    ] {
        assert_eq!(rec[field], rec_before[field], "{field}");
    }
    // Neither reversed entry is proposed to a line: only the invoice and the rule.
    let s = bank(&t, "suggest", json!({"statement": sid}));
    for sug in s["suggestions"].as_array().unwrap() {
        assert!(
            sug["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["kind"] != "posting"),
            "{sug}"
        );
    }
    fails(
        &t,
        "unmatch",
        json!({"line": pay_line}),
        400,
        &["is not matched"],
    );

    // Matched again: a new payment and a new rule entry; the statement reconciles.
    let m2 = bank(
        &t,
        "confirm-match",
        json!({"line": pay_line, "document": "INV-2026-0001"}),
    );
    assert_ne!(m2["matched"]["payment"], payment.as_str());
    let f2 = bank(
        &t,
        "confirm-match",
        json!({"line": fee_line, "rule": "bank-fees"}),
    );
    assert_ne!(f2["matched"]["ledger-entry"], fee_entry.as_str());
    let r = bank(&t, "reconcile", json!({"id": sid}));
    assert_eq!(
        (&r["reconciled"], &r["unmatched-lines"]),
        (&json!(true), &json!(0))
    );
    assert_eq!(
        call(
            &t,
            "invoicing",
            "get-document",
            json!({"id": "INV-2026-0001"})
        )["open"],
        total - 10_000
    );
}

/// `suggest` reads invoicing's open items in pages (`open-items-page`): with one item
/// a page, the invoice a line pays is found on the third page, with the same
/// candidates as in one page; a page size out of range is refused.
#[test]
fn suggest_finds_an_invoice_past_the_first_page_of_open_items() {
    let t = host(Duration::from_secs(5));
    let acct = books(&t);
    let customer = call(
        &t,
        "contacts",
        "create",
        json!({"name": "Acme Retail Ltd", "kind": "customer", "payment-terms-days": 30,
               "default-currency": "GBP"}),
    );
    // Three invoices; open-items orders them by due date, so the latest is last.
    let mut numbers = Vec::new();
    for (day, price) in [
        ("2026-01-02", "10.00"),
        ("2026-01-03", "20.00"),
        ("2026-01-04", "30.00"),
    ] {
        let draft = call(
            &t,
            "invoicing",
            "create-document",
            json!({"kind": "invoice", "contact": customer["id"], "lines": [
                {"description": "Goods", "unit-price": price, "tax-code": "UK-VAT20"}]}),
        );
        let inv = call(
            &t,
            "invoicing",
            "issue",
            json!({"id": draft["id"], "date": day}),
        );
        numbers.push(inv["number"].as_str().unwrap().to_owned());
    }
    let pages = call(&t, "invoicing", "open-items", json!({"limit": 1}));
    assert_eq!(pages["items"][0]["number"], numbers[0]);
    assert!(pages["next"].is_string(), "{pages}");
    bank(
        &t,
        "save-csv-mapping",
        json!({"name": "plain", "date-column": 1, "date-format": "YYYY-MM-DD",
               "amount-column": 2, "reference-column": 3, "counterparty-column": 4}),
    );
    // The third invoice, 30.00 + VAT, paid in full with its number in the reference.
    let csv = format!(
        "date,amount,reference,counterparty\n2026-01-09,36.00,Payment {},Acme Retail Ltd\n",
        numbers[2]
    );
    bank(
        &t,
        "import-csv",
        json!({"account": acct, "mapping": "plain", "content": csv}),
    );
    let paged = bank(
        &t,
        "suggest",
        json!({"account": acct, "open-items-page": 1}),
    );
    let best = &paged["suggestions"][0]["candidates"][0];
    assert_eq!(best["kind"], "invoice", "{paged}");
    assert_eq!(best["number"], numbers[2].as_str(), "{paged}");
    assert_eq!(
        paged,
        bank(&t, "suggest", json!({"account": acct})),
        "one item a page finds what one page finds"
    );
    for bad in [0, 10_001] {
        fails(
            &t,
            "suggest",
            json!({"account": acct, "open-items-page": bad}),
            400,
            &[
                "open-items-page must be 1 to 10000",
                &format!("not {bad}"),
                "leave it out for 5000",
            ],
        );
    }
    // The match found on the third page confirms like any other.
    let line = paged["suggestions"][0]["line"].clone();
    let m = bank(
        &t,
        "confirm-match",
        json!({"line": line, "document": best["document"]}),
    );
    assert_eq!(m["matched"]["number"], numbers[2].as_str(), "{m}");
    let doc = call(&t, "invoicing", "get-document", json!({"id": numbers[2]}));
    assert_eq!(doc["open"], 0, "{doc}");
}
