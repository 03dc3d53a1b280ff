//! Outbound webhooks: a tenant admin subscribes an HTTPS endpoint to event topics, and
//! every event of those topics is POSTed to it, signed per Standard Webhooks.
//!
//! ```text
//! plugin call emits event ──commit──▶ events (tenant file)
//! worker fan-out (one tx) ──────────▶ deliveries (plugins) + webhook_deliveries
//!                                     (one per endpoint wanting the topic, msg_id fixed)
//! worker claim (lease + attempt, commit) ─▶ guard: resolve, check every address
//!                                         ─▶ POST to a checked address (send.rs)
//! finish: 2xx delivered | retry at now + backoff (x4, jitter) | dead after N attempts
//! ```
//!
//! Nothing leaves before the emitting call commits (the event does not exist before),
//! and a crash between the POST and the finish leaves the lease to expire: the
//! delivery is sent again with the same `webhook-id`, so a receiver that deduplicates
//! on it sees each event once.

/// Address rules (the crate `backoffice-runtime`, which checks plugins' HTTP requests
/// with them too).
pub use backoffice_runtime::guard;
pub(crate) mod pool;
pub mod send;
pub mod sign;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::admin::TenantAdmin;
use crate::error::{HostError, HostResult};
use crate::host::Host;
use crate::store::{EventRecord, Finish, WebhookAttempt, WebhookDelivery, WebhookEndpoint};

/// What the host allows and how hard it tries.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    /// Allow plain HTTP and loopback, private and link-local destinations
    /// (`BACKOFFICE_WEBHOOK_ALLOW_PRIVATE=1`): on-premises installs and tests.
    pub allow_private: bool,
    /// Attempts before a delivery is dead (`BACKOFFICE_WEBHOOK_MAX_ATTEMPTS`, 8).
    pub max_attempts: u32,
    /// Delay before the first retry, multiplied by 4 per further attempt
    /// (`BACKOFFICE_WEBHOOK_BACKOFF_MS`, 5 s).
    pub backoff: Duration,
    /// Largest delay between attempts (6 h).
    pub max_backoff: Duration,
    /// One attempt, from connecting to the answer's head (`BACKOFFICE_WEBHOOK_TIMEOUT_MS`, 15 s).
    pub timeout: Duration,
    /// Connecting to one address (5 s, at most `timeout`).
    pub connect_timeout: Duration,
    /// Certificates (DER) trusted as roots besides Mozilla's: a private CA of an
    /// on-premises install, or a test's (`BACKOFFICE_WEBHOOK_CA_FILE`, PEM).
    pub extra_roots: Vec<Vec<u8>>,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        WebhookPolicy {
            allow_private: false,
            max_attempts: 8,
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(6 * 3600),
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            extra_roots: Vec::new(),
        }
    }
}

impl WebhookPolicy {
    /// The defaults, changed by the `BACKOFFICE_WEBHOOK_*` environment variables.
    pub fn from_env() -> Self {
        let mut p = WebhookPolicy::default();
        let var = crate::outbox::env::<String>;
        p.allow_private = var("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE")
            .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        let (attempts, backoff) = (&mut p.max_attempts, &mut p.backoff);
        crate::outbox::retries_from_env("BACKOFFICE_WEBHOOK", attempts, backoff);
        if let Some(file) = var("BACKOFFICE_WEBHOOK_CA_FILE") {
            match read_roots(std::path::Path::new(&file)) {
                Ok(roots) => p.extra_roots = roots,
                // Attempts to endpoints of that CA then fail, visibly, in the log of
                // each delivery; every other command keeps working.
                Err(e) => tracing::error!("BACKOFFICE_WEBHOOK_CA_FILE: {e}"),
            }
        }
        if let Some(ms) = crate::outbox::env("BACKOFFICE_WEBHOOK_TIMEOUT_MS") {
            p.timeout = Duration::from_millis(std::cmp::max(ms, 1));
            p.connect_timeout = p.connect_timeout.min(p.timeout);
        }
        p
    }

