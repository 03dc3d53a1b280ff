//! `backoffice ledger import` and `backoffice banking import` (issue 21, item 4) through
//! the real binary: files larger than one call's 1 MiB input imported in chunks, the
//! ledger's balances (and the statement's lines) equal to totals computed here, a bad
//! record in the middle named by its line with the chunks before it kept, the fixed
//! file resumed without importing anything twice, and a second run importing nothing.
//! An ignored test measures a 15 MB journal.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use backoffice_tests::Cli;
use serde_json::{Value, json};

/// A CLI with tenant `acme` and the given plugins installed and enabled.
fn cli_with(plugins: &[&str]) -> Cli {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    for p in plugins {
        cli.install_unsigned(p).ok();
        cli.run(&["plugin", "enable", p, "--tenant", "acme"]).ok();
    }
    cli
}

/// Minor units per (account, currency).
type Totals = BTreeMap<(String, String), i64>;

/// One generated transaction: its header line in the file, its text, its postings.
struct Txn {
    line: usize,
    postings: Vec<(String, String, i64)>,
}

/// A journal of `n` transactions in EUR and in `$` written with thousands separators
/// (so every chunk needs the `commodity` directive at the top), with comments between
/// them; `bad` makes that transaction unbalanced by 0.01.
fn journal(n: usize, bad: Option<usize>) -> (String, Vec<Txn>) {
    let mut text = String::from(
        "; generated for the big-import test\ncommodity $1,000.00\n\naccount assets:bank  ; type: A\n\n",
    );
    let mut line = text.matches('\n').count() + 1;
    let mut txns = Vec::with_capacity(n);
    for i in 0..n {
        let day = 1 + i % 28;
        let month = 1 + (i / 28) % 12;
        let cents = i64::try_from(100_000 + (i * 7919) % 900_000).unwrap();
        let (cur, amount) = if i % 3 == 0 {
            let whole = cents / 100;
            (
                "$",
                format!("${},{:03}.{:02}", whole / 1000, whole % 1000, cents % 100),
            )
        } else {
            ("EUR", format!("{}.{:02} EUR", cents / 100, cents % 100))
        };
        let expense = format!("expenses:cat{}", i % 17);
        let off = i64::from(bad == Some(i));
        let credit = if off == 1 {
            format!(
                "    assets:bank  -{}.{:02} {cur}\n",
                (cents - 1) / 100,
                (cents - 1) % 100
            )
        } else {
            "    assets:bank\n".to_owned()
        };
        let block = format!(
            "2024-{month:02}-{day:02} * Supplier {i} | invoice {i}\n    ; a comment line\n    {expense}  {amount}  ; memo {i}\n{credit}\n"
        );
        if i % 500 == 0 {
            text.push_str("; ---- a top-level comment ----\n");
            line += 1;
        }
        txns.push(Txn {
            line,
            postings: vec![
                (expense, cur.to_owned(), cents),
                ("assets:bank".to_owned(), cur.to_owned(), -cents + off),
            ],
        });
        line += block.matches('\n').count();
        text.push_str(&block);
    }
    (text, txns)
}

fn totals<'a>(txns: impl IntoIterator<Item = &'a Txn>) -> Totals {
    let mut t = Totals::new();
    for x in txns {
        for (a, c, v) in &x.postings {
            *t.entry((a.clone(), c.clone())).or_default() += v;
        }
    }
    t.retain(|_, v| *v != 0);
    t
}

/// The ledger's balances as the same map.
fn ledger_totals(cli: &Cli) -> Totals {
    let b = cli.call("acme", "ledger", "balance", &json!({}));
    let mut t = Totals::new();
    for row in b["rows"].as_array().unwrap() {
        for a in row["amounts"].as_array().unwrap() {
            t.insert(
                (
                    row["account"].as_str().unwrap().to_owned(),
                    a["currency"].as_str().unwrap().to_owned(),
                ),
                a["amount"].as_i64().unwrap(),
            );
        }
    }
    t.retain(|_, v| *v != 0);
    t
}

