//! The storage contract of outbound HTTP requests ([`HttpQueue`](super::HttpQueue)),
//! run against both backends from [`super::suite::CASES`].

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the contract test with its message"
)]

use super::suite::{dead_row_is_retried_by_hand, the_dead_row};
use super::{Finish, HttpAttempt, HttpRequest, Lease, NewEvent, NewHttpRequest, Storage};

fn request(tenant: &str, url: &str, at: i64) -> NewHttpRequest {
    NewHttpRequest {
        tenant: tenant.into(),
        plugin: "rates".into(),
        method: "POST".into(),
        url: url.into(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("idempotency-key".into(), "k-1".into()),
        ],
        body: b"{\"from\":\"EUR\"}\0\xff".to_vec(),
        timeout_ms: 5_000,
        created_ms: at,
    }
}

fn attempt(n: u32, at_ms: i64, status: Option<u16>, error: Option<&str>) -> HttpAttempt {
    HttpAttempt {
        attempt: n,
        at_ms,
        took_ms: 12,
        status,
        error: error.map(Into::into),
    }
}

/// A queued request kept byte for byte, leased once, each attempt recorded, a retry
/// after the backoff, a lease that expires (a worker killed mid-attempt) claimed
/// again, a dead letter retried by hand, the answer's event delivered to the asking
/// plugin alone in the finishing transaction, a rollback queuing nothing, and
/// tenants kept apart.
pub fn http_requests_are_leased_recorded_and_retried(storage: &dyn Storage) {
    super::suite::given_tenants(storage);
    // A rolled-back transaction queues nothing.
    let mut tx = storage.begin_scoped("acme").unwrap();
    tx.http_insert(&request("acme", "https://gone.example.com/", 0))
        .unwrap();
    drop(tx);
    let mut tx = storage.begin_scoped("acme").unwrap();
    let new = request("acme", "https://api.example.com/rates", 1_000);
    let id = tx.http_insert(&new).unwrap();
    tx.commit().unwrap();
    let mut tx = storage.begin_scoped("globex").unwrap();
    tx.http_insert(&request("globex", "https://other.example.com/", 5_000))
        .unwrap();
    tx.commit().unwrap();

    let mut tx = storage.begin_read().unwrap();
    let listed = tx.http_list("acme", None, 10).unwrap();
    assert_eq!(listed.len(), 1, "globex's request is not acme's");
    let r = &listed[0];
    assert_eq!((r.id, r.state.as_str(), r.attempts), (id, "pending", 0));
    assert_eq!(
        (r.headers.clone(), r.body.clone()),
        (new.headers.clone(), new.body.clone())
    );
    assert_eq!(
        (r.body_bytes, r.timeout_ms, r.method.as_str()),
        (new.body.len(), 5_000, "POST")
    );
    drop(tx);

    // Not due before it was queued; leased once; a second claim finds nothing.
    let claim = |now: i64, owner: &str| {
        let mut tx = storage.begin_scoped("acme").unwrap();
        let got = tx
            .http_claim(&Lease::new(now, now + 60_000, owner), 10)
            .unwrap();
        tx.commit().unwrap();
        got.into_iter()
            .filter(|r| r.tenant == "acme")
            .collect::<Vec<_>>()
    };
    assert!(claim(999, "h1").is_empty());
    let got = claim(1_000, "h1");
    assert_eq!((got.len(), got[0].attempts), (1, 1));
    assert_eq!(got[0].body, new.body);
    assert!(claim(1_000, "h2").is_empty(), "leased to h1");

    // h1 dies mid-attempt: once its lease expires h2 claims it, and h1's late finish
    // is refused.
    let got = claim(61_000, "h2");
    assert_eq!((got.len(), got[0].attempts), (1, 2));
    let finish = |owner: &str, a: &HttpAttempt, f: &Finish| {
        let mut tx = storage.begin_scoped("acme").unwrap();
        let ok = tx.http_finish("acme", id, owner, a, f).unwrap();
        tx.commit().unwrap();
        ok
    };
    let failed = attempt(2, 61_000, Some(503), Some("answered 503"));
    let retry = Finish::Retry {
        at_ms: 71_000,
        error: "answered 503".into(),
    };
    assert!(!finish("h1", &failed, &retry), "h1 lost its lease");
    assert!(finish("h2", &failed, &retry));
    assert!(claim(70_999, "h1").is_empty());
    let got = claim(71_000, "h1");
    assert_eq!(got[0].attempts, 3);
    let dead = Finish::Dead {
        error: "cannot connect".into(),
    };
    let last = attempt(3, 71_000, None, Some("cannot connect"));
    assert!(finish("h1", &last, &dead));
    let r = the_dead_row::<HttpRequest>(storage, id, &[failed, last]);
    assert_eq!((r.attempts, r.done_ms, r.status), (3, Some(71_000), None));
    assert_eq!(r.last_error.as_deref(), Some("cannot connect"));
    let depth = storage.begin_read().unwrap().work_depth(71_000).unwrap();
    assert_eq!(
        (depth.http_pending, depth.http_dead),
        (1, 1),
        "globex's waits, acme's is dead"
    );

    // A dead letter is retried by hand; a pending one or an unknown id is not.
    dead_row_is_retried_by_hand::<HttpRequest>(storage, id, id + 1_000_000, 80_000);
    let got = claim(80_000, "h2");
    assert_eq!(got[0].attempts, 1);

    // Held (its plugin disabled): given back uncounted, due again later, with why;
    // only by the lease's owner.
    let mut tx = storage.begin_scoped("acme").unwrap();
    assert!(!tx.http_hold("acme", id, "h1", 85_000, "held: x").unwrap());
    assert!(tx.http_hold("acme", id, "h2", 85_000, "held: x").unwrap());
    tx.commit().unwrap();
    let mut tx = storage.begin_read().unwrap();
    let r = &tx.http_list("acme", Some("pending"), 10).unwrap()[0];
    assert_eq!(
        (r.attempts, r.next_attempt_ms, r.last_error.as_deref()),
        (0, 85_000, Some("held: x"))
    );
    assert_eq!(
        tx.http_attempts("acme", id).unwrap().len(),
        2,
        "no attempt row"
    );
    drop(tx);
    assert!(claim(84_999, "h2").iter().all(|r| r.id != id));
    let got = claim(85_000, "h2");
    assert_eq!((got[0].id, got[0].attempts), (id, 1));

    // The answer and its event commit together; the event goes to the asking plugin
    // only, even when another plugin is named as a subscriber elsewhere.
    let mut tx = storage.begin_scoped("acme").unwrap();
    let answered = attempt(1, 80_000, Some(200), None);
    assert!(
        tx.http_finish("acme", id, "h2", &answered, &Finish::Done { next_ms: None })
            .unwrap()
    );
    let event = tx
        .event_append(&NewEvent {
            tenant: "acme".into(),
            topic: "http.response".into(),
            payload: format!("{{\"request\":{id},\"status\":200}}"),
            plugin: "rates".into(),
            version: "0.1.0".into(),
            created_at_ms: 80_000,
        })
        .unwrap();
    tx.event_fan_out(&event, &["rates".into()], 80_000).unwrap();
    tx.commit().unwrap();
    let mut tx = storage.begin_read().unwrap();
    let r = &tx.http_list("acme", None, 10).unwrap()[0];
    assert_eq!(
        (r.state.as_str(), r.status, r.done_ms),
        ("answered", Some(200), Some(80_000))
    );
    assert_eq!(tx.http_attempts("acme", id).unwrap().len(), 3);
    assert!(
        tx.event_unfanned(10).unwrap().is_empty(),
        "never fanned out again"
    );
    let deliveries = tx.delivery_list(event.id).unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].subscriber, "rates");
}
