//! The web console, end to end: the real `backoffice serve` driven over HTTP the way a
//! browser posts its forms, and in a real headless Chromium (screenshots under
//! `target/console-screenshots/`).
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected states")]

use backoffice_tests::webdriver::Browser;
use backoffice_tests::{Cli, Response, Server, http_request, http_request_with};
use serde_json::json;

const PASSWORD: &str = "a long password here";

/// Two companies; in `acme` an admin (every permission), a clerk who books and
/// drafts pay runs, an approver who approves them; in `globex` its own admin.
fn setup(extra: &[&str]) -> (Cli, Server) {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme", "--name", "Acme Ltd"])
        .ok();
    cli.run(&["tenant", "create", "globex"]).ok();
    for p in [
        "contacts",
        "probe",
        "needs_contacts",
        "ledger",
        "payroll",
        "payroll_us",
        "compliance",
        "training",
    ] {
        cli.install_unsigned(p).ok();
    }
    let roles: &[(&str, &[&str])] = &[
        (
            "clerk",
            &[
                "ledger.read",
                "ledger.post",
                "payroll.read",
                "payroll.run",
                "contacts.*",
            ],
        ),
        (
            "approver",
            &[
                "payroll.read",
                "payroll.approve",
                "ledger.post",
                "ledger.read",
                "compliance.read",
                "compliance.manage",
                "training.read",
            ],
        ),
    ];
    for (role, perms) in roles {
        let mut args = vec!["role", "create", role, "--tenant", "acme"];
        for p in *perms {
            args.extend(["--permission", p]);
        }
        cli.run(&args).ok();
    }
    for (tenant, user, role) in [
        ("acme", "admin", "admin"),
        ("acme", "clerk", "clerk"),
        ("acme", "approver", "approver"),
        ("globex", "gadmin", "admin"),
    ] {
        cli.run_with_stdin(
            &[
                "user",
                "create",
                user,
                "--tenant",
                tenant,
                "--password-stdin",
            ],
            PASSWORD,
        )
        .ok();
        cli.run(&["user", "assign-role", user, role, "--tenant", tenant])
            .ok();
    }
    let server = Server::start(&cli, extra);
    (cli, server)
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn set_cookies(r: &Response) -> Vec<&str> {
    r.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The value of the hidden `_csrf` field of a page.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"_csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {html}"));
    let rest = &html[at + 20..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// A browser-like client: a cookie jar of one session.
struct Client<'a> {
    server: &'a Server,
    cookie: String,
    /// The `Set-Cookie` header that started the session, attributes included.
    set_cookie: String,
}

impl Client<'_> {
    fn get(&self, path: &str) -> Response {
        http_request_with(
            &self.server.addr,
            "GET",
            path,
            &[("Cookie", &self.cookie)],
            b"",
        )
    }

    fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Response {
        http_request_with(
            &self.server.addr,
            "POST",
            path,
            &[
                ("Cookie", &self.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            form(pairs).as_bytes(),
        )
    }
}

fn sign_in<'a>(server: &'a Server, tenant: &str, user: &str) -> Client<'a> {
    let page = http_request(&server.addr, "GET", "/console/login", None, b"");
    assert_eq!(page.status, 200, "{page:?}");
    let nonce = csrf_of(&page.body);
    let r = http_request_with(
        &server.addr,
        "POST",
        "/console/login",
        &[
            ("Cookie", &format!("bo_login={nonce}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form(&[
            ("_csrf", &nonce),
            ("tenant", tenant),
            ("username", user),
            ("password", PASSWORD),
            ("next", "/console/"),
        ])
        .as_bytes(),
    );
    assert_eq!(r.status, 303, "{r:?}");
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("bo_session="))
        .unwrap_or_else(|| panic!("no session cookie: {r:?}"))
        .to_string();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    Client {
        server,
        cookie: session.split(';').next().unwrap().to_string(),
        set_cookie: session,
    }
}

