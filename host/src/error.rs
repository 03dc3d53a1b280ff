//! The errors the host reports to people: CLI users and API callers.
//!
//! Each variant knows its process exit code and HTTP status, so the CLI and the API
//! agree on what a failure means.

use crate::package::PackageError;
use crate::runtime::Failure;
use crate::store::StoreError;

/// A failure of a host operation, with a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The request itself is wrong (bad JSON, schema violation, bad id).
    #[error("{0}")]
    InvalidInput(String),
    /// Something named does not exist (tenant, plugin, operation).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this, or the plugin is not enabled for the tenant.
    #[error("{0}")]
    Forbidden(String),
    /// A plugin package was refused.
    #[error("{0}")]
    Package(#[from] PackageError),
    /// A plugin call failed; names the plugin, its version and what it was doing.
    #[error("plugin {plugin} {version}, {action}: {failure}")]
    Call {
        /// Plugin id.
        plugin: String,
        /// Plugin version.
        version: String,
        /// `operation 'x'`, `migration`, ...
        action: String,
        /// What happened.
        failure: Failure,
    },
    /// No valid credentials were presented (missing, malformed, unknown, expired or
    /// revoked token, wrong password).
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed attempts; retry after the given number of seconds.
    #[error("{reason}; try again in {retry_after_secs} s")]
    RateLimited {
        /// What was refused and why.
        reason: String,
        /// Seconds until the next attempt is considered.
        retry_after_secs: u64,
    },
    /// The host is at capacity for this kind of work (checking passwords); retry
    /// after the given number of seconds.
    #[error("the host is busy checking other passwords; try again in {retry_after_secs} s")]
    Busy {
        /// Seconds to wait before trying again.
        retry_after_secs: u64,
    },
    /// A stored record failed an integrity check (the audit chain).
    #[error("{0}")]
    Integrity(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// A host-side failure that is not the caller's doing.
    #[error("{0}")]
    Internal(String),
}

impl HostError {
    /// Process exit code for the CLI: 2 bad input, 3 not found, 4 conflict,
    /// 5 forbidden or unauthenticated, 6 plugin failure, 7 integrity check failed,
    /// 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match (self.code(), self) {
            ("invalid-input", _) => 2,
            ("not-found", _) => 3,
            ("conflict", _) => 4,
            ("forbidden" | "unauthenticated" | "rate-limited", _) => 5,
            // Any other way a plugin's call ends badly, unavailable included.
            (_, HostError::Call { .. }) => 6,
            ("integrity", _) => 7,
            _ => 1,
        }
    }

    /// HTTP status for the API, by [`HostError::code`].
    pub fn http_status(&self) -> u16 {
        match self.code() {
            "invalid-input" => 400,
            "unauthenticated" => 401,
            "forbidden" => 403,
            "not-found" => 404,
            "conflict" => 409,
            "rate-limited" | "quota-exceeded" => 429,
            "unsupported" => 501,
            "unavailable" => 503,
            "deadline-exceeded" => 504,
            // integrity, plugin-failed, internal
            _ => 500,
        }
    }
}

impl HostError {
    /// Stable machine-readable code, the `code` of API problem details and of audit
    /// outcomes.
    pub fn code(&self) -> &'static str {
        use crate::bindings::WitError as W;
        match self {
            HostError::InvalidInput(_) | HostError::Package(_) => "invalid-input",
            HostError::NotFound(_) => "not-found",
            HostError::Conflict(_) | HostError::Storage(StoreError::Conflict(_)) => "conflict",
            HostError::Forbidden(_) => "forbidden",
            HostError::Unauthenticated(_) => "unauthenticated",
            HostError::RateLimited { .. } => "rate-limited",
            HostError::Busy { .. } => "unavailable",
            HostError::Integrity(_) => "integrity",
            HostError::Call { failure, .. } => match failure {
                Failure::Plugin(W::InvalidInput(_)) => "invalid-input",
                Failure::Plugin(W::NotFound(_)) => "not-found",
                Failure::Plugin(W::Conflict(_)) => "conflict",
                Failure::Plugin(W::Forbidden(_)) => "forbidden",
                Failure::Plugin(W::Unsupported(_)) => "unsupported",
                Failure::Deadline(_) => "deadline-exceeded",
                Failure::Quota(_) => "quota-exceeded",
                Failure::Instantiate(_) => "unavailable",
                _ => "plugin-failed",
            },
            HostError::Storage(StoreError::Retry(_)) => "unavailable",
            HostError::Storage(_) | HostError::Internal(_) => "internal",
        }
    }
}

/// An attempt in place that gave up (see `runtime::inline`) ends with this error;
/// it never reaches a caller.
impl From<crate::runtime::inline::GaveUp> for HostError {
    fn from(e: crate::runtime::inline::GaveUp) -> Self {
        HostError::Internal(e.to_string())
    }
}

/// A host error inside a call is a trap; a storage failure stays typed in it (see
/// [`HostFault`](crate::capabilities::HostFault)).
impl crate::capabilities::HostFault for HostError {
    fn into_trap(self) -> wasmtime::Error {
        match self {
            HostError::Storage(e) => e.into_trap(),
            other => wasmtime::Error::msg(other.to_string()),
        }
    }
}

/// Result of a host operation.
pub type HostResult<T> = Result<T, HostError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::WitError as W;

    fn call(failure: Failure) -> HostError {
        HostError::Call {
            plugin: "p".into(),
            version: "1.0.0".into(),
            action: "operation 'x'".into(),
            failure,
        }
    }

    #[test]
    fn each_error_has_one_code_status_and_exit_code() {
        let cases = [
            (HostError::InvalidInput("x".into()), "invalid-input", 400, 2),
            (HostError::NotFound("x".into()), "not-found", 404, 3),
            (HostError::Conflict("x".into()), "conflict", 409, 4),
            (StoreError::Conflict("x".into()).into(), "conflict", 409, 4),
            (HostError::Forbidden("x".into()), "forbidden", 403, 5),
            (
                HostError::Unauthenticated("x".into()),
                "unauthenticated",
                401,
                5,
            ),
            (
                HostError::RateLimited {
                    reason: "x".into(),
                    retry_after_secs: 1,
                },
                "rate-limited",
                429,
                5,
            ),
            (
                HostError::Busy {
                    retry_after_secs: 1,
                },
                "unavailable",
                503,
                1,
            ),
            (StoreError::Retry("x".into()).into(), "unavailable", 503, 1),
            (HostError::Integrity("x".into()), "integrity", 500, 7),
            (HostError::Internal("x".into()), "internal", 500, 1),
            (
                call(Failure::Plugin(W::NotFound("x".into()))),
                "not-found",
                404,
                3,
            ),
            (
                call(Failure::Plugin(W::Forbidden("x".into()))),
                "forbidden",
                403,
                5,
            ),
            (
                call(Failure::Plugin(W::Unsupported("x".into()))),
                "unsupported",
                501,
                6,
            ),
            (
                call(Failure::Deadline(std::time::Duration::from_secs(1))),
                "deadline-exceeded",
                504,
                6,
            ),
            (
                call(Failure::Instantiate("x".into())),
                "unavailable",
                503,
                6,
            ),
            (call(Failure::Trap("x".into())), "plugin-failed", 500, 6),
        ];
        for (error, code, status, exit) in cases {
            assert_eq!(
                (error.code(), error.http_status(), error.exit_code()),
                (code, status, exit),
                "{error:?}"
            );
        }
    }
}
