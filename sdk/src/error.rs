//! The [`Error`] type shared by operations and host calls.

use std::fmt;

use crate::__private::bindings::backoffice::host::types::Error as WitError;

/// An expected failure of an operation or of a host call.
///
/// Mirrors the WIT `error` variant case for case. The host maps each case to an
/// HTTP status: 400, 404, 409, 403, 500 and 501. Panics are never expected
/// failures: they trap the component and the host rolls the call back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Error {
    /// The input is malformed or breaks a business rule; the message says how to fix it.
    InvalidInput(String),
    /// A record the call refers to does not exist.
    NotFound(String),
    /// The call conflicts with the current state (duplicate key, stale version, ...).
    Conflict(String),
    /// The caller or the plugin lacks a permission or capability.
    Forbidden(String),
    /// Something went wrong that the caller cannot fix.
    Internal(String),
    /// The host does not offer this feature yet; the message names what is missing.
    Unsupported(String),
}

/// `std::result::Result` with [`Error`] as its error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidInput`] with `msg`.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidInput(msg.into())
    }

    /// An [`Error::NotFound`] with `msg`.
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }

    /// An [`Error::Conflict`] with `msg`.
    pub fn conflict(msg: impl Into<String>) -> Self {
        Error::Conflict(msg.into())
    }

    /// An [`Error::Forbidden`] with `msg`.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Error::Forbidden(msg.into())
    }

    /// An [`Error::Internal`] with `msg`.
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }

    /// An [`Error::Unsupported`] with `msg`.
    pub fn unsupported(msg: impl Into<String>) -> Self {
        Error::Unsupported(msg.into())
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidInput(m)
            | Error::NotFound(m)
            | Error::Conflict(m)
            | Error::Forbidden(m)
            | Error::Internal(m)
            | Error::Unsupported(m) => m,
        }
    }

    /// The kind as the WIT case name: `invalid-input`, `not-found`, `conflict`,
    /// `forbidden`, `internal` or `unsupported`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid-input",
            Error::NotFound(_) => "not-found",
            Error::Conflict(_) => "conflict",
            Error::Forbidden(_) => "forbidden",
            Error::Internal(_) => "internal",
            Error::Unsupported(_) => "unsupported",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for Error {}

/// A JSON (de)serialisation failure is a malformed input.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::InvalidInput(e.to_string())
    }
}

// `From` both ways between [`Error`] and the WIT `error` variant, which
// `backoffice:payroll` and `backoffice:compliance` share with `backoffice:host`.
impl From<WitError> for Error {
    fn from(e: WitError) -> Self {
        type W = WitError;
        match e {
            W::InvalidInput(m) => Error::InvalidInput(m),
            W::NotFound(m) => Error::NotFound(m),
            W::Conflict(m) => Error::Conflict(m),
            W::Forbidden(m) => Error::Forbidden(m),
            W::Internal(m) => Error::Internal(m),
            W::Unsupported(m) => Error::Unsupported(m),
        }
    }
}

impl From<Error> for WitError {
    fn from(e: Error) -> Self {
        type W = WitError;
        match e {
            Error::InvalidInput(m) => W::InvalidInput(m),
            Error::NotFound(m) => W::NotFound(m),
            Error::Conflict(m) => W::Conflict(m),
            Error::Forbidden(m) => W::Forbidden(m),
            Error::Internal(m) => W::Internal(m),
            Error::Unsupported(m) => W::Unsupported(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_and_display() {
        assert_eq!(Error::invalid("x"), Error::InvalidInput("x".into()));
        assert_eq!(Error::not_found("x"), Error::NotFound("x".into()));
        assert_eq!(Error::conflict("x"), Error::Conflict("x".into()));
        assert_eq!(Error::forbidden("x"), Error::Forbidden("x".into()));
        assert_eq!(Error::internal("x"), Error::Internal("x".into()));
        assert_eq!(Error::unsupported("x"), Error::Unsupported("x".into()));
        assert_eq!(Error::conflict("dup").to_string(), "conflict: dup");
        assert_eq!(Error::invalid("bad").message(), "bad");
        assert_eq!(Error::not_found("").kind(), "not-found");
    }

    #[test]
    fn serde_errors_are_invalid_input() {
        let e: Error = serde_json::from_str::<u32>("\"x\"").unwrap_err().into();
        assert!(matches!(e, Error::InvalidInput(m) if m.contains("invalid type")));
    }

    #[test]
    fn wit_round_trip() {
        for e in [
            Error::invalid("a"),
            Error::not_found("b"),
            Error::conflict("c"),
            Error::forbidden("d"),
            Error::internal("e"),
            Error::unsupported("f"),
        ] {
            let w: WitError = e.clone().into();
            assert_eq!(Error::from(w), e);
        }
    }
}
