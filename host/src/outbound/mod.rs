//! Plugins' outbound HTTP requests (`backoffice:http/outbound`): sent after the asking
//! call commits, retried as documented, recorded, and answered back to the plugin as
//! an `http.response` event.
//!
//! ```text
//! plugin call: outbound.send ─▶ checks (grant, allowed-outbound-hosts, form, sizes)
//!                            ─▶ http_requests row (call's tx) ──commit──▶ tenant file
//! worker pass: http_claim (lease + attempt, commit) ─▶ submit to the sender pool
//! sender thread: guard (resolve, check every address) ─▶ request to a checked address
//!                (webhooks' client: no redirects, no proxy, time and size caps)
//! finish, one tx: http_finish + attempt row, and when final an `http.response` event
//!                 fanned out to the asking plugin alone ─▶ its on-event, own tx
//! ```
//!
//! **Retries.** A connection that could not be made is retried for every method
//! (nothing was sent). A timeout, a broken answer, a 5xx or a 429 is retried only when
//! the request is idempotent: `GET`, `HEAD`, `OPTIONS`, `PUT`, `DELETE`, or any method
//! carrying an `Idempotency-Key` header (which the receiver uses to drop repeats);
//! otherwise the request is final and the plugin gets what happened. A destination the
//! address guard refuses and an answer over the size caps are final at once (another
//! attempt cannot go better). The schedule is the other senders' ([`crate::outbox`]):
//! 5 s, 20 s, 80 s, ... at most 1 h, 5 attempts, then dead until `backoffice http
//! retry`. A crash mid-attempt leaves the lease to expire and the request is sent
//! again: at least once, as webhooks.
//!
//! **A disabled plugin.** A request whose plugin is disabled for its tenant when it
//! comes due is held, not sent: the claim is given back without counting an attempt,
//! `last_error` (and `held` in `http list`) says why, and the request is looked at
//! again every [`HOLD_RECHECK`], so it leaves within that once the plugin is enabled
//! again. A request already in flight when the plugin is disabled is recorded as
//! usual (status, attempt), but its answer is not handed to the plugin: no
//! `http.response` event is appended, and the attempt's error says so. The plugin,
//! enabled again, can find the outcome through `http list` or the HTTP API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Serialize;

use crate::admin::TenantAdmin;
use crate::error::{HostError, HostResult};
use crate::host::Host;
use crate::store::{Finish, HttpAttempt, HttpRequest, NewEvent, StoreError, Transaction};
use crate::webhooks::send::{Failure, Outgoing, Reply};

/// The topic of the event that brings an answer back to the plugin.
pub const RESPONSE_TOPIC: &str = "http.response";

/// How hard the host tries and how much it accepts back. Where requests may go is the
/// webhooks' rule (`BACKOFFICE_WEBHOOK_ALLOW_PRIVATE`).
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Attempts before a request is dead (`BACKOFFICE_HTTP_MAX_ATTEMPTS`, 5).
    pub max_attempts: u32,
    /// Delay before the first retry, times 4 per further attempt
    /// (`BACKOFFICE_HTTP_BACKOFF_MS`, 5 s).
    pub backoff: Duration,
    /// Largest delay between attempts (1 h).
    pub max_backoff: Duration,
    /// Largest answer body a plugin receives (`BACKOFFICE_HTTP_MAX_RESPONSE_BYTES`,
    /// 128 KiB; at most [`MAX_RESPONSE_LIMIT`]).
    pub max_response_bytes: usize,
}

/// The most `max_response_bytes` may be: its base64 form stays within an event's
/// 256 KiB payload.
pub const MAX_RESPONSE_LIMIT: usize = 160 << 10;

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            max_attempts: 5,
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            max_response_bytes: 128 << 10,
        }
    }
}

impl HttpPolicy {
    /// The defaults, changed by the `BACKOFFICE_HTTP_*` environment variables.
    pub fn from_env() -> Self {
        let mut p = HttpPolicy::default();
        let (attempts, backoff) = (&mut p.max_attempts, &mut p.backoff);
        crate::outbox::retries_from_env("BACKOFFICE_HTTP", attempts, backoff);
        if let Some(n) = crate::outbox::env("BACKOFFICE_HTTP_MAX_RESPONSE_BYTES") {
            p.max_response_bytes = std::cmp::min(n, MAX_RESPONSE_LIMIT);
        }
        p
    }