fn write(cli: &Cli, name: &str, text: &str) -> String {
    let p: PathBuf = cli.dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// The number after `label` in the summary line (`..., 12 chunks (...)`).
fn number_before(summary: &str, label: &str) -> usize {
    let at = summary
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {summary}"));
    summary[..at]
        .trim_end()
        .rsplit([' ', '('])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {summary}"))
}

#[test]
fn a_journal_of_a_few_mib_imports_in_chunks_once() {
    let cli = cli_with(&["ledger"]);
    let (text, txns) = journal(30_000, None);
    assert!(text.len() > 3 << 20, "{} bytes", text.len());
    let file = write(&cli, "big.journal", &text);
    // One call refuses it.
    cli.run_with_stdin(
        &["call", "--tenant", "acme", "ledger", "import-journal"],
        &json!({ "journal": text }).to_string(),
    )
    .fails(2, &["exceeds the 1048576 byte limit"]);

    let out = cli
        .run(&[
            "ledger",
            "import",
            &file,
            "--tenant",
            "acme",
            "--call-timeout-ms",
            "30000",
        ])
        .ok();
    assert!(number_before(&out, "chunks") >= 4, "{out}");
    assert!(out.contains("already imported and skipped"), "{out}");
    assert_eq!(number_before(&out, "already imported"), 0, "{out}");
    // 30,000 transactions and the commodity and account directives.
    assert_eq!(number_before(&out, "records ("), 30_002, "{out}");
    let expected = totals(&txns);
    assert_eq!(ledger_totals(&cli), expected);

    // A second run of the finished import imports nothing.
    let again = cli
        .run(&[
            "ledger",
            "import",
            &file,
            "--tenant",
            "acme",
            "--call-timeout-ms",
            "30000",
        ])
        .ok();
    assert_eq!(
        number_before(&again, "imported,"),
        0,
        "no chunk imported: {again}"
    );
    assert_eq!(number_before(&again, "skipped) in"), 30_002, "{again}");
    assert_eq!(ledger_totals(&cli), expected);
}

#[test]
fn a_bad_record_names_its_line_and_the_fixed_file_imports_the_rest_once() {
    let cli = cli_with(&["ledger"]);
    // A EUR transaction (every third one is in $).
    let bad = 9_001;
    let (text, txns) = journal(12_000, Some(bad));
    let file = write(&cli, "books.journal", &text);
    let args = [
        "ledger",
        "import",
        &file,
        "--tenant",
        "acme",
        "--chunk-bytes",
        "262144",
        "--call-timeout-ms",
        "30000",
    ];
    let run = cli.run(&args).fails(
        2,
        &[
            &format!("line {}: the entry does not balance", txns[bad].line),
            "was not imported",
            "run the same command again",
        ],
    );
    // "chunks 1 to K (N records, up to line L) are imported"
    let up_to: usize = {
        let at = run.stderr.find("up to line ").unwrap() + "up to line ".len();
        let digits: String = run.stderr[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    assert!(
        up_to > txns[0].line && up_to < txns[bad].line,
        "{}",
        run.stderr
    );
    let kept: Vec<&Txn> = txns.iter().filter(|t| t.line <= up_to).collect();
    assert!(!kept.is_empty());
    assert_eq!(
        ledger_totals(&cli),
        totals(kept),
        "the chunks before the bad one stay imported, nothing of it or after"
    );

    // Fix the one line (the credit posting is elided again) and run the same command.
    let (fixed, fixed_txns) = journal(12_000, None);
    std::fs::write(&file, fixed).unwrap();
    let out = cli.run(&args).ok();
    assert!(number_before(&out, "already imported") >= 1, "{out}");
    assert_eq!(ledger_totals(&cli), totals(&fixed_txns), "nothing twice");
}

/// A CSV statement: header, `date,amount,reference,memo`; some lines identical (a
/// coffee every 400 lines, the same day and amount, no reference), which must not be
/// taken for duplicates of each other across chunks.
fn statement(n: usize) -> (String, i64) {
    let mut text = String::from("Date,Amount,Reference,Memo\n");
    let mut total = 0;
    for i in 0..n {
        let (amount, reference, memo) = if i % 400 == 7 {
            (-350, String::new(), "Coffee, \"the usual\"".to_owned())
        } else {
            let a = match i64::try_from((i * 7919) % 200_000).unwrap() - 100_000 {
                0 => 1,
                a => a,
            };
            (
                a,
                format!("REF-{i:06}"),
                format!(
                    "Payment {i} for services rendered as agreed in the contract of the year, with a long description to make the file big"
                ),
            )
        };
        total += amount;
        let sign = if amount < 0 { "-" } else { "" };
        let memo = memo.replace('"', "\"\"");
        text.push_str(&format!(
            "2026-01-{:02},{sign}{}.{:02},{reference},\"{memo}\"\n",
            1 + (i / 1000) % 28,
            amount.abs() / 100,
            amount.abs() % 100
        ));
    }
    (text, total)
}

/// Every line of every statement of the account: (count, sum of amounts).
fn statement_lines(cli: &Cli) -> (usize, i64) {
    let list = cli.call(
        "acme",
        "banking",
        "list-statements",
        &json!({"account": "ba-000001"}),
    );
    let (mut count, mut sum) = (0, 0);
    for s in list["statements"].as_array().unwrap() {
        let mut after = Value::Null;
        loop {
            let mut input = json!({"id": s["id"], "limit": 1000});
            if !after.is_null() {
                input["after"] = after.clone();
            }
            let page = cli.call("acme", "banking", "get-statement", &input);
            for l in page["lines-detail"].as_array().unwrap() {
                count += 1;
                sum += l["amount"].as_i64().unwrap();
            }
            after = page["next-after"].clone();
            if after.is_null() {
                break;
            }
        }
    }
    (count, sum)
}

#[test]
fn a_csv_statement_of_a_few_mib_imports_in_chunks_once() {
    let cli = cli_with(&["ledger", "contacts", "invoicing", "banking"]);
    cli.call(
        "acme",
        "ledger",
        "create-account",
        &json!({"name": "assets:bank:current", "type": "asset"}),
    );
    cli.call(
        "acme",
        "banking",
        "add-account",
        &json!({"name": "Current", "currency": "EUR", "ledger-account": "assets:bank:current", "account-number": "12345678"}),
    );
    cli.call(
        "acme",
        "banking",
        "save-csv-mapping",
        &json!({"name": "plain", "date-column": 1, "date-format": "YYYY-MM-DD",
                "amount-column": 2, "reference-column": 3, "description-column": 4}),
    );
    let n = 16_000;
    let (text, total) = statement(n);
    assert!(text.len() > 2 << 20, "{} bytes", text.len());
    let file = write(&cli, "statement.csv", &text);
    let import = [
        "banking",
        "import",
        &file,
        "--tenant",
        "acme",
        "--account",
        "ba-000001",
        "--mapping",
        "plain",
        "--call-timeout-ms",
        "30000",
    ];
    let out = cli.run(&import).ok();
    assert!(number_before(&out, "chunks") >= 3, "{out}");
    assert_eq!(number_before(&out, "lines ("), n, "{out}");
    assert_eq!(statement_lines(&cli), (n, total));

    let again = cli.run(&import).ok();
    assert_eq!(number_before(&again, "imported,"), 0, "{again}");
    assert_eq!(statement_lines(&cli), (n, total), "nothing twice");

    // A bad amount in the middle of another file names the file's line.
    let mut lines: Vec<&str> = text.lines().collect();
    lines[12_001] = "2026-02-01,12.345,X,\"bad\"";
    let bad = write(&cli, "bad.csv", &(lines.join("\n") + "\n"));
    cli.run(&[
        "banking",
        "import",
        &bad,
        "--tenant",
        "acme",
        "--account",
        "ba-000001",
        "--format",
        "csv",
        "--mapping",
        "plain",
    ])
    .fails(2, &["line 12002:", "was not imported"]);
}

/// Measures a 15 MB journal (debug host, release components): run with
/// `cargo test -p backoffice-tests --test e2e big_import::measure -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn measure_a_15_mb_journal() {
    let cli = cli_with(&["ledger"]);
    let (text, txns) = journal(110_000, None);
    let file = write(&cli, "15mb.journal", &text);
    let started = std::time::Instant::now();
    let out = cli
        .run(&[
            "ledger",
            "import",
            &file,
            "--tenant",
            "acme",
            "--call-timeout-ms",
            "30000",
        ])
        .ok();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} bytes, {} transactions: {out} (whole command {secs:.1} s, {:.0} records/s)",
        text.len(),
        txns.len(),
        txns.len() as f64 / secs
    );
    assert_eq!(ledger_totals(&cli), totals(&txns));
}