fn enabled_for(cli: &Cli, plugin: &str) -> Vec<String> {
    let list = cli.run(&["plugin", "list", "--json"]).json();
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == plugin)
        .map(|p| {
            p["enabled_for"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Sign-in, the session cookie, CSRF on state-changing forms, enabling a module with
/// its dependency explained, and the company boundary in URLs.
#[test]
fn sign_in_csrf_modules_and_company_boundary() {
    let (cli, server) = setup(&[]);
    // Not signed in: every page sends the browser to the sign-in form.
    let r = http_request(&server.addr, "GET", "/console/t/acme/", None, b"");
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/console/login?next=/console/t/acme/")
    );

    // A wrong password keeps the company and user name, never the password.
    let page = http_request(&server.addr, "GET", "/console/login", None, b"");
    let nonce = csrf_of(&page.body);
    let wrong = http_request_with(
        &server.addr,
        "POST",
        "/console/login",
        &[
            ("Cookie", &format!("bo_login={nonce}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form(&[
            ("_csrf", &nonce),
            ("tenant", "acme"),
            ("username", "admin"),
            ("password", "not the password"),
        ])
        .as_bytes(),
    );
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(wrong.body.contains("user name or password is wrong"));
    assert!(wrong.body.contains("value=\"admin\""));
    assert!(!wrong.body.contains("not the password"));
    // A sign-in form posted without its cookie (another site's form) is refused.
    let forged = http_request_with(
        &server.addr,
        "POST",
        "/console/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form(&[
            ("_csrf", &nonce),
            ("tenant", "acme"),
            ("username", "admin"),
            ("password", PASSWORD),
        ])
        .as_bytes(),
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    assert!(
        set_cookies(&forged)
            .iter()
            .all(|c| !c.starts_with("bo_session=bo_"))
    );

    let admin = sign_in(&server, "acme", "admin");
    let modules = admin.get("/console/t/acme/");
    assert_eq!(modules.status, 200, "{modules:?}");
    for id in ["contacts", "ledger", "payroll"] {
        assert!(
            modules
                .body
                .contains(&format!("data-testid=\"enable-{id}\"")),
            "{id}"
        );
    }
    // Each module shows the limits its calls get (bundled ones: the host's defaults).
    assert!(
        modules
            .body
            .contains("data-testid=\"limits-contacts\">64 MiB, 2000 ms per call (default)<"),
        "{}",
        modules.body
    );
    let csrf = csrf_of(&modules.body);

    // State-changing forms without the session's CSRF token change nothing.
    for token in ["", "0000", &csrf[..63]] {
        let r = admin.post("/console/t/acme/modules/ledger/enable", &[("_csrf", token)]);
        assert_eq!(r.status, 403, "{r:?}");
        assert!(r.body.contains("CSRF"), "{}", r.body);
    }
    assert!(enabled_for(&cli, "ledger").is_empty());

    let r = admin.post("/console/t/acme/modules/ledger/enable", &[("_csrf", &csrf)]);
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(enabled_for(&cli, "ledger"), ["acme"]);
    let after = admin.get(r.header("location").unwrap());
    assert!(after.body.contains("ledger enabled"), "{}", after.body);
    assert!(after.body.contains("data-testid=\"disable-ledger\""));

    // A refused action says why: the dependency must be enabled first.
    let r = admin.post(
        "/console/t/acme/modules/needs-contacts/enable",
        &[("_csrf", &csrf)],
    );
    assert_eq!(r.status, 409, "{r:?}");
    assert!(r.body.contains("needs &#x27;contacts&#x27;"), "{}", r.body);
    assert!(enabled_for(&cli, "needs-contacts").is_empty());

    // Another company's pages cannot be opened by editing the URL.
    for path in [
        "/console/t/globex/",
        "/console/t/globex/p/ledger/",
        "/console/t/globex/ledger/trial-balance",
        "/console/t/globex/audit",
    ] {
        let r = admin.get(path);
        assert_eq!(r.status, 403, "{path}: {r:?}");
        assert!(
            r.body
                .contains("cannot open pages of company &#x27;globex&#x27;"),
            "{}",
            r.body
        );
    }
    let r = admin.post(
        "/console/t/globex/modules/ledger/enable",
        &[("_csrf", &csrf)],
    );
    assert_eq!(r.status, 403);
    assert!(enabled_for(&cli, "ledger").iter().all(|t| t != "globex"));

    // The audit page shows the chain's status and the console user as actor.
    let audit = admin.get("/console/t/acme/audit?action=plugin.enable");
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("Chain verified"), "{}", audit.body);
    assert!(audit.body.contains("user:admin"), "{}", audit.body);
    assert!(audit.body.contains("plugin:ledger@"), "{}", audit.body);

    // Signing out revokes the session: the old cookie leads back to sign-in.
    let r = admin.post("/console/logout", &[("_csrf", &csrf)]);
    assert_eq!(r.status, 303);
    let r = admin.get("/console/t/acme/");
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().contains("expired=1"));
}

