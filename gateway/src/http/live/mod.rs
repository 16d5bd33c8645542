//! Subscriptions on `/graphql`: GraphQL over WebSocket ([`socket`], `graphql-transport-ws`)
//! and over server-sent events ([`events`], `graphql-sse` distinct connections). Both run
//! an operation through [`Live::run`]: per-client and total caps, the engine's stream (auth
//! and rate limit apply at subscribe), a clean end on gateway shutdown, an access log line
//! and metrics when it ends.

pub mod events;
pub mod socket;

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use async_graphql::{ErrorExtensionValues, Response, ServerError};
use futures_util::{StreamExt, stream::BoxStream};
use switchyard_schema::{Caller, observe::RequestStats};
use tokio::sync::watch;

use super::{GraphqlState, graphql::is_limit_code};
use crate::{
    config::{CorsConfig, SubscriptionsConfig},
    ratelimit::RateLimitSlot,
    telemetry::metrics::RequestLabels,
};

/// The gateway's open subscriptions: how many each client holds, and the signal that ends
/// them all at shutdown.
pub struct Live {
    pub config: SubscriptionsConfig,
    /// `[cors] allow_origins`: pages of these origins may open a WebSocket, beside the
    /// gateway's own.
    pub cors_origins: Vec<String>,
    /// `[cors] allow_credentials`: whether such a page's cookies count.
    pub cors_credentials: bool,
    open: Mutex<Open>,
    closing: watch::Sender<bool>,
    /// WebSocket connections open now: a shutdown waits for their close frames to go out.
    sockets: watch::Sender<usize>,
}

/// Counts a WebSocket connection open while it lives.
pub struct OpenSocket(watch::Sender<usize>);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.send_modify(|open| *open = open.saturating_sub(1));
    }
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<String, usize>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why a subscription was refused before it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    ClientCap(usize),
    TotalCap,
    ShuttingDown,
}

impl Refusal {
    fn into_error(self) -> ServerError {
        let (message, code) = match self {
            Refusal::ClientCap(cap) => (
                format!("too many subscriptions: a client may hold {cap} at once"),
                "TOO_MANY_SUBSCRIPTIONS",
            ),
            Refusal::TotalCap => (
                "the gateway holds as many subscriptions as it may; retry later".to_owned(),
                "TOO_MANY_SUBSCRIPTIONS",
            ),
            Refusal::ShuttingDown => (
                "the gateway is shutting down; reconnect".to_owned(),
                "SHUTTING_DOWN",
            ),
        };
        let mut error = ServerError::new(message, None);
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", code);
        error.extensions = Some(extensions);
        error
    }
}

/// A subscription's place under the caps, given back when it drops.
struct Slot {
    live: Arc<Live>,
    client: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.live.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

impl Live {
    pub fn new(config: SubscriptionsConfig, cors: &CorsConfig) -> Live {
        Live {
            config,
            cors_origins: cors.allow_origins.clone(),
            cors_credentials: cors.allow_credentials,
            open: Mutex::default(),
            closing: watch::channel(false).0,
            sockets: watch::channel(0).0,
        }
    }

    fn socket_opened(&self) -> OpenSocket {
        self.sockets.send_modify(|open| *open += 1);
        OpenSocket(self.sockets.clone())
    }

