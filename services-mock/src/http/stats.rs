//! Request counters (`GET /__stats`, `POST /__stats/reset`): tests read them to prove what
//! the gateway sent, such as one batched call instead of fifty single ones.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    Json,
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use serde::Serialize;

/// How many recent `traceparent` headers `/__stats` keeps.
const RECENT_TRACEPARENTS: usize = 64;

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    /// Requests counted since start or the last reset.
    pub total: u64,
    /// Requests per route, keyed `METHOD /path/{template}`.
    pub routes: BTreeMap<String, u64>,
    /// The latest W3C `traceparent` headers received, oldest first.
    pub recent_traceparents: VecDeque<String>,
    /// Event streams open now (a gauge: a reset leaves it as it is).
    pub open_streams: u64,
}

/// The counters of one service.
#[derive(Debug, Default)]
pub struct RequestStats {
    inner: Mutex<StatsSnapshot>,
}

impl RequestStats {
    fn lock(&self) -> MutexGuard<'_, StatsSnapshot> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, route: String, traceparent: Option<String>) {
        let mut stats = self.lock();
        stats.total += 1;
        *stats.routes.entry(route).or_default() += 1;
        if let Some(traceparent) = traceparent {
            if stats.recent_traceparents.len() == RECENT_TRACEPARENTS {
                stats.recent_traceparents.pop_front();
            }
            stats.recent_traceparents.push_back(traceparent);
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        self.lock().clone()
    }

    pub fn reset(&self) {
        let mut stats = self.lock();
        *stats = StatsSnapshot {
            open_streams: stats.open_streams,
            ..StatsSnapshot::default()
        };
    }

    /// Counts an event stream as open until the returned guard drops.
    pub fn stream_opened(self: &Arc<Self>) -> OpenStream {
        self.lock().open_streams += 1;
        OpenStream(self.clone())
    }
}

/// An open event stream, counted in [`StatsSnapshot::open_streams`] while it lives.
#[derive(Debug)]
pub struct OpenStream(Arc<RequestStats>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut stats = self.0.lock();
        stats.open_streams = stats.open_streams.saturating_sub(1);
    }
}

/// True for the paths that serve tests and operators rather than clients: they are neither
/// counted nor subject to faults.
pub fn is_control_path(path: &str) -> bool {
    path.starts_with("/__") || path == "/health"
}

/// Middleware: counts every client request by method and route template.
pub async fn count_requests(
    State(stats): State<Arc<RequestStats>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_control_path(request.uri().path()) {
        let route = match request.extensions().get::<MatchedPath>() {
            Some(matched) => format!("{} {}", request.method(), matched.as_str()),
            None => format!("{} <unmatched>", request.method()),
        };
        let traceparent = super::access_log::traceparent(request.headers()).map(str::to_owned);
        stats.record(route, traceparent);
    }
    next.run(request).await
}

pub async fn get_stats(State(stats): State<Arc<RequestStats>>) -> Json<StatsSnapshot> {
    Json(stats.snapshot())
}

pub async fn reset_stats(State(stats): State<Arc<RequestStats>>) -> Json<StatsSnapshot> {
    stats.reset();
    Json(stats.snapshot())
}
