//! The storage contract of notifications ([`NotifyStore`](super::NotifyStore),
//! [`NotifyQueue`](super::NotifyQueue)), run against both backends from
//! [`super::suite::CASES`].

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the contract test with its message"
)]

use super::suite::{dead_row_is_retried_by_hand, the_dead_row};
use super::{
    Finish, Lease, NewNotification, Notification, NotifyAttempt, RoleRecord, Storage, UserRecord,
};

fn user(name: &str, disabled: bool) -> UserRecord {
    UserRecord {
        tenant: "acme".into(),
        username: name.into(),
        display_name: name.into(),
        password_hash: None,
        system_admin: false,
        created_at: "2026-12-03T00:00:00Z".into(),
        disabled_at: disabled.then(|| "2026-12-03T00:00:00Z".into()),
    }
}

fn message(to: &str, token: &str, at: i64) -> NewNotification {
    NewNotification {
        tenant: "acme".into(),
        plugin: "training".into(),
        recipient: to.into(),
        address: format!("{to}@example.com"),
        subject: "Fire safety expires".into(),
        body: "in 30 days".into(),
        message_id: token.into(),
        created_ms: at,
    }
}

fn attempt(n: u32, at_ms: i64, code: u16, error: Option<&str>) -> NotifyAttempt {
    NotifyAttempt {
        attempt: n,
        at_ms,
        code: Some(code),
        error: error.map(Into::into),
    }
}

/// Addresses and role members, a queued message leased once, each attempt recorded,
/// a retry after the backoff, a dead letter retried by hand, a rollback queuing nothing.
pub fn notifications_are_leased_recorded_and_retried(storage: &dyn Storage) {
    super::suite::given_tenants(storage);
    let mut tx = storage.begin().unwrap();
    tx.role_insert(&RoleRecord {
        tenant: "acme".into(),
        name: "hr".into(),
        description: "people".into(),
        permissions: vec![],
    })
    .unwrap();
    for (name, disabled) in [("ana", false), ("bob", false), ("cy", true)] {
        tx.user_insert(&user(name, disabled)).unwrap();
        tx.user_role_add("acme", name, "hr").unwrap();
    }
    tx.user_email_set("acme", "ana", Some("ana@old.example.com"))
        .unwrap();
    tx.user_email_set("acme", "ana", Some("ana@example.com"))
        .unwrap();
    tx.user_email_set("acme", "cy", Some("cy@example.com"))
        .unwrap();
    assert_eq!(
        tx.user_emails("acme").unwrap(),
        [
            ("ana".to_string(), "ana@example.com".to_string()),
            ("cy".to_string(), "cy@example.com".to_string())
        ]
    );
    assert_eq!(
        tx.role_members("acme", "hr").unwrap(),
        [
            ("ana".to_string(), "ana@example.com".to_string()),
            ("bob".to_string(), String::new())
        ],
        "enabled members, bob without an address"
    );
    tx.user_email_set("acme", "cy", None).unwrap();
    assert_eq!(tx.user_emails("acme").unwrap().len(), 1);
    tx.commit().unwrap();

    // A rolled-back transaction queues nothing.
    let mut tx = storage.begin_scoped("acme").unwrap();
    tx.notify_insert(&message("ana", "gone", 0)).unwrap();
    drop(tx);
    let mut tx = storage.begin_scoped("acme").unwrap();
    let id = tx.notify_insert(&message("ana", "m1", 1_000)).unwrap();
    tx.commit().unwrap();
    let mut tx = storage.begin_read().unwrap();
    let listed = tx.notify_list("acme", None, 10).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].state.as_str()), (id, "pending"));
    drop(tx);

    // Not due before it was queued; leased once; a second claim finds nothing.
    let claim = |now: i64, owner: &str| {
        let mut tx = storage.begin_scoped("acme").unwrap();
        let got = tx
            .notify_claim(&Lease::new(now, now + 60_000, owner), 10)
            .unwrap();
        tx.commit().unwrap();
        got
    };
    assert!(claim(999, "h1").is_empty());
    let got = claim(1_000, "h1");
    assert_eq!((got.len(), got[0].attempts), (1, 1));
    assert!(claim(1_000, "h2").is_empty(), "leased to h1");

    // Another owner cannot finish it; h1 records a refusal and a retry at 11 s.
    let finish = |owner: &str, a: &NotifyAttempt, f: &Finish| {
        let mut tx = storage.begin_scoped("acme").unwrap();
        let ok = tx.notify_finish("acme", id, owner, a, f).unwrap();
        tx.commit().unwrap();
        ok
    };
    let refused = attempt(1, 1_000, 554, Some("554 refused"));
    let retry = Finish::Retry {
        at_ms: 11_000,
        error: "554 refused".into(),
    };
    assert!(!finish("h2", &refused, &retry));
    assert!(finish("h1", &refused, &retry));
    assert!(claim(10_999, "h2").is_empty());
    let got = claim(11_000, "h2");
    assert_eq!(got[0].attempts, 2);
    let later = attempt(2, 11_000, 451, Some("451 later"));
    let dead = Finish::Dead {
        error: "451 later".into(),
    };
    assert!(finish("h2", &later, &dead));
    let n = the_dead_row::<Notification>(storage, id, &[refused, later]);
    assert_eq!((n.attempts, n.done_ms), (2, Some(11_000)));
    assert_eq!(n.last_error.as_deref(), Some("451 later"));

    // A dead letter is retried by hand, same Message-ID; a pending one is not.
    dead_row_is_retried_by_hand::<Notification>(storage, id, id + 1, 20_000);
    let got = claim(20_000, "h1");
    assert_eq!((got[0].attempts, got[0].message_id.as_str()), (1, "m1"));
    assert!(finish(
        "h1",
        &attempt(1, 20_000, 250, None),
        &Finish::Done { next_ms: None }
    ));
    let mut tx = storage.begin_read().unwrap();
    let n = &tx.notify_list("acme", None, 10).unwrap()[0];
    assert_eq!((n.state.as_str(), n.done_ms), ("sent", Some(20_000)));
    assert_eq!(tx.notify_attempts("acme", id).unwrap().len(), 3);
}
