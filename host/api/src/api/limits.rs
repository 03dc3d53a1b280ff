//! Connection-level protections of the HTTP server: a deadline for request bodies and
//! a per-token rate limit. The header read timeout and the connection cap live in
//! [`super::serve`], on hyper's connection builder and around `accept`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::client::ClientIp;
use super::{ApiError, ApiState};

/// The error a request body gives when its deadline passes before it is complete.
#[derive(Debug)]
pub(super) struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

/// Whether `error` (or anything it was caused by) is a passed body deadline.
pub(super) fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<BodyTimedOut>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// A request body that fails once `deadline` passes, however the bytes trickle in.
///
/// `tower_http::timeout::RequestBodyTimeoutLayer` restarts its timer on every frame,
/// so a client sending one byte a minute never trips it; this deadline covers the
/// whole body.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
                Poll::Pending => Poll::Pending,
            },
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: give every request body `timeout` (from when its headers arrived) to
/// arrive in full; a handler reading it later gets [`BodyTimedOut`], answered 408.
pub(super) async fn body_deadline(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let deadline = Box::pin(tokio::time::sleep(timeout));
    let request = request.map(|inner| Body::new(DeadlineBody { inner, deadline }));
    next.run(request).await
}

/// Most buckets kept at once. Full buckets (idle long enough to refill) are dropped
/// first, since they are the same as new ones; past this bound even partly used ones
/// go, which at worst forgives some clients a little.
const MAX_BUCKETS: usize = 100_000;

/// Token buckets by key: `rate` tokens a second, at most `burst` saved up.
///
/// A small hand-written limiter rather than the `governor` crate: it needs one map
/// behind a mutex and a few lines of arithmetic, and `governor` would add a dozen
/// crates (dashmap, quanta, nonzero_ext, ...) for no behaviour the API needs.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// A limiter of `rate` requests a second with bursts of `burst`; none if `rate`
    /// is 0 (unlimited).
    pub fn new(rate: f64, burst: u32) -> Option<RateLimiter> {
        (rate > 0.0).then(|| RateLimiter {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.rate).min(self.burst)
    }

    /// Seconds until one token is available in a bucket holding `tokens`.
    fn wait_secs(&self, tokens: f64) -> u64 {
        // Saturating float-to-int cast; at least 1 s, since Retry-After counts seconds.
        (((1.0 - tokens) / self.rate).ceil() as u64).max(1)
    }

    /// Take one token from `key`'s bucket (`consume`), or only look whether one is
    /// there; `Err` holds the seconds to wait.
    fn check(&self, key: &str, consume: bool, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let tokens = match buckets.get(key) {
            Some(b) => self.refilled(*b, now),
            None => {
                if !consume {
                    return Ok(());
                }
                if buckets.len() >= MAX_BUCKETS {
                    buckets.retain(|_, b| self.refilled(*b, now) < self.burst);
                    if buckets.len() >= MAX_BUCKETS {
                        tracing::warn!(
                            buckets = buckets.len(),
                            "rate limiter full of active clients; forgetting them all"
                        );
                        buckets.clear();
                    }
                }
                self.burst
            }
        };
        if tokens < 1.0 {
            return Err(self.wait_secs(tokens));
        }
        if consume {
            buckets.insert(
                key.to_string(),
                Bucket {
                    tokens: tokens - 1.0,
                    at: now,
                },
            );
        }
        Ok(())
    }

    /// Charge `key` one token even when none is left (a failed authentication).
    fn charge(&self, key: &str, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let tokens = buckets
            .get(key)
            .map_or(self.burst, |b| self.refilled(*b, now));
        if buckets.len() < MAX_BUCKETS || buckets.contains_key(key) {
            buckets.insert(
                key.to_string(),
                Bucket {
                    tokens: (tokens - 1.0).max(0.0),
                    at: now,
                },
            );
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len())
    }
}

/// The credential a request presents: a bearer token or the console's session
/// cookie, as a digest (the limiter keeps no secrets in memory).
fn credential_key(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let session = || super::console::cookie(headers, super::console::SESSION_COOKIE);
    let credential = bearer.or_else(session)?;
    let digest = Sha256::digest(credential.as_bytes());
    Some(format!("t:{}", hex::encode(&digest[..16])))
}

/// Middleware: the per-token rate limit.
///
/// Requests with a credential (bearer token or console session) are limited per
/// credential, without the cost of authenticating here: a token that does not
/// authenticate is answered 401 by the route and charged to the client address's
/// failure bucket, and once that is empty further credentialed requests from the
/// address are refused, so inventing tokens does not buy fresh buckets. Requests
/// without a credential are limited per client address: the peer's, or behind a
/// declared proxy the one it forwarded (`api/client.rs`).
pub(super) async fn rate_limit(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = state.limiter.as_deref() else {
        return next.run(request).await;
    };
    let client = request
        .extensions()
        .get::<ClientIp>()
        .map_or_else(|| "unknown".to_string(), ClientIp::key);
    let credential = credential_key(request.headers());
    let now = Instant::now();
    let failures = format!("f:{client}");
    let verdict = match &credential {
        Some(key) => limiter
            .check(&failures, false, now)
            .and_then(|()| limiter.check(key, true, now)),
        None => limiter.check(&format!("a:{client}"), true, now),
    };
    if let Err(retry_after) = verdict {
        return ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate-limited",
            detail: format!("too many requests; retry in {retry_after} s"),
            retry_after: Some(retry_after),
        }
        .into_response();
    }
    let response = next.run(request).await;
    if credential.is_some() && response.status() == StatusCode::UNAUTHORIZED {
        limiter.charge(&failures, Instant::now());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_the_rate_and_caps_at_the_burst() {
        let limiter = RateLimiter::new(2.0, 3).unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("k", true, t0), Ok(()));
        }
        assert_eq!(limiter.check("k", true, t0), Err(1));
        assert_eq!(limiter.check("other", true, t0), Ok(()));
        let later = t0 + Duration::from_millis(500);
        assert_eq!(limiter.check("k", true, later), Ok(()));
        assert_eq!(limiter.check("k", true, later), Err(1));
        // Idle long enough, the bucket holds the burst and no more.
        let much_later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.check("k", true, much_later), Ok(()));
        }
        assert!(limiter.check("k", true, much_later).is_err());
        assert!(RateLimiter::new(0.0, 10).is_none());
    }

    #[test]
    fn looking_does_not_consume_and_charging_empties() {
        let limiter = RateLimiter::new(0.5, 2).unwrap();
        let t0 = Instant::now();
        assert_eq!(limiter.check("f", false, t0), Ok(()));
        limiter.charge("f", t0);
        assert_eq!(limiter.check("f", false, t0), Ok(()));
        limiter.charge("f", t0);
        limiter.charge("f", t0);
        assert_eq!(limiter.check("f", false, t0), Err(2));
    }

    #[test]
    fn idle_buckets_are_evicted() {
        let limiter = RateLimiter::new(1000.0, 1).unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_BUCKETS {
            limiter.check(&i.to_string(), true, t0).unwrap();
        }
        assert_eq!(limiter.len(), MAX_BUCKETS);
        // A second later every bucket has refilled: a new key evicts them all.
        limiter
            .check("new", true, t0 + Duration::from_secs(1))
            .unwrap();
        assert_eq!(limiter.len(), 1);
    }
}
