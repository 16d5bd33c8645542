//! The GraphiQL explorer: a page and its script, served with headers that keep the page
//! from being framed, sniffed or made to run injected script.

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

/// Scripts only from us and the CDN the page loads GraphiQL from; no inline script, no
/// framing, requests only to this gateway.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
     script-src 'self' https://unpkg.com; \
     style-src 'self' 'unsafe-inline' https://unpkg.com; \
     font-src 'self' data: https://unpkg.com; \
     img-src 'self' data:; \
     connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ] {
        headers.insert(name, value);
    }
    response
}

/// The page, for `GET /graphql` from a browser.
pub fn page() -> Response {
    secured(axum::response::Html(include_str!("graphiql.html")).into_response())
}

/// `GET /graphiql.js`.
pub async fn script() -> Response {
    secured(
        (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            include_str!("graphiql.js"),
        )
            .into_response(),
    )
}