/// The admin routes of the API use the same rule as the console: `plugins.manage`.
#[test]
fn enabling_over_http_needs_plugins_manage() {
    let (cli, server) = setup(&[]);
    let token = |user: &str| {
        let r = server.request(
            "POST",
            "/v1/login",
            None,
            &json!({"tenant": "acme", "username": user, "password": PASSWORD}).to_string(),
        );
        r.json()["token"].as_str().unwrap().to_string()
    };
    let clerk = token("clerk");
    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/contacts/enable",
        Some(&clerk),
        "",
    );
    let doc = r.problem(403, "forbidden");
    assert!(
        doc["detail"].as_str().unwrap().contains("plugins.manage"),
        "{doc}"
    );
    assert!(enabled_for(&cli, "contacts").is_empty());
    let admin = token("admin");
    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/contacts/enable",
        Some(&admin),
        "",
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["enabled"], true);
    let r = server.request(
        "POST",
        "/v1/tenants/globex/plugins/contacts/enable",
        Some(&admin),
        "",
    );
    r.problem(403, "forbidden");
    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/contacts/disable",
        Some(&admin),
        "",
    );
    assert_eq!(r.status, 204, "{r:?}");
    assert!(enabled_for(&cli, "contacts").is_empty());
}

/// A user without the permission sees no admin action and cannot reach one.
#[test]
fn a_clerk_neither_sees_nor_reaches_admin_actions() {
    let (cli, server) = setup(&[]);
    cli.run(&["plugin", "enable", "ledger", "--tenant", "acme"])
        .ok();
    let clerk = sign_in(&server, "acme", "clerk");
    let modules = clerk.get("/console/t/acme/");
    assert_eq!(modules.status, 200);
    assert!(
        !modules.body.contains("data-testid=\"enable-"),
        "{}",
        modules.body
    );
    assert!(!modules.body.contains("data-testid=\"disable-"));
    assert!(
        !modules.body.contains("/console/t/acme/audit"),
        "no audit link"
    );
    let csrf = csrf_of(&modules.body);
    let r = clerk.post(
        "/console/t/acme/modules/ledger/disable",
        &[("_csrf", &csrf)],
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("plugins.manage"));
    assert_eq!(enabled_for(&cli, "ledger"), ["acme"]);
    assert_eq!(clerk.get("/console/t/acme/audit").status, 403);
    assert_eq!(clerk.get("/console/t/acme/jobs").status, 403);
    // Operations needing ledger.admin are not offered and not reachable.
    let ledger = clerk.get("/console/t/acme/p/ledger/");
    assert!(ledger.body.contains("post-entry"));
    assert!(!ledger.body.contains("create-account"), "{}", ledger.body);
    let r = clerk.post(
        "/console/t/acme/p/ledger/create-account",
        &[("_csrf", &csrf), ("name", "assets:cash"), ("type", "asset")],
    );
    assert_eq!(r.status, 403, "{r:?}");
}

/// A form submitted with invalid data comes back with what the user typed and the
/// error next to the field; the plugin's own refusals are shown too.
#[test]
fn invalid_forms_keep_what_was_typed() {
    let (cli, server) = setup(&[]);
    cli.run(&["plugin", "enable", "ledger", "--tenant", "acme"])
        .ok();
    let admin = sign_in(&server, "acme", "admin");
    let page = admin.get("/console/t/acme/p/ledger/post-entry");
    assert_eq!(page.status, 200);
    // Generated from the schema: a date input, repeatable posting rows, labels.
    assert!(page.body.contains("type=\"date\""), "{}", page.body);
    assert!(page.body.contains("name=\"postings.1.account\""));
    assert!(page.body.contains("<label for=\"f-postings-0-account\">"));
    let csrf = csrf_of(&page.body);
    let r = admin.post(
        "/console/t/acme/p/ledger/post-entry",
        &[
            ("_csrf", &csrf),
            ("date", "2024-01-15"),
            ("description", "January rent"),
            ("postings.0.account", "expenses:rent"),
            ("postings.0.amount", "800.00"),
            ("postings.0.currency", "EUR"),
        ],
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("value=\"800.00\""), "{}", r.body);
    assert!(r.body.contains("value=\"January rent\""));
    assert!(r.body.contains("id=\"f-postings-error\""), "{}", r.body);
    // A number that is not one is reported on its field, the rest kept.
    let r = admin.post(
        "/console/t/acme/p/ledger/create-commodity",
        &[("_csrf", &csrf), ("code", "HOURS"), ("precision", "one")],
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.body.contains("&#x27;one&#x27; is not a whole number"),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"HOURS\""));
    // The plugin refuses an unknown account: its message is shown, values kept.
    let r = admin.post(
        "/console/t/acme/p/ledger/post-entry",
        &[
            ("_csrf", &csrf),
            ("date", "2024-01-15"),
            ("description", "January rent"),
            ("postings.0.account", "expenses:rent"),
            ("postings.0.amount", "800.00"),
            ("postings.0.currency", "EUR"),
            ("postings.1.account", "assets:bank"),
            ("postings.1.currency", "EUR"),
        ],
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("unknown account"), "{}", r.body);
    assert!(r.body.contains("value=\"assets:bank\""));
    // Nothing was posted.
    let tb = cli
        .run(&[
            "call",
            "--tenant",
            "acme",
            "ledger",
            "trial-balance",
            "--input",
            "{}",
        ])
        .json();
    assert_eq!(tb["rows"], json!([]));
}

