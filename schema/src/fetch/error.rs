//! Why an upstream call failed, as clients see it: a stable code and the service's name,
//! never the URL or the service's own error body.

use crate::model::SourceName;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{service} timed out")]
    Timeout { service: SourceName },
    #[error("{service} is unavailable")]
    Unavailable { service: SourceName },
    #[error("{service} answered HTTP {status}")]
    Status { service: SourceName, status: u16 },
    #[error("{service} sent a response that is not valid: {reason}")]
    BadResponse { service: SourceName, reason: String },
    #[error("cannot build the request to {service}: {reason}")]
    Request { service: SourceName, reason: String },
    #[error("{service} is failing: calls to it are paused for a moment")]
    CircuitOpen { service: SourceName },
    #[error("{service} has too many calls in flight")]
    Overloaded { service: SourceName },
}

impl FetchError {
    /// The stable `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Timeout { .. } => "UPSTREAM_TIMEOUT",
            FetchError::Unavailable { .. } => "UPSTREAM_UNAVAILABLE",
            FetchError::Status { .. } => "UPSTREAM_ERROR",
            FetchError::BadResponse { .. } => "UPSTREAM_BAD_RESPONSE",
            FetchError::Request { .. } => "BAD_REQUEST",
            FetchError::CircuitOpen { .. } => "CIRCUIT_OPEN",
            FetchError::Overloaded { .. } => "UPSTREAM_OVERLOADED",
        }
    }

    pub fn service(&self) -> &SourceName {
        match self {
            FetchError::Timeout { service }
            | FetchError::Unavailable { service }
            | FetchError::Status { service, .. }
            | FetchError::BadResponse { service, .. }
            | FetchError::Request { service, .. }
            | FetchError::CircuitOpen { service }
            | FetchError::Overloaded { service } => service,
        }
    }

    /// The upstream HTTP status, for `UPSTREAM_ERROR`.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
