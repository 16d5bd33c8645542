//! The GraphiQL explorer, served from assets built into the binary (bundled from the
//! `graphiql` npm package by `gateway/graphiql`, no CDN), with headers that keep the page
//! from being framed, sniffed, or made to run injected script.

use axum::{
    http::{HeaderValue, header},
    response::{Html, IntoResponse, Response},
};

/// Scripts and styles only from the gateway itself (GraphiQL's editors set inline
/// styles), fonts and images inline, requests only to this gateway, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
     script-src 'self'; \
     style-src 'self' 'unsafe-inline'; \
     font-src 'self' data:; \
     img-src 'self' data:; \
     connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const PAGE: &str = include_str!("graphiql.html");
const SCRIPT: &[u8] = include_bytes!("assets/graphiql.js");
const STYLE: &[u8] = include_bytes!("assets/graphiql.css");
const PAGE_STYLE: &str = include_str!("graphiql-page.css");

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

/// The page, for `GET /graphql` from a browser. `demo_token` (in `switchyard demo`) is put
/// in the headers editor.
pub fn page(demo_token: Option<&str>) -> Response {
    let page = match demo_token {
        // A JWT is base64url and dots: nothing in it can close the attribute.
        Some(token)
            if token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
        {
            PAGE.replace(
                "<!--TOKEN-->",
                &format!("<meta name=\"switchyard-demo-token\" content=\"{token}\">"),
            )
        }
        _ => PAGE.to_owned(),
    };
    secured(Html(page).into_response())
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    secured(
        (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            body,
        )
            .into_response(),
    )
}

/// `GET /graphiql.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /graphiql.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// `GET /graphiql-page.css`: the page's own layout.
pub async fn page_style() -> Response {
    asset("text/css; charset=utf-8", PAGE_STYLE.as_bytes())
}