/// "Preview" on a form runs the operation as a dry run (issue 17): the page shows the
/// result and what the call would change, and nothing is saved; "Submit" then does it.
#[test]
fn preview_shows_what_a_form_would_do_and_saves_nothing() {
    let (cli, server) = setup(&[]);
    cli.run(&["plugin", "enable", "ledger", "--tenant", "acme"])
        .ok();
    let admin = sign_in(&server, "acme", "admin");
    let page = admin.get("/console/t/acme/p/ledger/create-account");
    assert!(
        page.body.contains("data-testid=\"preview\""),
        "{}",
        page.body
    );
    let csrf = csrf_of(&page.body);
    let fields = [
        ("_csrf", csrf.as_str()),
        ("name", "assets:bank"),
        ("type", "asset"),
    ];
    let mut preview = fields.to_vec();
    preview.push(("_preview", "1"));
    let r = admin.post("/console/t/acme/p/ledger/create-account", &preview);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("Preview: nothing was saved"), "{}", r.body);
    assert!(r.body.contains("What it would do"), "{}", r.body);
    assert!(r.body.contains("assets:bank"), "{}", r.body);
    let accounts = || {
        cli.run(&[
            "call",
            "--tenant",
            "acme",
            "ledger",
            "list-accounts",
            "--input",
            "{}",
        ])
        .json()["accounts"]
            .clone()
    };
    assert_eq!(accounts(), json!([]));
    // Submitted, the same form creates the account.
    let r = admin.post("/console/t/acme/p/ledger/create-account", &fields);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains(">Result<"), "{}", r.body);
    assert_eq!(accounts().as_array().unwrap().len(), 1);
}

/// Cookies are `Secure` only when the host is told it is served over HTTPS.
/// Issue 16, finding 3: an operation returning 20,000 records with a key of their
/// own would be a table of 4 * 10^8 cells; the page stays small and says what it left
/// out, while the API still returns everything.
#[test]
fn a_huge_output_gives_a_small_page_that_says_what_was_cut() {
    let (cli, server) = setup(&[]);
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    let admin = sign_in(&server, "acme", "admin");
    let page = admin.get("/console/t/acme/p/probe/rows?n=20000&_run=1");
    assert_eq!(
        page.status,
        200,
        "{}",
        &page.body[..page.body.len().min(2000)]
    );
    assert!(
        page.body.len() < 400_000,
        "a page of {} bytes",
        page.body.len()
    );
    assert!(
        page.body.contains("Showing the first 200 of 20000 rows"),
        "{}",
        &page.body[..page.body.len().min(4000)]
    );
    assert!(
        page.body
            .contains("more columns of these rows are not shown")
    );
    assert_eq!(page.body.matches("<th scope=\"col\">").count(), 30);

    let token = cli
        .run(&[
            "token", "create", "--user", "admin", "--tenant", "acme", "--name", "t",
        ])
        .ok()
        .trim()
        .to_string();
    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/probe/rows",
        Some(&token),
        r#"{"n":20000}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["rows"].as_array().unwrap().len(), 20_000);
}

