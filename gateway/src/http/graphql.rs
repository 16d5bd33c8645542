//! `/graphql`: GraphQL over HTTP (POST JSON, GET for queries, batches) and GraphiQL for
//! browsers.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::BatchResponse;
use async_graphql_axum::GraphQLResponse;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use switchyard_schema::Engine;

use super::{
    graphiql,
    reject::unauthorized,
    request::{self, RequestRules},
};
use crate::{
    auth::Authenticator,
    ratelimit::{Decision, RateLimitSlot},
};

/// What the GraphQL handlers share.
#[derive(Clone)]
pub struct GraphqlState {
    pub engine: Arc<Engine>,
    pub auth: Arc<Authenticator>,
    pub rules: Arc<RequestRules>,
    pub graphiql: bool,
}

/// True for a browser navigating to the page (it asks for HTML), not a GraphQL client.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

pub async fn graphql(State(state): State<GraphqlState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (method, headers) = (&parts.method, &parts.headers);
    if method == Method::GET && wants_html(headers) && state.graphiql {
        return graphiql::page();
    }
    let batch = match request::read(&state.rules, method, &parts.uri, headers, body).await {
        Ok(batch) => batch,
        Err(rejection) => return rejection.into_response(),
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let caller = match state.auth.caller(parts.headers).await {
        Ok(caller) => caller.with_peer(peer),
        Err(error) => {
            tracing::debug!(reason = error.reason(), "token refused");
            return unauthorized(&error);
        }
    };
    let slot = Arc::new(RateLimitSlot::default());
    let batch = batch.data(slot.clone());
    let response = state.engine.execute_batch(batch, caller).await;
    let refused = is_rate_limited(&response);
    let mut response = GraphQLResponse::from(response).into_response();
    if let Some(decision) = slot.decision() {
        rate_limit_headers(&mut response, &decision);
        if refused {
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        }
    }
    response
}

/// True when the request (every operation of a batch) was refused by the rate limiter.
fn is_rate_limited(response: &BatchResponse) -> bool {
    let limited = |r: &async_graphql::Response| {
        r.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|code| *code == async_graphql::Value::from("RATE_LIMITED"))
        })
    };
    match response {
        BatchResponse::Single(r) => limited(r),
        BatchResponse::Batch(all) => all.iter().all(limited),
    }
}

/// `RateLimit-Limit`, `-Remaining`, `-Reset` (seconds), and `Retry-After` on a refusal.
fn rate_limit_headers(response: &mut Response, decision: &Decision) {
    let seconds = |d: std::time::Duration| d.as_secs_f64().ceil() as u64;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: u64| {
        headers.insert(name, HeaderValue::from(value));
    };
    set("ratelimit-limit", u64::from(decision.limit));
    set("ratelimit-remaining", u64::from(decision.remaining));
    set("ratelimit-reset", seconds(decision.reset));
    if let Some(wait) = decision.retry_after {
        set("retry-after", seconds(wait).max(1));
    }
}
