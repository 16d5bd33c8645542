//! `/graphql`: GraphQL over HTTP (POST JSON, GET for queries, batches) and GraphiQL for
//! browsers. Each request gets a span (continuing the caller's trace), an access log
//! line and its metrics.

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    sync::{Arc, PoisonError, RwLock},
    time::Instant,
};

use async_graphql::BatchResponse;
use async_graphql_axum::GraphQLResponse;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use switchyard_schema::{
    Engine,
    observe::{Operation, RequestStats},
};
use tracing::Instrument;

use super::{
    graphiql, live,
    reject::unauthorized,
    request::{self, RequestRules},
};
use crate::{
    auth::Authenticator,
    ratelimit::{Decision, RateLimitSlot},
    telemetry::{Metrics, metrics::RequestLabels, otel},
};

/// What a request is served with; a reload replaces it as a whole.
pub struct Version {
    pub engine: Arc<Engine>,
    pub auth: Arc<Authenticator>,
    pub rules: Arc<RequestRules>,
    pub graphiql: bool,
    /// Put in GraphiQL's headers editor (`switchyard demo` only).
    pub demo_token: Option<String>,
}

/// The version serving new requests. Each request holds the version it started with, so a
/// swap never changes the schema under a request in flight.
#[derive(Clone)]
pub struct Current(Arc<RwLock<Arc<Version>>>);

impl Current {
    pub fn new(version: Version) -> Current {
        Current(Arc::new(RwLock::new(Arc::new(version))))
    }

    pub fn get(&self) -> Arc<Version> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn replace(&self, version: Version) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(version);
    }
}

/// What the GraphQL handlers share.
#[derive(Clone)]
pub struct GraphqlState {
    pub current: Current,
    pub metrics: Arc<Metrics>,
    /// Open subscriptions (WebSocket, server-sent events).
    pub live: Arc<super::live::Live>,
    /// What a reload builds the next version with.
    pub runtime: crate::Runtime,
}

/// True for a browser navigating to the page (it asks for HTML), not a GraphQL client.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The caller's `x-request-id` when it is a sane token, else a new one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()))
}