    /// The retry schedule.
    pub fn schedule(&self) -> crate::outbox::Backoff {
        crate::outbox::Backoff {
            max_attempts: self.max_attempts,
            first: self.backoff,
            max: self.max_backoff,
        }
    }
}

/// The host's outbound HTTP machinery: its policy and sender threads.
pub(crate) type Outbound = crate::outbox::Sender<HttpPolicy>;

/// Read and retry the tenant's outbound HTTP requests and email notifications (HTTP
/// API, console). A tenant's `admin` role holds it, as every permission.
pub const OUTBOUND_MANAGE: &str = "outbound.manage";

/// How often a request held for a disabled plugin is looked at again.
pub const HOLD_RECHECK: Duration = Duration::from_secs(60);

/// Why a request of `plugin` is held, or its answer not handed over.
fn disabled_reason(tenant: &str, plugin: &str) -> String {
    format!(
        "held: plugin '{plugin}' is disabled for tenant '{tenant}'; the request is sent once it is enabled again (`backoffice plugin enable {plugin} --tenant {tenant}`)"
    )
}

/// Whether `plugin` is enabled for `tenant` as `tx` sees it.
fn enabled(tx: &mut dyn Transaction, tenant: &str, plugin: &str) -> HostResult<bool> {
    Ok(tx
        .enablement_get(tenant, plugin)?
        .is_some_and(|e| e.enabled))
}

/// A request with every attempt made to send it, as `http list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HttpRequestView {
    /// The request (its header values and body are never shown).
    #[serde(flatten)]
    pub request: HttpRequest,
    /// Why a pending request is not being sent: its plugin is disabled for the
    /// tenant.
    pub held: Option<String>,
    /// The names of the headers it carries.
    pub header_names: Vec<String>,
    /// Its attempts, oldest first.
    pub attempts_log: Vec<HttpAttempt>,
}

/// Whether a failed attempt of `r` may be repeated although it may have reached the
/// server: idempotent methods (RFC 9110, section 9.2.2) or an `Idempotency-Key`.
pub fn repeatable(r: &HttpRequest) -> bool {
    matches!(
        r.method.as_str(),
        "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE"
    ) || r
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("idempotency-key"))
}

/// How a dead request is sent again ([`Host::http_retry`]).
const RETRY: crate::admin::Resend = crate::admin::Resend {
    item: "HTTP request",
    list: "http list",
    only: "a dead request can be retried",
    action: "http.retry",
    target: "http-request",
    permission: OUTBOUND_MANAGE,
    revive: |tx, tenant, id, now| tx.http_retry(tenant, id, now),
};