#[test]
fn secure_cookies_only_when_served_over_https() {
    for (extra, secure) in [(&[][..], false), (&["--secure-cookies"][..], true)] {
        let (_cli, server) = setup(extra);
        let page = http_request(&server.addr, "GET", "/console/login", None, b"");
        let login = set_cookies(&page);
        assert_eq!(login.len(), 1, "{login:?}");
        assert_eq!(login[0].ends_with("; Secure"), secure, "{login:?}");
        let admin = sign_in(&server, "acme", "admin");
        assert_eq!(
            admin.set_cookie.ends_with("; Secure"),
            secure,
            "{}",
            admin.set_cookie
        );
        assert_eq!(admin.get("/console/t/acme/").status, 200);
    }
}

/// An expired session sends the browser back to sign in, then to the page it asked for.
#[test]
fn an_expired_session_redirects_to_sign_in() {
    let (_cli, server) = setup(&["--session-ttl", "1s"]);
    let admin = sign_in(&server, "acme", "admin");
    assert_eq!(admin.get("/console/t/acme/").status, 200);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let r = admin.get("/console/t/acme/audit");
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(
        r.header("location"),
        Some("/console/login?next=/console/t/acme/audit&expired=1")
    );
    let login = http_request(
        &server.addr,
        "GET",
        r.header("location").unwrap(),
        None,
        b"",
    );
    assert!(
        login.body.contains("Your session has ended"),
        "{}",
        login.body
    );
    assert!(
        login
            .body
            .contains("value=\"&#x2f;console&#x2f;t&#x2f;acme&#x2f;audit\""),
        "{}",
        login.body
    );
}

