//! The host's clock: business time of calls and the scheduler's notion of "now".
//!
//! Production uses [`SystemClock`]; tests hand the host a [`TestClock`] and move time
//! with [`TestClock::advance`] instead of sleeping, then run what is due with
//! `Host::run_due` (backoffice-host).

use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

/// Where the host reads the time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Now, UTC.
    fn now(&self) -> OffsetDateTime;

    /// Now as milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64 {
        i64::try_from(self.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct TestClock {
    now: Mutex<OffsetDateTime>,
}

impl TestClock {
    /// A clock showing `start`.
    pub fn at(start: OffsetDateTime) -> Self {
        TestClock {
            now: Mutex::new(start),
        }
    }

    /// A clock showing `rfc3339`, such as `2026-03-29T00:30:00Z`.
    ///
    /// # Panics
    /// When the text is not RFC 3339: it is written in a test.
    #[allow(clippy::expect_used, reason = "test helper, the text is a literal")]
    pub fn at_rfc3339(rfc3339: &str) -> Self {
        let t = OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
            .expect("an RFC 3339 time");
        Self::at(t)
    }

    /// Show `t` from now on.
    pub fn set(&self, t: OffsetDateTime) {
        if let Ok(mut now) = self.now.lock() {
            *now = t;
        }
    }

    /// Move forward by `by`.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        self.now
            .lock()
            .map(|t| *t)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// RFC 3339 text of milliseconds since the epoch.
pub fn rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}
