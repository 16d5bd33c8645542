//! One log event per request, carrying the caller's W3C trace context so a request can be
//! followed from the gateway into the service.

use std::time::Instant;

use axum::{
    extract::{Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};

use crate::ServiceKind;

/// The `traceparent` header when it has the W3C shape (`00-<32 hex>-<16 hex>-<2 hex>`).
/// Anything else is ignored rather than echoed into logs.
pub fn traceparent(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("traceparent")?.to_str().ok()?;
    let parts: Vec<&str> = value.split('-').collect();
    let well_formed = parts.len() == 4
        && [2, 32, 16, 2]
            .iter()
            .zip(&parts)
            .all(|(len, part)| part.len() == *len && part.bytes().all(|b| b.is_ascii_hexdigit()));
    well_formed.then_some(value)
}

pub async fn log_request(
    State(service): State<ServiceKind>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let traceparent = traceparent(request.headers()).map(str::to_owned);
    let response = next.run(request).await;
    let trace_id = traceparent
        .as_deref()
        .and_then(|t| t.split('-').nth(1))
        .unwrap_or("");
    tracing::info!(
        service = service.name(),
        %method,
        path,
        status = response.status().as_u16(),
        trace_id,
        traceparent = traceparent.as_deref().unwrap_or(""),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
