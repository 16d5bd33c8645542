//! GraphQL over server-sent events, the `graphql-sse` protocol's distinct connections mode:
//! a request with `Accept: text/event-stream` gets one `next` event per result and a
//! `complete` event at the end, on a stream of its own.

use std::convert::Infallible;

use axum::{
    http::{HeaderMap, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
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
                .take_while(|item| *item != "application/json" && *item != "application/graphql-response+json")
                .any(|item| item.eq_ignore_ascii_case("text/event-stream"))
        })
}

/// Streams one operation's results to the client.
pub fn respond(state: &GraphqlState, request: async_graphql::Request, caller: Caller) -> Response {
    let results = run(state, request, caller, "sse").map(|response| {
        let event = Event::default().event("next");
        Ok::<_, Infallible>(
            event
                .json_data(&response)
                .unwrap_or_else(|_| Event::default().event("next").data("{}")),
        )
    });
    let complete = futures_util::stream::once(async {
        Ok::<_, Infallible>(Event::default().event("complete").data(""))
    });
    let mut response = Sse::new(results.chain(complete))
        .keep_alive(KeepAlive::new().interval(state.live.config.keepalive))
        .into_response();
    // Proxies must pass events on as they come.
    response
        .headers_mut()
        .insert("x-accel-buffering", header::HeaderValue::from_static("no"));
    response
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
        assert!(wants_events(&accept("text/event-stream; charset=utf-8, */*")));
        assert!(!wants_events(&accept("application/json, text/event-stream")));
        assert!(!wants_events(&accept("application/json")));
        assert!(!wants_events(&HeaderMap::new()));
    }
}