const IBAN: &str = "GB29NWBK60161331926819";

/// A camt.053.001.08 statement of `n` entries, one a line, with bank references
/// `{tag}-{i}` and long remittance text; entry `bad` has an amount with three
/// decimals. The opening balance is 1,000.00 and the closing balance carries every
/// entry. Returns the text, the sum of the entries and the file line of entry `bad`.
fn camt(tag: &str, n: usize, bad: Option<usize>) -> (String, i64, usize) {
    let mut entries = String::new();
    let mut total = 0;
    for i in 0..n {
        let a = i64::try_from((i * 7919) % 200_000).unwrap() - 100_000;
        let a = if a == 0 { 1 } else { a };
        total += a;
        let (ind, role) = if a < 0 {
            ("DBIT", "Cdtr")
        } else {
            ("CRDT", "Dbtr")
        };
        let amount = if bad == Some(i) {
            "12.345".to_owned()
        } else {
            format!("{}.{:02}", a.abs() / 100, a.abs() % 100)
        };
        entries.push_str(&format!(
            "    <Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-01-{:02}</Dt></BookgDt><AcctSvcrRef>{tag}-{i:06}</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><{role}><Pty><Nm>Party {}</Nm></Pty></{role}></RltdPties><RmtInf><Ustrd>Payment {i} for services rendered as agreed in the contract of the year</Ustrd><Ustrd>Second remittance line with order ORD-{i:06} and the customer's own reference</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n",
            1 + (i / 1000) % 28,
            i % 50
        ));
    }
    let closing = 100_000 + total;
    let head = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n<BkToCstmrStmt>\n<GrpHdr><MsgId>{tag}-MSG</MsgId><CreDtTm>2026-01-31T18:00:00Z</CreDtTm></GrpHdr>\n<Stmt>\n<Id>{tag}</Id>\n<Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-01</Dt></Dt></Bal>\n<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{}{}.{:02}</Amt><CdtDbtInd>{}</CdtDbtInd><Dt><Dt>2026-01-31</Dt></Dt></Bal>\n",
        "",
        closing.abs() / 100,
        closing.abs() % 100,
        if closing < 0 { "DBIT" } else { "CRDT" }
    );
    let line = head.matches('\n').count() + 1 + bad.unwrap_or(0);
    (
        format!("{head}{entries}</Stmt>\n</BkToCstmrStmt>\n</Document>\n"),
        total,
        line,
    )
}