impl Host {
    /// A tenant's outbound HTTP requests, newest first, optionally in one state, each
    /// with its attempts.
    pub fn http_list(
        &self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> HostResult<Vec<HttpRequestView>> {
        let mut enabled_of = std::collections::HashMap::new();
        self.queue_log::<HttpRequest, _>(
            tenant,
            (state, limit),
            "a request state",
            |tx, r, attempts_log| {
                let held = if r.state == "pending" {
                    let on = match enabled_of.get(&r.plugin) {
                        Some(on) => *on,
                        None => {
                            let on = enabled(tx, tenant, &r.plugin)?;
                            enabled_of.insert(r.plugin.clone(), on);
                            on
                        }
                    };
                    (!on).then(|| disabled_reason(tenant, &r.plugin))
                } else {
                    None
                };
                Ok(HttpRequestView {
                    held,
                    header_names: r.headers.iter().map(|(n, _)| n.clone()).collect(),
                    request: r,
                    attempts_log,
                })
            },
        )
    }

    /// Send a dead request again now, with a fresh count of attempts.
    pub fn http_retry(&self, tenant: &str, id: i64) -> HostResult<()> {
        self.resend_by(tenant, id, self.operator(), &RETRY)
    }

    /// Give back claimed requests whose plugin is disabled for their tenant, unsent
    /// and without counting the attempt; the others, to be sent.
    pub(crate) fn hold_disabled(&self, requests: Vec<HttpRequest>) -> HostResult<Vec<HttpRequest>> {
        if requests.is_empty() {
            return Ok(requests);
        }
        let mut read = self.storage.begin_read()?;
        let mut on = std::collections::HashMap::new();
        let mut send = Vec::with_capacity(requests.len());
        for r in requests {
            let key = (r.tenant.clone(), r.plugin.clone());
            let enabled = match on.get(&key) {
                Some(e) => *e,
                None => {
                    let e = enabled(read.as_mut(), &r.tenant, &r.plugin)?;
                    on.insert(key, e);
                    e
                }
            };
            if enabled {
                send.push(r);
                continue;
            }
            let next = self
                .clock
                .now_ms()
                .saturating_add(i64::try_from(HOLD_RECHECK.as_millis()).unwrap_or(i64::MAX));
            let mut tx = self.storage.begin_scoped(&r.tenant)?;
            tx.http_hold(
                &r.tenant,
                r.id,
                &self.worker.owner,
                next,
                &disabled_reason(&r.tenant, &r.plugin),
            )?;
            tx.commit()?;
            tracing::info!(tenant = %r.tenant, plugin = %r.plugin, request = r.id, "HTTP request held: its plugin is disabled");
        }
        Ok(send)
    }

    /// Start the attempt of a claimed request on the sender pool; its outcome is
    /// recorded in a transaction of its tenant when it ends.
    pub(crate) fn submit_http(&self, r: HttpRequest) {
        let attempt = HttpAttemptCtx {
            rec: self.recording(),
            outbound: self.outbound.clone(),
            webhooks: self.webhooks.clone(),
            wake: self.worker.waker(),
        };
        let (tenant, id) = (r.tenant.clone(), r.id);
        self.outbound
            .submit(&tenant, "an HTTP", id, move || attempt.run(&r));
    }
}

/// What an attempt needs, owned, for a sender thread.
struct HttpAttemptCtx {
    rec: crate::outbox::Recording,
    outbound: Arc<Outbound>,
    webhooks: Arc<crate::webhooks::Webhooks>,
    wake: Box<dyn Fn() + Send>,
}

impl HttpAttemptCtx {
    fn run(&self, r: &HttpRequest) -> HostResult<()> {
        let started = Instant::now();
        let result = match self.webhooks.sender() {
            Ok(sender) => sender.send(&Outgoing {
                method: &r.method,
                url: &r.url,
                headers: &r.headers,
                body: &r.body,
                timeout: Duration::from_millis(u64::from(r.timeout_ms)),
                max_body: self.outbound.policy.max_response_bytes,
            }),
            Err(why) => Err(Failure::Refused(why.to_string())),
        };
        let took_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let now = self.rec.clock.now_ms();
        let schedule = self.outbound.policy.schedule();
        let (finish, status, error) = match &result {
            Ok(reply) if reply.status >= 500 || reply.status == 429 => {
                let error = format!("answered {}", reply.status);
                let finish = schedule.after_failure(r.attempts, now, error.clone(), !repeatable(r));
                // Not repeatable: the answer is the plugin's to judge.
                let finish = match finish {
                    Finish::Dead { .. } if !repeatable(r) => Finish::Done { next_ms: None },
                    other => other,
                };
                (finish, Some(reply.status), Some(error))
            }
            Ok(reply) => (Finish::Done { next_ms: None }, Some(reply.status), None),
            Err(failure) => {
                let final_ = match failure {
                    Failure::Refused(_) | Failure::TooLarge(_) => true,
                    Failure::Connect(_) => false,
                    Failure::Other(_) => !repeatable(r),
                };
                let error = failure.message().to_string();
                (
                    schedule.after_failure(r.attempts, now, error.clone(), final_),
                    None,
                    Some(error),
                )
            }
        };
        if let Some(error) = &error {
            tracing::warn!(tenant = %r.tenant, plugin = %r.plugin, request = r.id, attempt = r.attempts, "HTTP attempt failed: {error}");
        }
        let attempt = HttpAttempt {
            attempt: r.attempts,
            at_ms: now,
            took_ms,
            status,
            // An answer handed to the plugin is not an error of the request.
            error: match finish {
                Finish::Done { .. } if status.is_some_and(|s| s < 500 && s != 429) => None,
                _ => error,
            },
        };
        let answered = matches!(finish, Finish::Done { .. } | Finish::Dead { .. });
        let payload = answered.then(|| response_payload(r, &attempt, result.as_ref().ok()));
        // The request was sent: recording it must not fail on a lost race for the
        // tenant's next event number (PostgreSQL), or the lease would expire and the
        // request go out again. A conflict runs the short transaction again.
        let mut tries = 0;
        loop {
            tries += 1;
            match self.record(r, &attempt, &finish, payload.as_deref(), now) {
                Err(HostError::Storage(StoreError::Retry(why))) if tries < 8 => {
                    tracing::debug!(request = r.id, "recording the attempt again: {why}");
                }
                other => break other?,
            }
        }
        if answered {
            (self.wake)();
        }
        Ok(())
    }

