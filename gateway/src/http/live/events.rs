//! GraphQL over server-sent events, the `graphql-sse` protocol's distinct connections mode:
//! a request with `Accept: text/event-stream` gets one `next` event per result and a
//! `complete` event at the end, on a stream of its own.

use std::convert::Infallible;

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, HeaderName, header},
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;
use switchyard_schema::Caller;

use super::run;
use crate::http::GraphqlState;

/// True when the client asks for an event stream (and not JSON first).
pub fn wants_events(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .map(|item| item.split(';').next().unwrap_or("").trim())
                .take_while(|item| {
                    *item != "application/json" && *item != "application/graphql-response+json"
                })
                .any(|item| item.eq_ignore_ascii_case("text/event-stream"))
        })
}

/// Streams one operation's results to the client: `event: next` with each result, then
/// `event: complete`; a comment line keeps an idle stream alive through proxies.
pub fn respond(state: &GraphqlState, request: async_graphql::Request, caller: Caller) -> Response {
    let results = run(state, request, caller, "sse")
        .map(|response| {
            // Serialized JSON holds no raw line break: one data line carries it.
            let json = serde_json::to_string(&response).unwrap_or_else(|_| "{}".to_owned());
            Bytes::from(format!("event: next\ndata: {json}\n\n"))
        })
        // The protocol's end: an empty data line, so that any SSE parser dispatches it.
        .chain(futures_util::stream::once(async {
            Bytes::from_static(b"event: complete\ndata:\n\n")
        }))
        .boxed();
    let mut keepalive = tokio::time::interval(state.live.config.keepalive);
    keepalive.reset();
    let body = futures_util::stream::unfold(
        (results, keepalive),
        |(mut results, mut keepalive)| async move {
            let chunk = tokio::select! {
                chunk = results.next() => chunk?,
                _ = keepalive.tick() => Bytes::from_static(b":\n\n"),
            };
            Some((Ok::<_, Infallible>(chunk), (results, keepalive)))
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            // Proxies must pass events on as they come.
            (HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, value.parse().expect("a header value"));
        headers
    }

    #[test]
    fn event_streams_are_asked_for_by_accept() {
        assert!(wants_events(&accept("text/event-stream")));
        assert!(wants_events(&accept(
            "text/event-stream; charset=utf-8, */*"
        )));
        assert!(!wants_events(&accept(
            "application/json, text/event-stream"
        )));
        assert!(!wants_events(&accept("application/json")));
        assert!(!wants_events(&HeaderMap::new()));
    }
}