/// The walk through in a real browser: sign in, enable a module, fill a generated
/// form with an error then a valid value, post an entry and find it in the trial
/// balance and the register, draft a pay run as one user and approve it as another.
#[test]
fn browser_walkthrough() {
    let (cli, server) = setup(&[]);
    let b = Browser::start(&format!("http://{}", server.addr));
    let sign_in = |tenant: &str, user: &str| {
        b.open("/console/login");
        b.fill("#tenant", tenant);
        b.fill("#username", user);
        b.fill("#password", PASSWORD);
        b.submit("form.card button[type=submit]");
    };

    b.open("/console/t/acme/");
    assert!(b.url().contains("/console/login?next="), "{}", b.url());
    b.screenshot("01-sign-in");
    b.fill("#tenant", "acme");
    b.fill("#username", "admin");
    b.fill("#password", PASSWORD);
    b.submit("form.card button[type=submit]");
    assert!(b.url().ends_with("/console/t/acme/"), "{}", b.url());
    assert_eq!(b.text("[data-testid=user]"), "user:admin");
    b.screenshot("02-modules");

    for id in ["ledger", "payroll", "payroll-us"] {
        b.submit(&format!("[data-testid=enable-{id}]"));
        assert!(
            b.text("[data-testid=notice]")
                .contains(&format!("{id} enabled"))
        );
    }
    b.submit("[data-testid=enable-needs-contacts]");
    assert!(b.text("[data-testid=error]").contains("needs 'contacts'"));
    b.screenshot("03-enable-refused-with-reason");

    for (name, kind) in [("assets:bank", "asset"), ("expenses:rent", "expense")] {
        b.open("/console/t/acme/p/ledger/create-account");
        b.fill("#f-name", name);
        b.choose("#f-type", kind);
        b.submit("[data-testid=submit]");
        assert!(b.text("[data-testid=output]").contains(name));
    }

    // A generated form: one posting only is a validation error shown at the rows.
    b.open("/console/t/acme/p/ledger/post-entry");
    b.set_value("#f-date", "2024-01-15");
    b.fill("#f-description", "January rent");
    b.fill("#f-postings-0-account", "expenses:rent");
    b.fill("#f-postings-0-amount", "800.00");
    b.fill("#f-postings-0-currency", "EUR");
    b.submit("[data-testid=submit]");
    assert!(
        b.text("#f-postings-error")
            .contains("fill in at least 2 rows"),
        "{}",
        b.source()
    );
    assert_eq!(b.value("#f-postings-0-amount"), "800.00");
    b.screenshot("04-validation-error");
    b.fill("#f-postings-1-account", "assets:bank");
    b.fill("#f-postings-1-currency", "EUR");
    b.submit("[data-testid=submit]");
    let out = b.text("[data-testid=output]");
    assert!(out.contains("e-000001"), "{out}");
    b.screenshot("05-entry-posted");

    b.open("/console/t/acme/ledger/trial-balance");
    let tb = b.text("main table");
    assert!(tb.contains("expenses:rent"), "{tb}");
    assert!(tb.contains("800.00 EUR"), "{tb}");
    b.screenshot("06-trial-balance");
    b.submit("main table a[href*='account=assets%3Abank']");
    assert!(b.text("h1").contains("Register of assets:bank"));
    assert!(b.try_find("svg.chart polyline").is_some(), "balance chart");
    assert!(b.text("main table").contains("January rent"));
    b.screenshot("07-register-and-chart");

    // Payroll: the clerk drafts, the approver approves.
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "payroll",
        "setup-ledger",
        "--input",
        "{}",
    ])
    .ok();
    let hire = json!({"id": "US1", "name": "Grace Hopper", "country": "US", "frequency": "monthly",
                      "salary": 12_000_000, "department": "Engineering", "start-date": "2025-01-01",
                      "profile": {"filing-status": "single"}});
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "payroll",
        "set-employee",
        "--input",
        &hire.to_string(),
    ])
    .ok();
    b.submit("form[action='/console/logout'] button");
    sign_in("acme", "clerk");
    assert!(
        b.try_find("[data-testid^=enable-]").is_none(),
        "clerk sees no admin action"
    );
    b.open("/console/t/acme/p/payroll/create-run");
    b.choose("#f-frequency", "monthly");
    b.set_value("#f-period-start", "2025-01-01");
    b.set_value("#f-period-end", "2025-01-31");
    b.set_value("#f-pay-date", "2025-01-31");
    b.submit("[data-testid=submit]");
    assert!(
        b.text("[data-testid=output]").contains("r-000001"),
        "{}",
        b.source()
    );
    b.open("/console/t/acme/payroll/runs");
    assert!(b.text("main table").contains("draft"));
    assert!(
        b.try_find("form[action$='/approve']").is_none(),
        "the clerk cannot approve"
    );
    b.open("/console/t/acme/audit");
    assert!(b.text("[data-testid=error]").contains("audit.read"));
    b.screenshot("08-clerk-refused-audit");

    b.open("/console/t/acme/");
    b.submit("form[action='/console/logout'] button");
    sign_in("acme", "approver");
    b.open("/console/t/acme/payroll/runs");
    b.submit("form[action$='/runs/r-000001/approve'] button");
    assert!(
        b.text("[data-testid=notice]")
            .contains("approved and posted")
    );
    let facts = b.text("main table");
    assert!(facts.contains("posted"), "{facts}");
    assert!(facts.contains("approver"), "{facts}");
    assert!(
        b.try_find("svg.chart rect").is_some(),
        "cost per country chart"
    );
    assert!(b.text("main").contains("Grace Hopper"));
    b.screenshot("09-pay-run-approved");

    // Compliance: an hourly rate below the federal minimum wage is a finding; the
    // approver acknowledges it, first without the reason the plugin requires.
    cli.run(&["plugin", "enable", "compliance", "--tenant", "acme"])
        .ok();
    let hourly = json!({"id": "US2", "name": "Alan Turing", "country": "US", "frequency": "monthly",
                        "hourly-rate": 700, "start-date": "2025-01-01",
                        "profile": {"filing-status": "single"}});
    for (plugin, op, input) in [
        ("payroll", "set-employee", hourly),
        ("compliance", "run-scan", json!({})),
    ] {
        cli.run(&[
            "call",
            "--tenant",
            "acme",
            plugin,
            op,
            "--input",
            &input.to_string(),
        ])
        .ok();
    }
    b.open("/console/t/acme/compliance");
    let findings = b.text("main");
    assert!(findings.contains("minimum-wage"), "{findings}");
    assert!(findings.contains("Alan Turing"), "{findings}");
    b.submit("form[action$='/acknowledge'] button");
    assert!(
        b.text("[data-testid=error]").contains("needs a reason"),
        "{}",
        b.source()
    );
    b.fill(
        "form[action$='/acknowledge'] input[name=reason]",
        "trainee rate agreed with counsel",
    );
    b.submit("form[action$='/acknowledge'] button");
    assert!(
        b.text("[data-testid=notice]").contains("acknowledged"),
        "{}",
        b.source()
    );
    b.screenshot("10-finding-acknowledged");
    let finding = cli
        .run(&[
            "call",
            "--tenant",
            "acme",
            "compliance",
            "list-findings",
            "--input",
            "{}",
        ])
        .json();
    let f = &finding["findings"][0];
    assert_eq!(f["status"], "acknowledged", "{finding}");
    assert_eq!(f["acknowledged-by"], "approver");
    assert_eq!(f["reason"], "trainee rate agreed with counsel");

    // Training: compliance per department, as a table and a chart.
    cli.run(&["plugin", "enable", "training", "--tenant", "acme"])
        .ok();
    for (op, input) in [
        (
            "set-course",
            json!({"code": "SEC", "title": "Security awareness", "pass-mark": 70,
                   "validity-months": 12, "mandatory-departments": ["Engineering", "Finance"]}),
        ),
        (
            "set-employee",
            json!({"id": "E1", "name": "Grace Hopper", "department": "Engineering", "job-role": "engineer"}),
        ),
        (
            "set-employee",
            json!({"id": "F1", "name": "Ada Lovelace", "department": "Finance", "job-role": "accountant"}),
        ),
        (
            "record-completion",
            json!({"employee": "E1", "course": "SEC", "date": yesterday(), "score": 90}),
        ),
    ] {
        cli.run(&[
            "call",
            "--tenant",
            "acme",
            "training",
            op,
            "--input",
            &input.to_string(),
        ])
        .ok();
    }
    b.open("/console/t/acme/screens/training/by-department");
    let page = b.text("main");
    assert!(
        page.contains("Engineering") && page.contains("Finance"),
        "{page}"
    );
    assert!(
        page.contains("100"),
        "Engineering is fully compliant: {page}"
    );
    assert!(b.try_find("svg.chart rect").is_some(), "compliance chart");
    b.screenshot("11-training-per-department");
}