    /// Resolves when no WebSocket connection is open.
    pub async fn sockets_closed(&self) {
        let mut sockets = self.sockets.subscribe();
        let _ = sockets.wait_for(|open| *open == 0).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn admit(self: &Arc<Self>, client: &str) -> Result<Slot, Refusal> {
        if *self.closing.borrow() {
            return Err(Refusal::ShuttingDown);
        }
        let mut open = self.lock();
        if open.total >= self.config.max_total {
            return Err(Refusal::TotalCap);
        }
        let count = open.by_client.entry(client.to_owned()).or_default();
        if *count >= self.config.max_per_client {
            return Err(Refusal::ClientCap(self.config.max_per_client));
        }
        *count += 1;
        open.total += 1;
        Ok(Slot {
            live: self.clone(),
            client: client.to_owned(),
        })
    }

    /// Ends every subscription (each client is told it is complete) and refuses new ones:
    /// the gateway is shutting down.
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Live::close_all`] was called.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|closing| *closing).await;
        }
    }

    /// Subscriptions open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }
}

/// Who the caps count a caller as: the token's subject, else the connection's address.
fn client_of(caller: &Caller) -> String {
    caller
        .claims
        .as_ref()
        .and_then(|claims| claims.get("sub"))
        .and_then(|sub| sub.as_str())
        .map(|sub| format!("sub:{sub}"))
        .or_else(|| caller.peer.map(|ip| ip.to_string()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Runs one operation as a stream of responses (a subscription's events; a query's or a
/// mutation's single answer), for `caller`, over transport `transport` (for the log).
pub fn run(
    state: &GraphqlState,
    request: async_graphql::Request,
    caller: Caller,
    transport: &'static str,
) -> BoxStream<'static, Response> {
    let client = client_of(&caller);
    let slot = match state.live.admit(&client) {
        Ok(slot) => slot,
        Err(refusal) => {
            state.metrics.request(
                &RequestLabels {
                    operation_name: "anonymous".to_owned(),
                    operation_type: "unknown".to_owned(),
                    outcome: "rejected".to_owned(),
                },
                std::time::Duration::ZERO,
            );
            tracing::info!(target: "switchyard::access", client, transport, refusal = ?refusal, "subscription refused");
            let response = Response::from_errors(vec![refusal.into_error()]);
            return futures_util::stream::once(async move { response }).boxed();
        }
    };
    let version = state.current.get();
    let stats = Arc::new(RequestStats::default());
    let limits = Arc::new(RateLimitSlot::default());
    let request = request.data(limits.clone());
    let stream = version
        .engine
        .execute_stream(request, caller, stats.clone());
    let ended = Ended {
        state: state.clone(),
        stats,
        limits,
        client,
        transport,
        started: Instant::now(),
        events: 0,
        failed: 0,
        codes: BTreeSet::new(),
        _gauge: state.metrics.subscription_guard(),
        _slot: slot,
    };
    stream
        .take_until(state.live.closed())
        .scan(ended, |ended, response| {
            ended.record(&response);
            futures_util::future::ready(Some(response))
        })
        .boxed()
}

/// Logs and counts a subscription when it ends, however it ends (complete, client gone,
/// shutdown).
struct Ended {
    state: GraphqlState,
    stats: Arc<RequestStats>,
    limits: Arc<RateLimitSlot>,
    client: String,
    transport: &'static str,
    started: Instant,
    /// Results sent, and how many of them carried errors, with their codes.
    events: u64,
    failed: u64,
    codes: BTreeSet<String>,
    _gauge: crate::telemetry::metrics::Tracked,
    _slot: Slot,
}

impl Ended {
    fn record(&mut self, response: &Response) {
        self.events += 1;
        if response.errors.is_empty() {
            return;
        }
        self.failed += 1;
        self.codes.extend(response.errors.iter().filter_map(|e| {
            match e.extensions.as_ref()?.get("code")? {
                async_graphql::Value::String(code) => Some(code.clone()),
                _ => None,
            }
        }));
    }

    /// As for a request: `rate_limited`, `rejected` (a query limit), `ok` (no errors),
    /// `partial` (some results with errors), `error` (every result had errors).
    fn outcome(&self) -> &'static str {
        if self.codes.contains("RATE_LIMITED") {
            "rate_limited"
        } else if self.codes.iter().any(|code| is_limit_code(code)) {
            "rejected"
        } else if self.failed == 0 {
            "ok"
        } else if self.failed < self.events {
            "partial"
        } else {
            "error"
        }
    }
}

impl Drop for Ended {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let operation = self.stats.operation();
        let (name, kind) = match &operation {
            Some(op) => (op.name.as_deref(), op.kind),
            None => (None, "unknown"),
        };
        let outcome = self.outcome();
        let metrics = &self.state.metrics;
        metrics.request(
            &RequestLabels {
                operation_name: metrics.operation_label(name),
                operation_type: kind.to_owned(),
                outcome: outcome.to_owned(),
            },
            elapsed,
        );
        if outcome == "rate_limited"
            && let Some(class) = self.limits.class()
        {
            metrics.rate_limited(&class);
        }
        let codes: Vec<&str> = self.codes.iter().map(String::as_str).collect();
        tracing::info!(
            target: "switchyard::access",
            operation = name.unwrap_or("-"),
            operation_type = kind,
            client = %self.client,
            transport = self.transport,
            outcome,
            error_codes = %codes.join(","),
            events = self.events,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            upstream_calls = self.stats.upstream_calls(),
            "stream ended"
        );
    }
}
