//! Metrics for operators, in the OpenMetrics text format Prometheus scrapes
//! (`GET /metrics`, see `docs/admin-guide.md`, "Metrics").
//!
//! Counters and histograms live in one process-wide registry, as in every Prometheus
//! client: the API's middleware (`track` in `backoffice-api`) records requests through
//! [`record_request`], the SQLite store records
//! the size of each group commit. Gauges (the instance pool, the queues of durable
//! work, the audit queue) are read from the host when a scrape asks ([`render`]), so
//! nothing is counted twice and nothing drifts.
//!
//! Label values come from a bounded set: the route pattern (not the path), the status
//! code, and a plugin and operation only for calls the host answered as that plugin's
//! (not 401, 403, 404, 405 or 429, whose path may name anything), at most
//! [`MAX_OPERATIONS`] pairs; further pairs are counted under `_other`.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::Host;
use crate::error::{HostError, HostResult};

/// The route of plugin calls, whose plugin and operation become labels.
pub const CALL_ROUTE: &str = "/v1/tenants/{tenant}/plugins/{plugin}/{operation}";

/// Distinct (plugin, operation) label pairs kept; beyond them, `_other`.
pub const MAX_OPERATIONS: usize = 1_000;

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    plugin: String,
    operation: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    route: String,
    plugin: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InPlaceLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    resource: String,
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    commit_batch: Histogram,
    /// `answered` and `handed-on` of `calls_in_place`.
    in_place: [Counter; 2],
    queue: Family<QueueLabels, Gauge>,
    pool_in_use: Family<PoolLabels, Gauge>,
    pool_capacity: Family<PoolLabels, Gauge>,
    audit_queue: Gauge,
    operations: Mutex<HashSet<(String, String)>>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to 30 s: a cached read answers in about a millisecond, a pay run in tens
    // of seconds.
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("backoffice");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP requests answered, by route pattern, plugin, operation and status",
        requests.clone(),
    );
    let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(
        latency_histogram,
    );
    registry.register(
        "http_request_duration_seconds",
        "Time from a request's arrival to its response's headers",
        latency.clone(),
    );
    let commit_batch = Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]);
    registry.register(
        "commit_batch_writers",
        "Writing calls made durable by one SQLite commit (group commit; PostgreSQL commits each call alone)",
        commit_batch.clone(),
    );
    let in_place = Family::<InPlaceLabels, Counter>::default();
    registry.register(
        "calls_in_place",
        "Plugin calls tried on the async worker that received them: answered there, or \
         handed to the blocking pool (a write, a wait, a failure, past the budget)",
        in_place.clone(),
    );
    let in_place = ["answered", "handed-on"].map(|outcome| {
        in_place
            .get_or_create(&InPlaceLabels {
                outcome: outcome.into(),
            })
            .clone()
    });
    let queue = Family::<QueueLabels, Gauge>::default();
    registry.register(
        "work_queue",
        "Durable work waiting, over all tenants: jobs due, running or dead-lettered, \
         events not yet fanned out, event and webhook deliveries pending or dead",
        queue.clone(),
    );
    let pool_in_use = Family::<PoolLabels, Gauge>::default();
    registry.register(
        "instance_pool_in_use",
        "Slots of the instance pool in use",
        pool_in_use.clone(),
    );
    let pool_capacity = Family::<PoolLabels, Gauge>::default();
    registry.register(
        "instance_pool_capacity",
        "Slots of the instance pool",
        pool_capacity.clone(),
    );
    let audit_queue = Gauge::default();
    registry.register(
        "audit_queue",
        "Audit links waiting to be written",
        audit_queue.clone(),
    );
    Metrics {
        registry,
        requests,
        latency,
        commit_batch,
        in_place,
        queue,
        pool_in_use,
        pool_capacity,
        audit_queue,
        operations: Mutex::new(HashSet::new()),
    }
});

/// Record one commit that made `writers` writing calls durable.
pub(crate) fn commit_batch(writers: usize) {
    METRICS.commit_batch.observe(writers as f64);
}

/// Record one call tried in place: `answered` there, or handed to the pool.
#[doc(hidden)]
pub fn in_place(answered: bool) {
    METRICS.in_place[usize::from(!answered)].inc();
}

