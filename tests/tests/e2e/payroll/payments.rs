//! Payment files (issue 22 item 5) through the real binary: employees with bank
//! accounts (checked, shown masked), a run across three countries approved by a
//! second person over HTTP, then a SEPA, a Bacs Standard 18 and a NACHA file made by
//! `backoffice call` whose totals equal the run's net pay; a draft refused; a bad
//! IBAN refused with nothing stored; the files recorded on the run and audited.

use backoffice_tests::{Cli, Server};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

fn call(cli: &Cli, op: &str, input: &Value) -> Value {
    cli.call("acme", "payroll", op, input)
}

fn call_fails(cli: &Cli, op: &str, input: &Value, code: i32, fragments: &[&str]) {
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "payroll",
        op,
        "--input",
        &input.to_string(),
    ])
    .fails(code, fragments);
}

/// A data directory with the ledger, payroll and the three rules plugins enabled
/// for "acme", and bob, an administrator who can sign in.
fn setup() -> Cli {
    let cli = Cli::new();
    cli.run(&[
        "tenant",
        "create",
        "acme",
        "--name",
        "Acme",
        "--time-zone",
        "Europe/London",
    ])
    .ok();
    for (file, id) in [
        ("ledger", "ledger"),
        ("payroll_us", "payroll-us"),
        ("payroll_gb", "payroll-gb"),
        ("payroll_de", "payroll-de"),
        ("payroll", "payroll"),
    ] {
        cli.install_unsigned(file).ok();
        cli.run(&["plugin", "enable", id, "--tenant", "acme"]).ok();
    }
    cli.run_with_stdin(
        &[
            "user",
            "create",
            "bob",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        PASSWORD,
    )
    .ok();
    cli.run(&["user", "assign-role", "bob", "admin", "--tenant", "acme"])
        .ok();
    cli
}

fn sha256(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// The text between `<tag>` and `</tag>` at each occurrence.
fn xml_values<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find('>')? + 1;
            let end = rest.find(&close)?;
            Some(&rest[start..end])
        })
        .collect()
}