/// An OFX 1.0.2 (SGML) statement of account 31926819 with `n` transactions of eight
/// lines each; transaction `bad` has an amount with three decimals. Returns the text,
/// the sum and the file line of the bad transaction's TRNAMT.
fn ofx(tag: &str, n: usize, bad: Option<usize>) -> (String, i64, usize) {
    let mut s = String::from(
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX>\n<BANKMSGSRSV1><STMTTRNRS><TRNUID>1\n<STMTRS>\n<CURDEF>EUR\n<BANKACCTFROM><BANKID>601613<ACCTID>31926819<ACCTTYPE>SAVINGS</BANKACCTFROM>\n<BANKTRANLIST><DTSTART>20260101<DTEND>20260131\n",
    );
    let mut total = 0;
    let mut bad_line = 0;
    for i in 0..n {
        let a = i64::try_from((i * 7919) % 200_000).unwrap() - 100_000;
        let a = if a == 0 { 1 } else { a };
        total += a;
        let sign = if a < 0 { "-" } else { "" };
        let amount = if bad == Some(i) {
            bad_line = s.matches('\n').count() + 4;
            "12.345".to_owned()
        } else {
            format!("{sign}{}.{:02}", a.abs() / 100, a.abs() % 100)
        };
        s.push_str(&format!(
            "<STMTTRN>\n<TRNTYPE>OTHER\n<DTPOSTED>202601{:02}\n<TRNAMT>{amount}\n<FITID>{tag}-{i:06}\n<NAME>Party {}\n<MEMO>Payment {i} for services rendered as agreed in the contract of the year, with a longer memo that names order ORD-{i:06}, the customer's own reference and the period the payment covers, as some banks write them in full\n</STMTTRN>\n",
            1 + (i / 1000) % 28,
            i % 50
        ));
    }
    s.push_str(&format!(
        "</BANKTRANLIST>\n<LEDGERBAL><BALAMT>{}{}.{:02}<DTASOF>20260131</LEDGERBAL>\n</STMTRS></STMTTRNRS></BANKMSGSRSV1>\n</OFX>\n",
        if total < 0 { "-" } else { "" },
        total.abs() / 100,
        total.abs() % 100
    ));
    (s, total, bad_line)
}