/// The plugin and operation labels of a request to `route` (its pattern) at `path`
/// answered `status`: empty unless it is an answered plugin call ([`CALL_ROUTE`]), and
/// `_other` past [`MAX_OPERATIONS`] distinct pairs.
pub fn operation_labels(route: &str, path: &str, status: u16) -> (String, String) {
    if route != CALL_ROUTE || matches!(status, 401 | 403 | 404 | 405 | 429) {
        return (String::new(), String::new());
    }
    // /v1/tenants/{tenant}/plugins/{plugin}/{operation}
    let mut parts = path.trim_start_matches('/').split('/').skip(4);
    let (Some(plugin), Some(operation)) = (parts.next(), parts.next()) else {
        return (String::new(), String::new());
    };
    let pair = (plugin.to_string(), operation.to_string());
    let Ok(mut seen) = METRICS.operations.lock() else {
        return ("_other".into(), "_other".into());
    };
    if seen.contains(&pair) || seen.len() < MAX_OPERATIONS {
        seen.insert(pair.clone());
        pair
    } else {
        ("_other".into(), "_other".into())
    }
}

/// Record one request to `route` (its pattern, or `unmatched`) labelled `plugin` and
/// `operation` (see [`operation_labels`]), answered `status` after `seconds`.
pub fn record_request(route: String, plugin: String, operation: String, status: u16, seconds: f64) {
    METRICS
        .latency
        .get_or_create(&LatencyLabels {
            route: route.clone(),
            plugin: plugin.clone(),
            operation: operation.clone(),
        })
        .observe(seconds);
    METRICS
        .requests
        .get_or_create(&RequestLabels {
            route,
            plugin,
            operation,
            status: status.to_string(),
        })
        .inc();
}

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Read the gauges from `host` and encode every metric.
pub fn render(host: &Host) -> HostResult<String> {
    let m = &*METRICS;
    let now = host.clock.now_ms();
    let depth = host.storage.begin_read()?.work_depth(now)?;
    for (queue, state, value) in [
        ("jobs", "due", depth.jobs_due),
        ("jobs", "running", depth.jobs_running),
        ("jobs", "failed", depth.jobs_failed),
        ("events", "unfanned", depth.events_unfanned),
        ("deliveries", "pending", depth.deliveries_pending),
        ("deliveries", "dead", depth.deliveries_dead),
        ("webhooks", "pending", depth.webhooks_pending),
        ("webhooks", "dead", depth.webhooks_dead),
        ("http", "pending", depth.http_pending),
        ("http", "dead", depth.http_dead),
    ] {
        m.queue
            .get_or_create(&QueueLabels {
                queue: queue.into(),
                state: state.into(),
            })
            .set(gauge(value));
    }
    let runtime = host.runtime();
    let slots = runtime.limits().max_instances as u64;
    if let Some(pool) = runtime.engine().pooling_allocator_metrics() {
        for (resource, in_use, capacity) in [
            ("component_instances", pool.component_instances(), slots),
            (
                "memories",
                pool.memories() as u64,
                crate::runtime::memory_slots(slots),
            ),
            (
                "unused_warm_memories",
                u64::from(pool.unused_warm_memories()),
                0,
            ),
        ] {
            let labels = PoolLabels {
                resource: resource.into(),
            };
            m.pool_in_use.get_or_create(&labels).set(gauge(in_use));
            if capacity > 0 {
                m.pool_capacity.get_or_create(&labels).set(gauge(capacity));
            }
        }
    }
    m.audit_queue.set(gauge(host.audit_queue.depth()));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &m.registry)
        .map_err(|e| HostError::Internal(format!("encoding the metrics: {e}")))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answered_calls_name_their_operation() {
        let path = "/v1/tenants/acme/plugins/ledger/post-entry";
        assert_eq!(
            operation_labels(CALL_ROUTE, path, 200),
            ("ledger".to_string(), "post-entry".to_string())
        );
        assert_eq!(
            operation_labels(CALL_ROUTE, path, 400),
            ("ledger".to_string(), "post-entry".to_string())
        );
        for status in [401, 403, 404, 405, 429] {
            assert_eq!(
                operation_labels(CALL_ROUTE, path, status),
                (String::new(), String::new())
            );
        }
        assert_eq!(
            operation_labels("/v1/me", "/v1/me", 200),
            (String::new(), String::new())
        );
    }
}
