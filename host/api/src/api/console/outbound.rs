//! The console's page of a tenant's outbound traffic: the plugins' HTTP requests and
//! email notifications, with a retry button for each dead one. The same checks as
//! the HTTP API (`outbound.manage`, audited retries through the `*_as` functions).

use axum::extract::Query;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{Page, TenantSession, html, ser};
use backoffice_host::outbound::OUTBOUND_MANAGE;

#[derive(Deserialize, Default)]
pub(crate) struct OutboundQuery {
    /// Only requests in this state (pending, answered, dead).
    #[serde(default)]
    state: String,
    done: Option<String>,
}

/// A message of either kind as the page lists it: the columns both kinds have, and
/// those of its own kind (`C`).
#[derive(Serialize)]
struct Row<C> {
    id: i64,
    plugin: String,
    state: String,
    attempts: u32,
    created: String,
    why: String,
    #[serde(flatten)]
    own: C,
}

impl<C> Row<C> {
    fn new(
        id: i64,
        plugin: String,
        state: String,
        attempts: u32,
        created_ms: i64,
        why: Option<String>,
        own: C,
    ) -> Self {
        Row {
            id,
            plugin,
            state,
            attempts,
            created: ms_text(created_ms),
            why: why.unwrap_or_default(),
            own,
        }
    }
}

/// The columns of an HTTP request of its own.
#[derive(Serialize)]
struct RequestColumns {
    method: String,
    url: String,
    status: String,
}

/// The columns of a notification of its own.
#[derive(Serialize)]
struct NotificationColumns {
    to: String,
    subject: String,
}

/// The URL without its query and fragment, where API keys tend to travel.
fn without_query(url: &str) -> String {
    match url.find(['?', '#']) {
        Some(at) => format!("{}?…", &url[..at]),
        None => url.to_string(),
    }
}

fn ms_text(ms: i64) -> String {
    backoffice_host::webhooks::rfc3339_ms(ms)
}

pub(crate) async fn outbound(cx: TenantSession, Query(q): Query<OutboundQuery>) -> Page {
    let t = cx.page().await?;
    let filter = (!q.state.is_empty()).then(|| q.state.clone());
    let (requests, notifications) = cx
        .admin(move |admin| {
            let requests = admin.http_list(filter.as_deref(), 200)?;
            Ok((requests, admin.notify_list(None, 200)?))
        })
        .await?;
    let requests: Vec<_> = requests
        .into_iter()
        .map(|v| {
            let r = v.request;
            let why = v.held.or(r.last_error);
            let own = RequestColumns {
                method: r.method,
                url: without_query(&r.url),
                status: r.status.map(|s| s.to_string()).unwrap_or_default(),
            };
            Row::new(r.id, r.plugin, r.state, r.attempts, r.created_ms, why, own)
        })
        .collect();
    let notifications: Vec<_> = notifications
        .into_iter()
        .map(|v| {
            let n = v.notification;
            let own = NotificationColumns {
                to: n.recipient,
                subject: n.subject,
            };
            Row::new(
                n.id,
                n.plugin,
                n.state,
                n.attempts,
                n.created_ms,
                n.last_error,
                own,
            )
        })
        .collect();
    Ok(html(
        StatusCode::OK,
        "outbound.html",
        minijinja::context! { title => "Outbound requests", base => ser(&t.base), requests => ser(&requests), notifications => ser(&notifications), state => q.state, done => q.done },
    ))
}

/// Whether the navigation links the page for `principal`.
pub(crate) fn linked(principal: &backoffice_host::auth::Principal) -> bool {
    principal.has_permission(OUTBOUND_MANAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_of_a_url_is_not_shown() {
        assert_eq!(
            without_query("https://api.example.com/rates?key=s3cret"),
            "https://api.example.com/rates?…"
        );
        assert_eq!(
            without_query("https://api.example.com/a#k"),
            "https://api.example.com/a?…"
        );
        assert_eq!(
            without_query("http://127.0.0.1:8080/x"),
            "http://127.0.0.1:8080/x"
        );
    }
}
