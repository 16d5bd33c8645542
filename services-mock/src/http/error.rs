//! The services' one error type: every failure is a JSON body `{"error": {...}}` with a
//! stable code, so clients (the gateway) can tell a missing record from bad input.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::data::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter, path segment or body that does not parse or is out of range.
    #[error("invalid `{parameter}`: {message}")]
    BadRequest {
        parameter: &'static str,
        message: String,
    },
    #[error("{resource} {id} not found")]
    NotFound { resource: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
}

impl ApiError {
    pub fn bad(parameter: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            parameter,
            message: message.into(),
        }
    }

    pub fn not_found(resource: &'static str, id: impl ToString) -> Self {
        ApiError::NotFound {
            resource,
            id: id.to_string(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            // A body that names a record that does not exist is a bad body, not a bad URL.
            StoreError::Missing { .. } => ApiError::Unprocessable(error.to_string()),
            StoreError::Invalid(message) => ApiError::Unprocessable(message),
            StoreError::Conflict(message) => ApiError::Conflict(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let (status, body) = match &self {
            ApiError::BadRequest { parameter, .. } => (
                StatusCode::BAD_REQUEST,
                json!({"code": "BAD_REQUEST", "parameter": parameter, "message": message}),
            ),
            ApiError::NotFound { .. } => (
                StatusCode::NOT_FOUND,
                json!({"code": "NOT_FOUND", "message": message}),
            ),
            ApiError::Conflict(_) => (
                StatusCode::CONFLICT,
                json!({"code": "CONFLICT", "message": message}),
            ),
            ApiError::Unprocessable(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"code": "UNPROCESSABLE", "message": message}),
            ),
        };
        (status, Json(json!({ "error": body }))).into_response()
    }
}

/// The JSON 404 for paths no route matches.
pub async fn no_route() -> ApiError {
    ApiError::NotFound {
        resource: "route",
        id: "for this path".into(),
    }
}