/// The statements of `account`: (statement-id, lines, opening, closing) each.
fn statements_of(cli: &Cli, account: &str) -> Vec<(String, i64, Value, Value, String)> {
    let list = cli.call(
        "acme",
        "banking",
        "list-statements",
        &json!({"account": account}),
    );
    list["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["statement-id"].as_str().unwrap().to_owned(),
                s["lines"].as_i64().unwrap(),
                s["opening-balance"].clone(),
                s["closing-balance"].clone(),
                s["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every line of the statements of `account`: (count, sum).
fn account_lines(cli: &Cli, account: &str) -> (usize, i64) {
    let (mut count, mut sum) = (0, 0);
    for (_, _, _, _, id) in statements_of(cli, account) {
        let mut after = Value::Null;
        loop {
            let mut input = json!({"id": id, "limit": 1000});
            if !after.is_null() {
                input["after"] = after.clone();
            }
            let page = cli.call("acme", "banking", "get-statement", &input);
            for l in page["lines-detail"].as_array().unwrap() {
                count += 1;
                sum += l["amount"].as_i64().unwrap();
            }
            after = page["next-after"].clone();
            if after.is_null() {
                break;
            }
        }
    }
    (count, sum)
}

/// Import `file` into `account` with the CLI (a long deadline for a busy machine).
fn bank_import(cli: &Cli, file: &str, account: &str) -> backoffice_tests::Run {
    cli.run(&[
        "banking",
        "import",
        file,
        "--tenant",
        "acme",
        "--account",
        account,
        "--call-timeout-ms",
        "30000",
    ])
}

/// The statement whose closing balance was kept (the file's last chunk) reconciles
/// once the ledger holds the lines.
fn reconciles(cli: &Cli, account: &str, ledger_account: &str, opening: i64, total: i64) {
    let closed: Vec<_> = statements_of(cli, account)
        .into_iter()
        .filter(|s| !s.3.is_null())
        .collect();
    assert_eq!(closed.len(), 1, "one closing balance per file: {closed:?}");
    assert_eq!(closed[0].3, json!(opening + total));
    let amount = format!(
        "{}{}.{:02}",
        if total < 0 { "-" } else { "" },
        total.abs() / 100,
        total.abs() % 100
    );
    cli.call(
        "acme",
        "ledger",
        "post-entry",
        &json!({"date": "2026-01-31", "description": "The statement's lines", "postings": [
            {"account": ledger_account, "amount": amount, "currency": "EUR"},
            {"account": "equity:opening"}]}),
    );
    let r = cli.call("acme", "banking", "reconcile", &json!({"id": closed[0].4}));
    assert_eq!(r["difference"], 0, "{r}");
    assert_eq!(r["reconciled"], true, "{r}");
}

#[test]
fn camt053_and_ofx_statements_of_a_few_mib_import_in_chunks_once() {
    let cli = cli_with(&["ledger", "contacts", "invoicing", "banking"]);
    for (name, kind) in [
        ("assets:bank:current", "asset"),
        ("assets:bank:savings", "asset"),
        ("equity:opening", "equity"),
    ] {
        cli.call(
            "acme",
            "ledger",
            "create-account",
            &json!({"name": name, "type": kind}),
        );
    }
    cli.call(
        "acme",
        "ledger",
        "post-entry",
        &json!({"date": "2025-12-31", "description": "Opening balance", "postings": [
            {"account": "assets:bank:current", "amount": "1000.00", "currency": "EUR"},
            {"account": "equity:opening"}]}),
    );
    cli.call(
        "acme",
        "banking",
        "add-account",
        &json!({"name": "Current", "currency": "EUR", "iban": IBAN, "ledger-account": "assets:bank:current"}),
    );
    cli.call(
        "acme",
        "banking",
        "add-account",
        &json!({"name": "Savings", "currency": "EUR", "account-number": "31926819", "ledger-account": "assets:bank:savings"}),
    );

    // camt.053: chunks of the header, entries and the closing tags.
    let n = 5_000;
    let (text, total, _) = camt("BIG", n, None);
    assert!(text.len() > 2 << 20, "{} bytes", text.len());
    let file = write(&cli, "statement.xml", &text);
    let out = bank_import(&cli, &file, "ba-000001").ok();
    let chunks = number_before(&out, "chunks");
    assert!(chunks >= 3, "{out}");
    assert_eq!(number_before(&out, "lines ("), n, "{out}");
    assert_eq!(account_lines(&cli, "ba-000001"), (n, total));
    let stmts = statements_of(&cli, "ba-000001");
    assert_eq!(stmts.len(), chunks);
    assert_eq!(
        stmts[0].2,
        json!(100_000),
        "the opening balance on the first"
    );
    assert!(stmts[1..].iter().all(|s| s.2.is_null()), "{stmts:?}");
    let again = bank_import(&cli, &file, "ba-000001").ok();
    assert_eq!(number_before(&again, "imported,"), 0, "{again}");
    assert_eq!(
        account_lines(&cli, "ba-000001"),
        (n, total),
        "nothing twice"
    );
    reconciles(&cli, "ba-000001", "assets:bank:current", 100_000, total);

    // A broken entry in the middle of another file: named by its line, the chunks
    // before it kept; the fixed file imports the rest and nothing twice.
    let (broken, _, line) = camt("FIX", n, Some(3_000));
    let broken_file = write(&cli, "broken.xml", &broken);
    bank_import(&cli, &broken_file, "ba-000001").fails(
        2,
        &[
            &format!("line {line}:"),
            "Amt",
            "chunk 2 of",
            "was not imported",
            "chunks 1 to 1",
        ],
    );
    assert_eq!(
        account_lines(&cli, "ba-000001").0,
        n + 2_000,
        "chunk 1 kept"
    );
    let (fixed, fixed_total, _) = camt("FIX", n, None);
    std::fs::write(&broken_file, &fixed).unwrap();
    let out = bank_import(&cli, &broken_file, "ba-000001").ok();
    assert_eq!(
        number_before(&out, "already imported and skipped"),
        1,
        "{out}"
    );
    assert_eq!(
        account_lines(&cli, "ba-000001"),
        (2 * n, total + fixed_total)
    );

    // OFX: chunks at STMTTRN, the closing balance (LEDGERBAL) on the last.
    let n = 7_000;
    let (text, total, _) = ofx("OFX", n, None);
    assert!(text.len() > 2 << 20, "{} bytes", text.len());
    let file = write(&cli, "statement.ofx", &text);
    let out = bank_import(&cli, &file, "ba-000002").ok();
    assert!(number_before(&out, "chunks") >= 3, "{out}");
    assert_eq!(account_lines(&cli, "ba-000002"), (n, total));
    let again = bank_import(&cli, &file, "ba-000002").ok();
    assert_eq!(number_before(&again, "imported,"), 0, "{again}");
    assert_eq!(
        account_lines(&cli, "ba-000002"),
        (n, total),
        "nothing twice"
    );
    reconciles(&cli, "ba-000002", "assets:bank:savings", 0, total);
    let (broken, _, line) = ofx("OFX2", n, Some(3_000));
    let broken_file = write(&cli, "broken.ofx", &broken);
    bank_import(&cli, &broken_file, "ba-000002")
        .fails(2, &[&format!("line {line}:"), "TRNAMT", "chunk 2 of"]);
    let (fixed, fixed_total, _) = ofx("OFX2", n, None);
    std::fs::write(&broken_file, &fixed).unwrap();
    bank_import(&cli, &broken_file, "ba-000002").ok();
    assert_eq!(
        account_lines(&cli, "ba-000002"),
        (2 * n, total + fixed_total)
    );
}

/// `xml` with every element under the namespace prefix `ns2`, as some banks write
/// camt.053 (`<ns2:Document xmlns:ns2="...">`, `<ns2:Ntry>`).
fn ns2(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len() * 2);
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(name) = after.strip_prefix('/') {
            out.push_str("</ns2:");
            rest = name;
        } else if after.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push_str("<ns2:");
            rest = after;
        } else {
            out.push('<');
            rest = after;
        }
    }
    out.push_str(rest);
    out.replace("xmlns=", "xmlns:ns2=")
}