    /// Finish the row, and when the request is over hand its answer to the plugin, in
    /// one transaction of its tenant.
    fn record(
        &self,
        r: &HttpRequest,
        attempt: &HttpAttempt,
        finish: &Finish,
        payload: Option<&str>,
        now: i64,
    ) -> HostResult<()> {
        let mut tx = self.rec.storage.begin_scoped(&r.tenant)?;
        // Disabled while the request was in flight: the outcome is recorded, the
        // answer is not handed to the plugin (it could not take it).
        let deliver = payload.is_some() && enabled(tx.as_mut(), &r.tenant, &r.plugin)?;
        let undelivered;
        let attempt = if payload.is_some() && !deliver {
            let why = format!(
                "answer not delivered: plugin '{}' was disabled for tenant '{}' while the request was in flight",
                r.plugin, r.tenant
            );
            undelivered = HttpAttempt {
                error: Some(match &attempt.error {
                    Some(e) => format!("{e}; {why}"),
                    None => why,
                }),
                ..attempt.clone()
            };
            &undelivered
        } else {
            attempt
        };
        let kept = tx.http_finish(&r.tenant, r.id, &self.rec.owner, attempt, finish)?;
        if let (true, Some(payload), true) = (kept, payload, deliver) {
            answer(tx.as_mut(), r, payload.to_string(), now)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// The `http.response` event's payload.
fn response_payload(r: &HttpRequest, attempt: &HttpAttempt, reply: Option<&Reply>) -> String {
    let (text, base64) = match reply.map(|r| std::str::from_utf8(&r.body)) {
        Some(Ok(text)) => (Some(text.to_string()), None),
        Some(Err(_)) => (
            None,
            reply.map(|r| base64::engine::general_purpose::STANDARD.encode(&r.body)),
        ),
        None => (None, None),
    };
    serde_json::json!({
        "request": r.id,
        "method": r.method,
        "url": r.url,
        "ok": attempt.error.is_none(),
        "status": reply.map(|r| r.status),
        "headers": reply.map(|r| r.headers.clone()).unwrap_or_default(),
        "body": text,
        "body_base64": base64,
        "error": attempt.error,
        "attempts": attempt.attempt,
    })
    .to_string()
}

/// Append the answer's event and hand it to the asking plugin alone (no other
/// subscriber, no webhook: an answer may carry the plugin's secrets).
fn answer(tx: &mut dyn Transaction, r: &HttpRequest, payload: String, now: i64) -> HostResult<()> {
    let event = tx.event_append(&NewEvent {
        tenant: r.tenant.clone(),
        topic: RESPONSE_TOPIC.into(),
        payload,
        plugin: "backoffice".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        created_at_ms: now,
    })?;
    tx.event_fan_out(&event, std::slice::from_ref(&r.plugin), now)?;
    Ok(())
}

impl TenantAdmin<'_> {
    /// [`Host::http_list`] for a principal holding `outbound.manage` in the tenant.
    pub fn http_list(&self, state: Option<&str>, limit: u32) -> HostResult<Vec<HttpRequestView>> {
        let host = self.check(OUTBOUND_MANAGE)?;
        host.http_list(self.tenant, state, limit)
    }

    /// [`Host::http_retry`] for a principal holding `outbound.manage` in the tenant,
    /// audited with the principal as the actor.
    pub fn http_retry(&self, id: i64) -> HostResult<()> {
        self.resend(id, &RETRY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            id: 1,
            tenant: "acme".into(),
            plugin: "rates".into(),
            method: method.into(),
            url: "https://api.example.com/".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
            body_bytes: 0,
            timeout_ms: 1000,
            state: "pending".into(),
            attempts: 1,
            next_attempt_ms: 0,
            status: None,
            last_error: None,
            created_ms: 0,
            done_ms: None,
        }
    }

    #[test]
    fn only_idempotent_requests_are_repeated() {
        for m in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"] {
            assert!(repeatable(&req(m, &[])), "{m}");
        }
        assert!(!repeatable(&req("POST", &[])));
        assert!(!repeatable(&req("PATCH", &[("content-type", "x")])));
        assert!(repeatable(&req("POST", &[("Idempotency-Key", "k1")])));
    }

    #[test]
    fn the_schedule_is_the_shared_one() {
        let p = HttpPolicy::default();
        let secs: Vec<u64> = (1..=5).map(|n| p.schedule().after(n).as_secs()).collect();
        assert_eq!(secs, [5, 20, 80, 320, 1280]);
    }
}