    /// Delay before attempt `attempts + 1` after `attempts` failures, without jitter:
    /// `backoff * 4^(attempts - 1)`, at most `max_backoff`. With the defaults: 5 s,
    /// 20 s, 80 s, 5 min 20 s, 21 min, 85 min, 5 h 41 min (then dead): about 7.6 h.
    pub fn backoff_after(&self, attempts: u32) -> Duration {
        self.schedule().after(attempts)
    }

    /// The retry schedule (shared with the other senders, `crate::outbox`).
    pub fn schedule(&self) -> crate::outbox::Backoff {
        crate::outbox::Backoff {
            max_attempts: self.max_attempts,
            first: self.backoff,
            max: self.max_backoff,
        }
    }
}

/// The certificates (DER) of a PEM file; other blocks are skipped (rustls' PEM
/// reader, RFC 7468).
fn read_roots(path: &std::path::Path) -> Result<Vec<Vec<u8>>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let roots = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .enumerate()
        .map(|(i, cert)| {
            cert.map(|c| c.to_vec())
                .map_err(|e| format!("{}: certificate {}: {e}", path.display(), i + 1))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if roots.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(roots)
}

/// The host's webhook machinery: its policy and sender.
#[derive(Debug)]
pub(crate) struct Webhooks {
    pub(crate) policy: WebhookPolicy,
    /// Built at the first attempt, on a sender thread (the client starts a runtime
    /// thread and loads the roots; most commands never send).
    sender: std::sync::OnceLock<Result<send::Sender, String>>,
    /// Seals secrets at rest (derived from the audit key).
    seal_key: [u8; 32],
    /// Where attempts run.
    pool: pool::Pool,
    /// Outcomes of attempts waiting to be recorded, per tenant (`Recorder`).
    recorder: Recorder,
}

impl Webhooks {
    pub(crate) fn new(policy: WebhookPolicy, seal_key: [u8; 32]) -> Self {
        Webhooks {
            policy,
            sender: std::sync::OnceLock::new(),
            seal_key,
            pool: pool::Pool::with_limits(pool::Limits::WEBHOOKS),
            recorder: Recorder::default(),
        }
    }

    /// The sender, or why there is none (the host could not set up TLS, or was built
    /// without its HTTP client); an attempt records the reason as its failure.
    pub(crate) fn sender(&self) -> Result<&send::Sender, &str> {
        self.sender
            .get_or_init(|| {
                send::Sender::new(&self.policy).map_err(|e| {
                    tracing::error!("webhooks and outbound HTTP requests cannot be sent: {e}");
                    format!("the host cannot send: {e}")
                })
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// A new endpoint and its secret, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct AddedWebhook {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_...`: the receiver verifies signatures with it. Not shown again.
    pub secret: String,
}

/// The longest overlap of a rotation.
pub const MAX_OVERLAP: Duration = Duration::from_secs(30 * 86_400);

/// A rotated endpoint's new secret, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct RotatedWebhook {
    /// The endpoint.
    pub id: String,
    /// The new `whsec_...`; not shown again.
    pub secret: String,
    /// Until when (ms since the epoch) the previous secret also signs; none when it
    /// was dropped at once.
    pub previous_secret_until_ms: Option<i64>,
}

fn unknown_webhook(tenant: &str, id: &str) -> HostError {
    HostError::NotFound(format!(
        "tenant '{tenant}' has no webhook '{id}'; see `backoffice webhook list --tenant {tenant}`"
    ))
}

fn check_topics(topics: &[String]) -> HostResult<()> {
    if topics.is_empty() {
        return Err(HostError::InvalidInput(
            "name at least one topic (--topic ledger.entry-posted, --topic 'ledger.*' or --topic '*')".into(),
        ));
    }
    for t in topics {
        let body = t.strip_suffix(".*").unwrap_or(t);
        let ok = t == "*"
            || (!body.is_empty()
                && body
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                && !body.starts_with('.')
                && !body.ends_with('.'));
        if !ok {
            return Err(HostError::InvalidInput(format!(
                "'{t}' is not a topic pattern: use a topic (letters, digits, '.', '-', '_'), \
                 a prefix ending in '.*', or '*'"
            )));
        }
    }
    Ok(())
}

/// Add, remove, rotate, replay and read a tenant's webhooks (HTTP API, console).
pub const WEBHOOKS_MANAGE: &str = "webhooks.manage";

/// Delivery states a log may be filtered by.
pub const DELIVERY_STATES: &[&str] = &["pending", "delivered", "dead"];

/// How a delivery is sent again ([`Host::webhook_replay`]).
const REPLAY: crate::admin::Resend = crate::admin::Resend {
    item: "webhook delivery",
    list: "webhook deliveries",
    only: "a dead or delivered delivery of an existing endpoint can be replayed",
    action: "webhook.replay",
    target: "delivery",
    permission: WEBHOOKS_MANAGE,
    revive: |tx, tenant, id, now| tx.webhook_replay(tenant, id, now),
};

impl Host {
    /// Subscribe `url` to `topics` for `tenant`. The URL is checked (HTTPS, and every
    /// address it resolves to public, unless private destinations are allowed).
    pub fn webhook_add(
        &self,
        tenant: &str,
        url: &str,
        topics: &[String],
    ) -> HostResult<AddedWebhook> {
        self.webhook_add_by(tenant, url, topics, self.operator())
    }

    fn webhook_add_by(
        &self,
        tenant: &str,
        url: &str,
        topics: &[String],
        actor: &str,
    ) -> HostResult<AddedWebhook> {
        check_topics(topics)?;
        guard::resolve(url, self.webhooks.policy.allow_private)
            .map_err(|e| HostError::InvalidInput(format!("webhook destination refused: {e}")))?;
        let id = sign::new_id("wh_")?;
        let (secret, text) = sign::new_secret()?;
        let endpoint = WebhookEndpoint {
            secret_sealed: sign::seal(&self.webhooks.seal_key, &id, 0, &secret)?,
            id,
            tenant: tenant.to_string(),
            url: url.to_string(),
            topics: topics.to_vec(),
            created_ms: self.clock.now_ms(),
            secret_generation: 0,
            previous_secret_sealed: None,
            previous_secret_until_ms: None,
        };
        let mut tx = self.write_tenant(tenant)?;
        tx.webhook_insert(&endpoint)?;
        let detail = serde_json::json!({ "url": endpoint.url, "topics": endpoint.topics });
        self.audit_admin_as(
            tx.as_mut(),
            Some(tenant),
            actor,
            "webhook.add",
            format!("webhook:{}", endpoint.id),
            detail,
        )?;
        tx.commit()?;
        Ok(AddedWebhook {
            endpoint,
            secret: text,
        })
    }

    /// A tenant's endpoints.
    pub fn webhook_list(&self, tenant: &str) -> HostResult<Vec<WebhookEndpoint>> {
        let mut tx = self.read_tenant(tenant)?;
        Ok(tx.webhook_list(tenant)?)
    }

    /// Remove an endpoint; its pending deliveries are marked dead.
    pub fn webhook_remove(&self, tenant: &str, id: &str) -> HostResult<()> {
        self.webhook_remove_by(tenant, id, self.operator())
    }

    fn webhook_remove_by(&self, tenant: &str, id: &str, actor: &str) -> HostResult<()> {
        let mut tx = self.write_tenant(tenant)?;
        if !tx.webhook_delete(tenant, id, self.clock.now_ms())? {
            return Err(unknown_webhook(tenant, id));
        }
        self.audit_admin_as(
            tx.as_mut(),
            Some(tenant),
            actor,
            "webhook.remove",
            format!("webhook:{id}"),
            serde_json::json!({}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Give an endpoint a new secret (shown once). For `overlap` the old one still
    /// signs beside it (`webhook-signature: v1,<new> v1,<old>`), so the receiver can
    /// switch without losing a delivery; zero drops the old one at once. At most
    /// [`MAX_OVERLAP`].
    pub fn webhook_rotate(
        &self,
        tenant: &str,
        id: &str,
        overlap: Duration,
    ) -> HostResult<RotatedWebhook> {
        self.webhook_rotate_by(tenant, id, overlap, self.operator())
    }

    fn webhook_rotate_by(
        &self,
        tenant: &str,
        id: &str,
        overlap: Duration,
        actor: &str,
    ) -> HostResult<RotatedWebhook> {
        if overlap > MAX_OVERLAP {
            return Err(HostError::InvalidInput(format!(
                "an overlap of {} s is longer than the {} days allowed; receivers should switch to the new secret within that",
                overlap.as_secs(),
                MAX_OVERLAP.as_secs() / 86_400
            )));
        }
        let mut tx = self.write_tenant(tenant)?;
        let Some(old) = tx.webhook_list(tenant)?.into_iter().find(|e| e.id == id) else {
            return Err(unknown_webhook(tenant, id));
        };
        let key = &self.webhooks.seal_key;
        let generation = old.secret_generation.checked_add(1).ok_or_else(|| {
            HostError::Conflict(format!(
                "webhook '{id}' was rotated too often; add a new one"
            ))
        })?;
        let (secret, text) = sign::new_secret()?;
        let now = self.clock.now_ms();
        let until = now.saturating_add(i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX));
        let rotated = WebhookEndpoint {
            secret_sealed: sign::seal(key, id, generation, &secret)?,
            secret_generation: generation,
            // The secret of the generation before, kept sealed under its own pad.
            previous_secret_sealed: (!overlap.is_zero()).then(|| old.secret_sealed.clone()),
            previous_secret_until_ms: (!overlap.is_zero()).then_some(until),
            ..old
        };
        tx.webhook_set_secret(&rotated)?;
        self.audit_admin_as(
            tx.as_mut(),
            Some(tenant),
            actor,
            "webhook.rotate",
            format!("webhook:{id}"),
            serde_json::json!({ "overlap_secs": overlap.as_secs(), "generation": generation }),
        )?;
        tx.commit()?;
        Ok(RotatedWebhook {
            id: id.to_string(),
            secret: text,
            previous_secret_until_ms: rotated.previous_secret_until_ms,
        })
    }

    /// A tenant's delivery log, newest first.
    pub fn webhook_deliveries(
        &self,
        tenant: &str,
        endpoint: Option<&str>,
        limit: u32,
    ) -> HostResult<Vec<WebhookDelivery>> {
        self.webhook_log(tenant, endpoint, None, limit)
    }

    /// A tenant's delivery log, newest first, of one endpoint and/or in one state
    /// (`pending`, `delivered`, `dead`).
    pub fn webhook_log(
        &self,
        tenant: &str,
        endpoint: Option<&str>,
        state: Option<&str>,
        limit: u32,
    ) -> HostResult<Vec<WebhookDelivery>> {
        crate::outbox::check_state(state, DELIVERY_STATES, "a delivery state")?;
        let mut tx = self.read_tenant(tenant)?;
        Ok(tx.webhook_deliveries(tenant, endpoint, state, limit)?)
    }

    /// Send a dead or delivered delivery again now, with the same `webhook-id`.
    pub fn webhook_replay(&self, tenant: &str, id: i64) -> HostResult<()> {
        self.resend_by(tenant, id, self.operator(), &REPLAY)
    }

    /// What a claim of webhook deliveries of `tenant` (all tenants when `None`) may
    /// lease now: the free sender threads of its share, and each endpoint's room.
    pub(crate) fn webhook_room(&self, tenant: Option<&str>) -> crate::store::ClaimRoom {
        self.webhooks.pool.room(tenant)
    }

    /// After a claim: grow `tenant`'s share of the senders when the claim left due
    /// deliveries behind, shrink it back when it did not.
    pub(crate) fn webhook_adapt(&self, tenant: Option<&str>, backlog: bool) {
        self.webhooks.pool.adapt(tenant, backlog);
    }

    /// Start the attempt of a claimed delivery on the sender pool; its outcome is
    /// recorded, with the outcomes of other attempts of its tenant that ended
    /// meanwhile, in one transaction of its tenant (`Recorder`).
    pub(crate) fn submit_webhook(
        &self,
        d: WebhookDelivery,
        endpoint: WebhookEndpoint,
        event: EventRecord,
    ) {
        let attempt = AttemptCtx {
            rec: self.recording(),
            webhooks: self.webhooks.clone(),
        };
        let tenant = d.tenant.clone();
        let endpoint_id = endpoint.id.clone();
        // The worker claims only as many attempts as there are free threads: wake it
        // when this one's thread is free, rather than leave the next deliveries to
        // its poll interval.
        let wake = self.worker.waker();
        self.webhooks.pool.submit_then(
            &tenant,
            Some(&endpoint_id),
            move || attempt.run(d, &endpoint, &event),
            wake,
        );
    }

    /// Wait until no webhook attempt is in flight.
    pub(crate) fn wait_for_webhooks(&self) {
        self.webhooks.pool.wait_idle();
    }
}

/// What an attempt needs, owned, for a sender thread.
struct AttemptCtx {
    rec: crate::outbox::Recording,
    webhooks: Arc<Webhooks>,
}

impl AttemptCtx {
    /// One attempt of a claimed delivery; its outcome goes to the tenant's recorder.
    fn run(&self, d: WebhookDelivery, endpoint: &WebhookEndpoint, event: &EventRecord) {
        let answer = self.attempt(&d, endpoint, event);
        let now = self.rec.clock.now_ms();
        let policy = &self.webhooks.policy;
        let finish = policy
            .schedule()
            .outcome(d.attempts, now, answer.error.as_deref());
        if let Some(error) = &answer.error {
            tracing::warn!(tenant = %d.tenant, webhook = %endpoint.id, delivery = d.id, attempt = d.attempts, "webhook attempt failed: {error}");
        }
        let outcome = Outcome {
            id: d.id,
            now_ms: now,
            attempt: WebhookAttempt {
                status: answer.status,
                error: answer.error,
            },
            finish,
        };
        self.webhooks
            .recorder
            .record(&d.tenant, outcome, |tenant, batch| {
                self.write(tenant, batch)
            });
    }

    /// Record `batch` (attempts of `tenant`) in one transaction of the tenant.
    fn write(&self, tenant: &str, batch: &[Outcome]) {
        let written = (|| -> HostResult<usize> {
            let mut tx = self.rec.storage.begin_scoped(tenant)?;
            let mut lost = 0;
            for o in batch {
                if !tx.webhook_finish(
                    tenant,
                    o.id,
                    &self.rec.owner,
                    o.now_ms,
                    &o.attempt,
                    &o.finish,
                )? {
                    lost += 1;
                }
            }
            tx.commit()?;
            Ok(lost)
        })();
        match written {
            Ok(0) => {}
            // Another worker's claim took them over after the lease ran out: its
            // attempt (same webhook-id) is the one recorded.
            Ok(lost) => {
                tracing::warn!(%tenant, lost, "webhook attempts ended after their lease ran out")
            }
            // Their leases expire and the deliveries are attempted again, same id.
            Err(e) => {
                tracing::error!(%tenant, attempts = batch.len(), "recording webhook attempts failed: {e}")
            }
        }
    }

    fn attempt(
        &self,
        d: &WebhookDelivery,
        endpoint: &WebhookEndpoint,
        event: &EventRecord,
    ) -> send::Answer {
        let failed = |error: String| send::Answer {
            status: None,
            error: Some(error),
        };
        let sender = match self.webhooks.sender() {
            Ok(sender) => sender,
            Err(why) => return failed(why.to_string()),
        };
        let body = payload(event);
        let now = self.rec.clock.now_ms();
        let timestamp = now.div_euclid(1000);
        let signature = match signatures(&self.webhooks.seal_key, endpoint, now, |secret| {
            sign::signature(secret, &d.msg_id, timestamp, &body)
        }) {
            Ok(s) => s,
            Err(e) => return failed(e.to_string()),
        };
        let headers = [
            ("webhook-id", d.msg_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        // The address guard runs in the sender, on the addresses it connects to.
        sender.post(&endpoint.url, &headers, &body)
    }
}

/// The outcome of one attempt, to be recorded.
#[derive(Debug)]
struct Outcome {
    id: i64,
    now_ms: i64,
    attempt: WebhookAttempt,
    finish: Finish,
}

/// Batched bookkeeping: the outcomes of a tenant's attempts are recorded many to a
/// transaction. A sender thread whose attempt ended queues its outcome; if no thread
/// is writing the tenant's outcomes it becomes the writer and writes everything queued,
/// in transactions of at most [`Recorder::BATCH`], until the queue is empty; otherwise
/// it is done at once and its thread takes the next attempt. One writer per tenant
/// means one transaction per batch instead of one per delivery, and the other sender
/// threads never wait for the tenant's write lock.
///
/// Nothing is promised before the write commits: until then the delivery stays leased
/// to this host, and a crash leaves the lease to expire, so the delivery is sent again
/// with the same `webhook-id` (at least once, as before). The writer is itself an
/// attempt in flight on the pool, so `Host::run_due` (which waits for the pool to be
/// idle) returns only after every outcome is written.
#[derive(Debug, Default)]
struct Recorder {
    queues: std::sync::Mutex<std::collections::HashMap<String, Queue>>,
}

#[derive(Debug, Default)]
struct Queue {
    outcomes: Vec<Outcome>,
    writing: bool,
}

impl Recorder {
    /// Most outcomes written in one transaction.
    const BATCH: usize = 512;

    /// Queue `outcome` of `tenant`; write the tenant's queue with `write` unless
    /// another thread is writing it.
    fn record(&self, tenant: &str, outcome: Outcome, write: impl Fn(&str, &[Outcome])) {
        {
            let Ok(mut queues) = self.queues.lock() else {
                return;
            };
            let q = queues.entry(tenant.to_string()).or_default();
            q.outcomes.push(outcome);
            if q.writing {
                return;
            }
            q.writing = true;
        }
        // Ends the writer's turn if `write` panics, so the queue is not left without
        // a writer (the next outcome queued starts a new one).
        struct Turn<'a>(&'a Recorder, &'a str, bool);
        impl Drop for Turn<'_> {
            fn drop(&mut self) {
                if self.2 {
                    return;
                }
                if let Ok(mut queues) = self.0.queues.lock()
                    && let Some(q) = queues.get_mut(self.1)
                {
                    q.writing = false;
                }
            }
        }
        let mut turn = Turn(self, tenant, false);
        loop {
            let batch: Vec<Outcome> = {
                let Ok(mut queues) = self.queues.lock() else {
                    return;
                };
                let Some(q) = queues.get_mut(tenant) else {
                    return;
                };
                if q.outcomes.is_empty() {
                    // Under the lock that queues outcomes: none can be queued between
                    // this check and the end of the turn.
                    queues.remove(tenant);
                    turn.2 = true;
                    return;
                }
                let n = q.outcomes.len().min(Self::BATCH);
                q.outcomes.drain(..n).collect()
            };
            write(tenant, &batch);
        }
    }
}

/// The `webhook-signature` value at `now`: `v1,<sig>` with the endpoint's secret,
/// followed, during a rotation's overlap, by ` v1,<sig>` with the previous one
/// (Standard Webhooks: several space-separated signatures, any one may match).
fn signatures(
    key: &[u8; 32],
    endpoint: &WebhookEndpoint,
    now_ms: i64,
    sign: impl Fn(&[u8]) -> String,
) -> HostResult<String> {
    let generation = endpoint.secret_generation;
    let secret = sign::unseal(key, &endpoint.id, generation, &endpoint.secret_sealed)?;
    let mut value = sign(&secret);
    if let (Some(previous), Some(until)) = (
        &endpoint.previous_secret_sealed,
        endpoint.previous_secret_until_ms,
    ) && now_ms < until
        && generation > 0
    {
        let old = sign::unseal(key, &endpoint.id, generation - 1, previous)?;
        value.push(' ');
        value.push_str(&sign(&old));
    }
    Ok(value)
}

/// RFC 3339 text of a time in ms since the epoch (empty when out of range).
pub fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The body of a delivery, the same for every attempt:
/// `{"type": topic, "timestamp": RFC 3339 of the event, "data": payload}`.
pub fn payload(event: &EventRecord) -> Vec<u8> {
    let data: serde_json::Value =
        serde_json::from_str(&event.payload).unwrap_or(serde_json::Value::Null);
    let timestamp = rfc3339_ms(event.created_at_ms);
    serde_json::to_vec(&serde_json::json!({
        "type": event.topic,
        "timestamp": timestamp,
        "data": data,
    }))
    .unwrap_or_default()
}

impl TenantAdmin<'_> {
    /// [`Host::webhook_add`] for a principal holding `webhooks.manage` in the tenant.
    pub fn webhook_add(&self, url: &str, topics: &[String]) -> HostResult<AddedWebhook> {
        let host = self.check(WEBHOOKS_MANAGE)?;
        host.webhook_add_by(self.tenant, url, topics, &self.principal.actor())
    }

    /// [`Host::webhook_list`] for a principal holding `webhooks.manage` in the tenant.
    pub fn webhook_list(&self) -> HostResult<Vec<WebhookEndpoint>> {
        let host = self.check(WEBHOOKS_MANAGE)?;
        host.webhook_list(self.tenant)
    }

    /// [`Host::webhook_remove`] for a principal holding `webhooks.manage` in the tenant.
    pub fn webhook_remove(&self, id: &str) -> HostResult<()> {
        let host = self.check(WEBHOOKS_MANAGE)?;
        host.webhook_remove_by(self.tenant, id, &self.principal.actor())
    }

    /// [`Host::webhook_rotate`] for a principal holding `webhooks.manage` in the tenant.
    pub fn webhook_rotate(&self, id: &str, overlap: Duration) -> HostResult<RotatedWebhook> {
        let host = self.check(WEBHOOKS_MANAGE)?;
        host.webhook_rotate_by(self.tenant, id, overlap, &self.principal.actor())
    }

    /// [`Host::webhook_log`] for a principal holding `webhooks.manage` in the tenant.
    pub fn webhook_log(
        &self,
        endpoint: Option<&str>,
        state: Option<&str>,
        limit: u32,
    ) -> HostResult<Vec<WebhookDelivery>> {
        let host = self.check(WEBHOOKS_MANAGE)?;
        host.webhook_log(self.tenant, endpoint, state, limit)
    }

    /// [`Host::webhook_replay`] for a principal holding `webhooks.manage` in the tenant.
    pub fn webhook_replay(&self, id: i64) -> HostResult<()> {
        self.resend(id, &REPLAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_four_and_is_capped() {
        let p = WebhookPolicy::default();
        let secs: Vec<u64> = (1..=8).map(|n| p.backoff_after(n).as_secs()).collect();
        assert_eq!(secs, [5, 20, 80, 320, 1280, 5120, 20480, 21600]);
    }

    #[test]
    fn topic_patterns_are_checked() {
        assert!(check_topics(&["ledger.entry-posted".into(), "a.*".into(), "*".into()]).is_ok());
        for bad in ["", "a b", ".a", "a.", "a*", "*.a"] {
            assert!(check_topics(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(check_topics(&[]).is_err());
    }
}
