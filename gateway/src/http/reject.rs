//! Request-level refusals: an HTTP status and a GraphQL error body with a stable code, so
//! every client library can show why, and no internal detail leaks.

use async_graphql_axum::GraphQLResponse;
use axum::{
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// A request-level GraphQL error with `extensions`.
pub fn coded_error(message: String, extensions: &[(&str, &str)]) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    let mut values = async_graphql::ErrorExtensionValues::default();
    for (name, value) in extensions {
        values.set(*name, *value);
    }
    error.extensions = Some(values);
    error
}

/// Why a request is refused before it reaches the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the request body is over the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("the request body could not be read")]
    BodyUnreadable,
    #[error("send GraphQL requests as JSON with `content-type: application/json`")]
    UnsupportedMediaType,
    #[error("not a GraphQL request: {0}")]
    BadRequest(String),
    #[error("a batch of {actual} operations is over the limit of {limit}")]
    BatchTooLarge { limit: usize, actual: usize },
    #[error("batched requests are not accepted")]
    BatchRefused,
    #[error(
        "this GET request may come from a cross-site form or link: send it with a `content-type: application/json` or an `x-graphql-preflight: 1` header"
    )]
    CsrfSuspected,
    #[error("mutations are only accepted over POST")]
    MutationOverGet,
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::BodyTooLarge { .. } => "REQUEST_TOO_LARGE",
            Rejection::BodyUnreadable | Rejection::BadRequest(_) => "BAD_REQUEST",
            Rejection::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Rejection::BatchTooLarge { .. } | Rejection::BatchRefused => "BATCH_TOO_LARGE",
            Rejection::CsrfSuspected => "CSRF_SUSPECTED",
            Rejection::MutationOverGet => "METHOD_NOT_ALLOWED",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Rejection::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::MutationOverGet => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = async_graphql::Response::from_errors(vec![coded_error(
            self.to_string(),
            &[("code", self.code())],
        )]);
        let mut response = (self.status(), GraphQLResponse::from(body)).into_response();
        if self == Rejection::MutationOverGet {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

/// Adds `headers` to `response`.
pub fn with_headers(mut response: Response, headers: &[(HeaderName, HeaderValue)]) -> Response {
    for (name, value) in headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// A refused token: HTTP 401, `WWW-Authenticate` (RFC 6750) and a GraphQL error whose
/// `extensions.reason` says why in terms safe to show.
pub fn unauthorized(error: &crate::auth::AuthError) -> Response {
    let body = async_graphql::Response::from_errors(vec![coded_error(
        format!("invalid token: {error}"),
        &[("code", "UNAUTHENTICATED"), ("reason", error.reason())],
    )]);
    let response = (StatusCode::UNAUTHORIZED, GraphQLResponse::from(body)).into_response();
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{error}\"");
    match HeaderValue::from_str(&challenge) {
        Ok(value) => with_headers(response, &[(header::WWW_AUTHENTICATE, value)]),
        Err(_) => response,
    }
}