#[test]
fn a_camt053_statement_with_namespace_prefixed_tags_is_split_and_imported() {
    let cli = cli_with(&["ledger", "contacts", "invoicing", "banking"]);
    for (name, kind) in [
        ("assets:bank:current", "asset"),
        ("equity:opening", "equity"),
    ] {
        cli.call(
            "acme",
            "ledger",
            "create-account",
            &json!({"name": name, "type": kind}),
        );
    }
    cli.call(
        "acme",
        "ledger",
        "post-entry",
        &json!({"date": "2025-12-31", "description": "Opening balance", "postings": [
            {"account": "assets:bank:current", "amount": "1000.00", "currency": "EUR"},
            {"account": "equity:opening"}]}),
    );
    cli.call(
        "acme",
        "banking",
        "add-account",
        &json!({"name": "Current", "currency": "EUR", "iban": IBAN, "ledger-account": "assets:bank:current"}),
    );
    let n = 120;
    let (plain, total, _) = camt("NS", n, None);
    let text = ns2(&plain);
    assert!(text.contains("<ns2:Ntry>") && !text.contains("<Ntry>"));
    let file = write(&cli, "prefixed.xml", &text);
    // Chunks of about 16 KiB: the file is split at its <ns2:Ntry> entries.
    let out = cli
        .run(&[
            "banking",
            "import",
            &file,
            "--tenant",
            "acme",
            "--account",
            "ba-000001",
            "--chunk-bytes",
            "16384",
            "--call-timeout-ms",
            "30000",
        ])
        .ok();
    let chunks = number_before(&out, "chunks");
    assert!(chunks >= 3, "{out}");
    assert_eq!(number_before(&out, "lines ("), n, "{out}");
    assert_eq!(account_lines(&cli, "ba-000001"), (n, total));
    let stmts = statements_of(&cli, "ba-000001");
    assert_eq!(stmts.len(), chunks);
    assert_eq!(
        stmts[0].2,
        json!(100_000),
        "the opening balance on the first"
    );
    reconciles(&cli, "ba-000001", "assets:bank:current", 100_000, total);
}