pub async fn graphql(State(state): State<GraphqlState>, request: Request) -> Response {
    let version = state.current.get();
    if request.method() == Method::GET && wants_html(request.headers()) && version.graphiql {
        return graphiql::page(version.demo_token.as_deref());
    }
    if state.live.config.enabled && live::socket::is_upgrade(request.headers()) {
        let (parts, _) = request.into_parts();
        return live::socket::upgrade(state, parts).await;
    }
    let id = request_id(request.headers());
    let span = tracing::info_span!(
        "graphql request",
        otel.name = %format_args!("{} /graphql", request.method()),
        otel.kind = "server",
        http.request.method = %request.method(),
        url.path = "/graphql",
        http.response.status_code = tracing::field::Empty,
        request_id = %id,
    );
    otel::continue_trace(&span, request.headers());
    let _in_flight = state.metrics.in_flight();
    let mut response = serve(&state, &version, request, &id)
        .instrument(span.clone())
        .await;
    span.record("http.response.status_code", response.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// What one request was, for its log line and metrics.
struct Served {
    status: StatusCode,
    /// The answer was an identical request's, executing at the time (deduplication).
    shared: bool,
    operation: Option<Operation>,
    outcome: &'static str,
    codes: BTreeSet<String>,
    client: String,
    upstream_calls: u32,
}

impl Served {
    /// A request refused before it reached the engine.
    fn refused(response: &Response, outcome: &'static str, code: &str, client: String) -> Served {
        Served {
            status: response.status(),
            shared: false,
            operation: None,
            outcome,
            codes: BTreeSet::from([code.to_owned()]),
            client,
            upstream_calls: 0,
        }
    }
}

async fn serve(state: &GraphqlState, version: &Version, request: Request, id: &str) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let anonymous_client = || peer.map(|ip| ip.to_string()).unwrap_or_default();
    let batch = match request::read(
        &version.rules,
        &parts.method,
        &parts.uri,
        &parts.headers,
        body,
    )
    .await
    {
        Ok(batch) => batch,
        Err(rejection) => {
            state.metrics.limit_rejected(rejection.code());
            let response = rejection.clone().into_response();
            let refused =
                Served::refused(&response, "rejected", rejection.code(), anonymous_client());
            finish(state, id, started, refused);
            return response;
        }
    };
    let stream = state.live.config.enabled && live::events::wants_events(&parts.headers);
    let caller = match version.auth.caller(parts.headers).await {
        Ok(caller) => caller.with_peer(peer),
        Err(error) => {
            state.metrics.auth_failed(error.reason());
            let response = unauthorized(&error);
            let refused = Served::refused(
                &response,
                "unauthenticated",
                "UNAUTHENTICATED",
                anonymous_client(),
            );
            finish(state, id, started, refused);
            return response;
        }
    };
    // Who, for the log: the token's subject, else the address. Never the token.
    let client = caller
        .claims
        .as_ref()
        .and_then(|claims| claims.get("sub"))
        .and_then(|sub| sub.as_str())
        .map(|sub| format!("sub:{sub}"))
        .unwrap_or_else(anonymous_client);
    if stream {
        return match batch {
            async_graphql::BatchRequest::Single(request) => {
                live::events::respond(state, request, caller)
            }
            async_graphql::BatchRequest::Batch(_) => {
                let response = (
                    StatusCode::BAD_REQUEST,
                    "an event stream carries one operation, not a batch",
                )
                    .into_response();
                let refused = Served::refused(&response, "rejected", "BATCH_OVER_STREAM", client);
                finish(state, id, started, refused);
                response
            }
        };
    }
    let limits = Arc::new(RateLimitSlot::default());
    let stats = Arc::new(RequestStats::default());
    let batch = batch.data(limits.clone());
    let answer = version
        .engine
        .execute_batch(batch, caller, stats.clone())
        .await;

    let codes = error_codes(&answer);
    for code in &codes {
        if is_limit_code(code) {
            state.metrics.limit_rejected(code);
        }
    }
    let refused = is_rate_limited(&answer);
    if refused && let Some(class) = limits.class() {
        state.metrics.rate_limited(&class);
    }
    let outcome = outcome(&answer, refused, &codes);
    let mut response = GraphQLResponse::from(answer).into_response();
    if let Some(decision) = limits.decision() {
        rate_limit_headers(&mut response, &decision);
        if refused {
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        }
    }
    finish(
        state,
        id,
        started,
        Served {
            status: response.status(),
            operation: stats.operation(),
            outcome,
            codes,
            client,
            upstream_calls: stats.upstream_calls(),
            shared: stats.was_shared(),
        },
    );
    response
}

/// The access log line and the request metrics.
fn finish(state: &GraphqlState, id: &str, started: Instant, served: Served) {
    let elapsed = started.elapsed();
    let (name, kind) = match &served.operation {
        Some(op) => (op.name.as_deref(), op.kind),
        None => (None, "unknown"),
    };
    let labels = RequestLabels {
        operation_name: state.metrics.operation_label(name),
        operation_type: kind.to_owned(),
        outcome: served.outcome.to_owned(),
    };
    state.metrics.request(&labels, elapsed);
    if served.shared {
        state.metrics.deduplicated();
    }
    if !tracing::enabled!(target: "switchyard::access", tracing::Level::INFO) {
        return;
    }
    let codes: Vec<&str> = served.codes.iter().map(String::as_str).collect();
    tracing::info!(
        target: "switchyard::access",
        request_id = id,
        operation = name.unwrap_or("-"),
        operation_type = kind,
        client = %served.client,
        status = served.status.as_u16(),
        outcome = served.outcome,
        error_codes = %codes.join(","),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        upstream_calls = served.upstream_calls,
        shared = served.shared,
        "request"
    );
}

fn responses(answer: &BatchResponse) -> Vec<&async_graphql::Response> {
    match answer {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(all) => all.iter().collect(),
    }
}

/// The distinct `extensions.code`s of the answer's errors.
fn error_codes(answer: &BatchResponse) -> BTreeSet<String> {
    responses(answer)
        .into_iter()
        .flat_map(|r| r.errors.iter())
        .filter_map(|e| match e.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(code) => Some(code.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn is_limit_code(code: &str) -> bool {
    matches!(
        code,
        "QUERY_TOO_LARGE"
            | "TOO_MANY_TOKENS"
            | "QUERY_TOO_DEEP"
            | "QUERY_TOO_COSTLY"
            | "TOO_MANY_ALIASES"
            | "TOO_MANY_ROOT_FIELDS"
    )
}

/// `ok`, `partial` (data and errors), `error` (no data), `rejected` (a limit),
/// `rate_limited`.
fn outcome(answer: &BatchResponse, refused: bool, codes: &BTreeSet<String>) -> &'static str {
    if refused {
        return "rate_limited";
    }
    if codes.iter().any(|code| is_limit_code(code)) {
        return "rejected";
    }
    let all = responses(answer);
    if all.iter().all(|r| r.errors.is_empty()) {
        "ok"
    } else if all.iter().any(|r| r.data != async_graphql::Value::Null) {
        "partial"
    } else {
        "error"
    }
}

/// True when the request (every operation of a batch) was refused by the rate limiter.
fn is_rate_limited(answer: &BatchResponse) -> bool {
    responses(answer).iter().all(|r| {
        r.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|code| *code == async_graphql::Value::from("RATE_LIMITED"))
        })
    })
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