fn cents(decimal: &str) -> i64 {
    let (whole, frac) = decimal.split_once('.').unwrap();
    assert_eq!(frac.len(), 2, "{decimal}");
    whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

#[test]
fn approved_runs_are_paid_by_sepa_bacs_and_nacha_files() {
    let cli = setup();
    call(&cli, "setup-ledger", &json!({}));
    // The company's paying accounts.
    let mut settings = call(&cli, "get-settings", &json!({}));
    settings["payments"] = json!({
        "sepa": {"name": "Acme GmbH", "iban": "DE02 1203 0000 0000 2020 51", "bic": "BYLADEM1001"},
        "bacs": {"service-user-number": "123456", "name": "Acme Ltd",
                 "sort-code": "40-12-76", "account-number": "12345678"},
        "nacha": {"immediate-destination": "021000021", "immediate-destination-name": "JPMorgan Chase",
                  "immediate-origin": "121000248", "immediate-origin-name": "Acme Inc",
                  "company-name": "Acme Inc", "company-id": "1123456789",
                  "originating-dfi": "121000248"}
    });
    let stored = call(&cli, "set-settings", &settings);
    assert_eq!(stored["payments"]["sepa"]["iban"], "DE02120300000000202051");
    // A company IBAN with a wrong check digit is refused too.
    let mut bad = settings.clone();
    bad["payments"]["sepa"]["iban"] = json!("DE02120300000000202052");
    call_fails(
        &cli,
        "set-settings",
        &bad,
        2,
        &["payments.sepa.iban", "mod 97"],
    );

    // A bad IBAN is refused at hiring, naming the field; nothing is stored.
    let emmy = json!({"id": "DE1", "name": "Emmy Nöther", "country": "DE", "frequency": "monthly",
        "salary": 6_000_000, "start-date": "2025-01-01",
        "profile": {"steuerklasse": 1, "kirchensteuer": false, "bundesland": "NW",
                    "kv-zusatzbeitrag": "2.5", "kinderlos": true},
        "bank": {"scheme": "sepa", "iban": "DE89 3704 0044 0532 0130 01"}});
    call_fails(
        &cli,
        "set-employee",
        &emmy,
        2,
        &["bank.iban", "check digits do not match", "mod 97"],
    );
    call_fails(
        &cli,
        "get-employee",
        &json!({"id": "DE1"}),
        3,
        &["employee DE1 does not exist"],
    );
    // So are a UK sort code of 5 digits and a US routing number failing its check digit.
    let mut ada = json!({"id": "GB1", "name": "Ada Lovelace", "country": "GB", "frequency": "monthly",
        "salary": 4_800_000, "start-date": "2025-04-07",
        "profile": {"tax-code": "1257L", "ni-category": "A"},
        "bank": {"scheme": "bacs", "sort-code": "60-16-1", "account-number": "31926819"}});
    call_fails(
        &cli,
        "set-employee",
        &ada,
        2,
        &["bank.sort-code", "6 digits"],
    );
    let mut grace = json!({"id": "US1", "name": "Grace Hopper", "country": "US", "frequency": "monthly",
        "salary": 12_000_000, "start-date": "2025-01-01", "profile": {"filing-status": "single"},
        "bank": {"scheme": "ach", "routing-number": "026009594", "account-number": "000123456789",
                 "account-type": "checking"}});
    call_fails(
        &cli,
        "set-employee",
        &grace,
        2,
        &["bank.routing-number", "check digit"],
    );
    assert_eq!(
        call(&cli, "list-employees", &json!({}))["employees"],
        json!([])
    );

    emmy_ok(&cli, emmy);
    ada["bank"]["sort-code"] = json!("60-16-13");
    call(&cli, "set-employee", &ada);
    grace["bank"]["routing-number"] = json!("026009593");
    let hired = call(&cli, "set-employee", &grace);
    assert_eq!(hired["bank"]["account-number"], "****6789");

    // Masked wherever read back.
    let list = cli
        .run(&[
            "call",
            "--tenant",
            "acme",
            "payroll",
            "list-employees",
            "--input",
            "{}",
        ])
        .ok();
    for full in ["DE89370400440532013000", "31926819", "000123456789"] {
        assert!(!list.contains(full), "{full} shown in {list}");
    }
    let gb = call(&cli, "get-employee", &json!({"id": "GB1"}));
    assert_eq!(
        gb["employee"]["bank"],
        json!({"scheme": "bacs", "sort-code": "60-16-13", "account-number": "****6819"})
    );

    let run = call(
        &cli,
        "create-run",
        &json!({"frequency": "monthly", "period-start": "2025-05-01",
                "period-end": "2025-05-31", "pay-date": "2025-05-30"}),
    );
    let id = run["id"].as_str().unwrap().to_string();
    // A draft is not paid.
    call_fails(
        &cli,
        "payment-file",
        &json!({"run": id, "format": "sepa"}),
        4,
        &["is a draft", "approve it first"],
    );

    // Bob approves over HTTP (the CLI's system caller created the run).
    {
        let server = Server::start(&cli, &[]);
        let login = server.request(
            "POST",
            "/v1/login",
            None,
            &json!({"tenant": "acme", "username": "bob", "password": PASSWORD}).to_string(),
        );
        assert_eq!(login.status, 200, "{login:?}");
        let token = login.json()["token"].as_str().unwrap().to_string();
        let approved = server.request(
            "POST",
            "/v1/tenants/acme/plugins/payroll/approve-run",
            Some(&token),
            &json!({"id": id}).to_string(),
        );
        assert_eq!(approved.status, 200, "{approved:?}");
        assert_eq!(approved.json()["status"], "posted");
    }

    let slip_net = |employee: &str| {
        let slip = call(
            &cli,
            "get-payslip",
            &json!({"run": id, "employee": employee}),
        );
        slip["payslip"]["net"].as_i64().unwrap()
    };
    let net_total = |currency: &str| run["totals"][currency]["net"].as_i64().unwrap();

    // SEPA.
    let sepa = call(
        &cli,
        "payment-file",
        &json!({"run": id, "format": "sepa", "execution-date": "2025-05-29"}),
    );
    let xml = sepa["content"].as_str().unwrap();
    assert_eq!(sepa["sha256"], sha256(xml));
    assert_eq!(sepa["filename"], format!("payroll-{id}-sepa-001.xml"));
    assert_eq!(sepa["currency"], "EUR");
    assert_eq!(sepa["payees"], 1);
    assert_eq!(sepa["total"], net_total("EUR"));
    assert_eq!(sepa["run-net-total"], net_total("EUR"));
    assert_eq!(
        xml_values(xml, "CtrlSum"),
        vec![format!("{}.{:02}", net_total("EUR") / 100, net_total("EUR") % 100); 2]
    );
    let amounts = xml_values(xml, "InstdAmt");
    assert_eq!(amounts.len(), 1);
    assert_eq!(cents(amounts[0]), slip_net("DE1"));
    assert!(xml.contains("<IBAN>DE89370400440532013000</IBAN>"), "{xml}");
    assert!(xml.contains("<Nm>Emmy Noether</Nm>"), "{xml}");
    assert!(xml.contains("<Dt>2025-05-29</Dt>"), "{xml}");

    // Bacs Standard 18.
    let bacs = call(
        &cli,
        "payment-file",
        &json!({"run": id, "format": "bacs18", "execution-date": "2025-05-29"}),
    );
    let text = bacs["content"].as_str().unwrap();
    assert_eq!(bacs["sha256"], sha256(text));
    let records: Vec<&str> = text.lines().collect();
    assert_eq!(records.len(), 4, "{text}");
    assert!(records[0].starts_with("UHL1 25149"), "{text}");
    let payment = records[1];
    assert_eq!(payment.len(), 100);
    assert_eq!(&payment[..17], "60161331926819099");
    assert_eq!(&payment[17..31], "40127612345678");
    assert_eq!(payment[35..46].parse::<i64>().unwrap(), slip_net("GB1"));
    let contra = records[2];
    assert_eq!(&contra[15..17], "17");
    assert_eq!(contra[35..46].parse::<i64>().unwrap(), net_total("GBP"));
    assert_eq!(bacs["total"], net_total("GBP"));

    // NACHA PPD.
    let nacha = call(
        &cli,
        "payment-file",
        &json!({"run": id, "format": "nacha", "execution-date": "2025-05-29"}),
    );
    let text = nacha["content"].as_str().unwrap();
    assert_eq!(nacha["sha256"], sha256(text));
    let records: Vec<&str> = text.lines().collect();
    assert_eq!(records.len(), 10, "{text}");
    assert!(records.iter().all(|r| r.len() == 94));
    let entry = records[2];
    assert_eq!(&entry[..12], "622026009593");
    assert_eq!(entry[29..39].parse::<i64>().unwrap(), slip_net("US1"));
    let batch_control = records[3];
    assert_eq!(&batch_control[..10], "8220000001");
    assert_eq!(&batch_control[10..20], "0002600959");
    assert_eq!(
        batch_control[32..44].parse::<i64>().unwrap(),
        net_total("USD")
    );
    let file_control = records[4];
    assert_eq!(
        file_control[43..55].parse::<i64>().unwrap(),
        net_total("USD")
    );
    assert!(records[5..].iter().all(|r| *r == "9".repeat(94)));

    // The run records each file; the calls are in the tenant's audit chain.
    let after = call(&cli, "get-run", &json!({"id": id}));
    let files = after["payment-files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "{after}");
    assert_eq!(files[0]["format"], "sepa");
    assert_eq!(files[0]["sha256"], sepa["sha256"]);
    assert_eq!(files[2]["total"], net_total("USD"));
    let audit = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .json();
    let outcomes: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"] == "invoke" && l["target"] == "payroll.payment-file")
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    // The refused draft, then the three files.
    assert_eq!(outcomes, ["conflict", "ok", "ok", "ok"], "{audit}");

    // A part of a run: only employees the run pays in the currency.
    call_fails(
        &cli,
        "payment-file",
        &json!({"run": id, "format": "nacha", "employees": ["GB1"]}),
        2,
        &["GB1 has no payslip", "positive net pay in USD"],
    );
    let part = call(
        &cli,
        "payment-file",
        &json!({"run": id, "format": "nacha", "employees": ["US1"]}),
    );
    assert_eq!(part["total"], net_total("USD"));

    // The payslip shows the account masked, and a later SEPA file is numbered on.
    let slip = call(&cli, "get-payslip", &json!({"run": id, "employee": "DE1"}));
    assert_eq!(
        slip["employee"]["bank"]["iban"],
        "DE89 **** **** **** **30 00"
    );
    let again = call(&cli, "payment-file", &json!({"run": id, "format": "sepa"}));
    assert_eq!(again["filename"], format!("payroll-{id}-sepa-005.xml"));
    assert!(
        again["content"]
            .as_str()
            .unwrap()
            .contains("<Dt>2025-05-30</Dt>")
    );
}

fn emmy_ok(cli: &Cli, emmy: Value) {
    let mut emmy = emmy;
    emmy["bank"]["iban"] = json!("DE89 3704 0044 0532 0130 00");
    let hired = call(cli, "set-employee", &emmy);
    assert_eq!(hired["bank"]["iban"], "DE89 **** **** **** **30 00");
    let got = call(cli, "get-employee", &json!({"id": "DE1"}));
    assert_eq!(
        got["employee"]["bank"]["iban"],
        "DE89 **** **** **** **30 00"
    );
    assert!(!got.to_string().contains("0532013000"), "{got}");
}