/// Yesterday's date, `YYYY-MM-DD` (UTC), for records that must be current.
fn yesterday() -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// A plugin's tenant settings as a generated form (issue 19): shown to those holding
/// `settings.manage`, every value checked before anything is saved, an emptied field
/// back to the default, and the plugin reads the new values on its next call.
#[test]
fn settings_form_sets_checks_and_clears_a_companys_values() {
    let (cli, server) = setup(&[]);
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    let read = |name: &str| {
        cli.call("acme", "probe", "setting", &json!({ "name": name }))["value"].clone()
    };
    let admin = sign_in(&server, "acme", "admin");
    let page = admin.get("/console/t/acme/p/probe/");
    assert!(
        page.body.contains("/console/t/acme/settings/probe"),
        "{}",
        page.body
    );
    let page = admin.get("/console/t/acme/settings/probe");
    assert_eq!(page.status, 200, "{page:?}");
    // One field per declared setting, typed by its schema, with its default said.
    assert!(page.body.contains("name=\"greeting\""), "{}", page.body);
    assert!(page.body.contains("name=\"limit\""), "{}", page.body);
    assert!(page.body.contains("type=\"number\""), "{}", page.body);
    assert!(
        page.body.contains("the default, &quot;hello&quot;"),
        "{}",
        page.body
    );
    let csrf = csrf_of(&page.body);

    let r = admin.post(
        "/console/t/acme/settings/probe",
        &[("_csrf", &csrf), ("greeting", "bonjour"), ("limit", "42")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("data-testid=\"saved\""), "{}", r.body);
    assert!(r.body.contains("value=\"bonjour\""), "{}", r.body);
    assert_eq!(read("greeting"), json!("bonjour"));
    assert_eq!(read("limit"), json!(42));

    // One value outside its schema: nothing is saved, what was typed is kept.
    let r = admin.post(
        "/console/t/acme/settings/probe",
        &[("_csrf", &csrf), ("greeting", "salut"), ("limit", "500")],
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("nothing was saved"), "{}", r.body);
    assert!(r.body.contains("value=\"500\""), "{}", r.body);
    assert!(r.body.contains("value=\"salut\""), "{}", r.body);
    assert_eq!(read("greeting"), json!("bonjour"));
    assert_eq!(read("limit"), json!(42));

    // Emptied: back to the default (greeting) or to none (limit).
    let r = admin.post(
        "/console/t/acme/settings/probe",
        &[("_csrf", &csrf), ("greeting", ""), ("limit", "")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(read("greeting"), json!("hello"));
    assert_eq!(read("limit"), serde_json::Value::Null);

    // Each change is audited as the console user's.
    let audit = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .json();
    let changes: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"].as_str().unwrap_or("").starts_with("settings."))
        .map(|l| {
            (
                l["action"].as_str().unwrap().to_string(),
                l["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert!(
        changes.iter().all(|(_, actor)| actor.contains("admin")),
        "{changes:?}"
    );

    // Without the form's token nothing changes; a clerk sees no link and is refused.
    let r = admin.post(
        "/console/t/acme/settings/probe",
        &[("_csrf", "forged"), ("greeting", "hacked")],
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(read("greeting"), json!("hello"));
    let clerk = sign_in(&server, "acme", "clerk");
    let page = clerk.get("/console/t/acme/p/probe/");
    assert!(!page.body.contains("settings-link"), "{}", page.body);
    let r = clerk.get("/console/t/acme/settings/probe");
    assert_eq!(r.status, 403, "{r:?}");
}

/// A screen a plugin declares in its `plugin.toml` (`[[screens]]`, training's status
/// per department), rendered by the console's generic renderer: listed in the menu for
/// those who may call its operation, a table of the declared columns with a total row,
/// links from each department to the screen filtered to it, a bar chart, filters from
/// the operation's input, and the operation's refusal of a bad filter on the page.
#[test]
fn a_declared_screen_renders_an_operations_output() {
    let (cli, server) = setup(&[]);
    cli.run(&["plugin", "enable", "training", "--tenant", "acme"])
        .ok();
    for (op, input) in [
        (
            "set-course",
            json!({"code": "SEC", "title": "Security awareness", "pass-mark": 70,
                   "validity-months": 12, "mandatory-departments": ["Engineering", "Finance"]}),
        ),
        (
            "set-employee",
            json!({"id": "E1", "name": "Grace Hopper", "department": "Engineering", "job-role": "engineer"}),
        ),
        (
            "set-employee",
            json!({"id": "F1", "name": "Ada Lovelace", "department": "Finance", "job-role": "accountant"}),
        ),
        (
            "record-completion",
            json!({"employee": "E1", "course": "SEC", "date": yesterday(), "score": 90}),
        ),
    ] {
        cli.call("acme", "training", op, &input);
    }
    let path = "/console/t/acme/screens/training/by-department";
    // Pages escape '/' in attributes.
    let unescape = |html: &str| html.replace("&#x2f;", "/");
    let approver = sign_in(&server, "acme", "approver");
    let home = unescape(&approver.get("/console/t/acme/").body);
    assert!(home.contains(path), "menu link: {home}");
    let page = approver.get(path);
    assert_eq!(page.status, 200, "{page:?}");
    let body = &unescape(&page.body);
    for text in [
        "Training status",
        "<th scope=\"col\">Department</th>",
        "<th scope=\"col\">Compliance</th>",
        "100.0 %",
        "0.0 %",
        "All departments",
        "50.0 %",
        "svg",
        "name=\"as-of\" type=\"date\"",
        "name=\"department\" type=\"text\"",
    ] {
        assert!(body.contains(text), "{text} missing: {body}");
    }
    assert!(
        body.contains(&format!("href=\"{path}?department=Engineering\"")),
        "{body}"
    );
    // The filter goes to the operation: one department only.
    let one = approver.get(&format!("{path}?department=Finance"));
    assert_eq!(one.status, 200);
    assert!(one.body.contains("Finance") && !one.body.contains(">Engineering<"));
    // A bad filter: the operation's reason on the page, status 400.
    let bad = approver.get(&format!("{path}?as-of=yesterday"));
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.body.contains("as-of"), "{}", bad.body);
    // Not for a user without training.read, and no such screen is a 404.
    let clerk = sign_in(&server, "acme", "clerk");
    assert!(!unescape(&clerk.get("/console/t/acme/").body).contains(path));
    assert_eq!(clerk.get(path).status, 403);
    assert_eq!(
        approver
            .get("/console/t/acme/screens/training/nothing")
            .status,
        404
    );
    // The server called training: its modules entry shows the memory high-water mark.
    let admin = sign_in(&server, "acme", "admin");
    let modules = admin.get("/console/t/acme/").body;
    let at = modules.find("data-testid=\"limits-training\">").unwrap();
    assert!(
        modules[at..].starts_with("data-testid=\"limits-training\">64 MiB, 2000 ms per call (default); one instance held at most "),
        "{}",
        &modules[at..]
    );
}
