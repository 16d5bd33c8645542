//! Talking to the services: one HTTP client pool per source, a response cache shared by all
//! requests, and the per-request loader that batches and deduplicates calls.

pub mod coalesce;
pub mod error;
pub mod loader;
pub mod project;
pub mod request;
pub mod resilience;
pub mod shared;

use std::{
    collections::BTreeMap,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use moka::{Expiry, future::Cache};
use reqwest::header::CACHE_CONTROL;
use serde_json::Value;

pub use error::FetchError;
pub use loader::{LoadKey, RestLoader};
pub use request::PreparedRequest;

use tracing::Instrument;

use resilience::{CircuitState, Guard};
use shared::SharedCache;

use crate::{
    model::{SourceName, SourceSpec},
    observe::{CallOutcome, CallReport, Observer, RequestStats, Unobserved},
};

/// A source's settings, its own connection pool and its guards.
#[derive(Debug)]
struct SourceClient {
    spec: SourceSpec,
    client: reqwest::Client,
    guard: Guard,
}

/// A cached response: the body, how long it is fresh, how much longer it may stand in
/// for a failing service, and the memory it holds in bytes.
#[derive(Debug, Clone)]
struct Cached {
    body: Arc<Value>,
    ttl: Duration,
    stale_for: Duration,
    fresh_until: Instant,
    bytes: u32,
}

impl Cached {
    fn is_fresh(&self) -> bool {
        Instant::now() < self.fresh_until
    }
}

/// The heap memory a parsed JSON value holds, about: a parsed body takes several times
/// its text, so weighing cache entries by their text let the cache hold several times
/// its configured bound.
fn heap_bytes(value: &Value) -> usize {
    const VALUE: usize = std::mem::size_of::<Value>();
    // A B-tree map entry: its key, its value and its share of a node's bookkeeping.
    const ENTRY: usize = std::mem::size_of::<String>() + VALUE + 16;
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => s.capacity(),
        Value::Array(items) => {
            items.capacity() * VALUE + items.iter().map(heap_bytes).sum::<usize>()
        }
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| ENTRY + key.capacity() + heap_bytes(value))
            .sum(),
    }
}

struct TimeToLive;

impl Expiry<PreparedRequest, Cached> for TimeToLive {
    fn expire_after_create(
        &self,
        _: &PreparedRequest,
        value: &Cached,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl + value.stale_for)
    }
}

/// Failures a stale answer may cover: the service is down, slow or shedding load. An
/// answer it gave (a 4xx, a body) is not covered.
fn may_serve_stale(error: &FetchError) -> bool {
    match error {
        FetchError::Timeout { .. }
        | FetchError::Unavailable { .. }
        | FetchError::CircuitOpen { .. }
        | FetchError::Overloaded { .. } => true,
        FetchError::Status { status, .. } => *status >= 500,
        FetchError::BadResponse { .. } | FetchError::Request { .. } => false,
    }
}

/// Executes upstream calls for every request of one schema version.
pub struct Fetcher {
    sources: BTreeMap<SourceName, SourceClient>,
    cache: Cache<PreparedRequest, Cached>,
    /// Set once by the host before serving; until then reports go nowhere.
    observer: Arc<OnceLock<Arc<dyn Observer>>>,
    /// The second-level cache, when the host attaches one.
    shared: OnceLock<Arc<dyn SharedCache>>,
    /// Loads of concurrent requests gathered into shared calls (sources that coalesce).
    pub(crate) coalescer: coalesce::Coalescer,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("sources", &self.sources.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Fetcher {
    /// One client per source; `cache_bytes` bounds the memory the response cache holds.
    pub fn new(
        sources: &BTreeMap<SourceName, SourceSpec>,
        cache_bytes: u64,
    ) -> Result<Fetcher, reqwest::Error> {
        let mut clients = BTreeMap::new();
        for (name, spec) in sources {
            let client = reqwest::Client::builder()
                .timeout(spec.timeout)
                .connect_timeout(spec.policy.connect_timeout.min(spec.timeout))
                .pool_idle_timeout(Duration::from_secs(60))
                .tcp_nodelay(true)
                .build()?;
            clients.insert(
                name.clone(),
                SourceClient {
                    spec: spec.clone(),
                    client,
                    guard: Guard::new(&spec.policy),
                },
            );
        }
        let observer: Arc<OnceLock<Arc<dyn Observer>>> = Arc::default();
        let evictions = observer.clone();
        let cache = Cache::builder()
            .max_capacity(cache_bytes)
            .weigher(|_, cached: &Cached| cached.bytes)
            .expire_after(TimeToLive)
            .eviction_listener(move |_, _, cause| {
                if cause == moka::notification::RemovalCause::Size
                    && let Some(observer) = evictions.get()
                {
                    observer.cache_eviction();
                }
            })
            .build();
        Ok(Fetcher {
            sources: clients,
            cache,
            observer,
            shared: OnceLock::new(),
            coalescer: coalesce::Coalescer::default(),
        })
    }

    /// Attaches a second-level cache; the first one stays.
    pub fn share(&self, cache: Arc<dyn SharedCache>) {
        let _ = self.shared.set(cache);
    }

    /// Where the observer is (or will be) attached, for the parts of the engine that report
    /// beside the fetcher (the event stream hub).
    pub(crate) fn observer_slot(&self) -> Arc<OnceLock<Arc<dyn Observer>>> {
        self.observer.clone()
    }

    /// Attaches the observer; the first one stays.
    pub fn observe(&self, observer: Arc<dyn Observer>) {
        let _ = self.observer.set(observer);
    }

    pub fn observer(&self) -> &dyn Observer {
        match self.observer.get() {
            Some(observer) => observer.as_ref(),
            None => &Unobserved,
        }
    }

    /// Each source's circuit state, by name.
    pub fn circuits(&self) -> Vec<(&SourceName, CircuitState)> {
        self.sources
            .iter()
            .map(|(name, client)| (name, client.guard.state()))
            .collect()
    }

    /// The memory the response cache holds now (estimated bytes).
    pub async fn cache_bytes(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.weighted_size()
    }

    pub fn source(&self, name: &SourceName) -> Option<&SourceSpec> {
        self.sources.get(name).map(|s| &s.spec)
    }

    /// Whether calls to `source` coalesce across requests (see [`coalesce`]).
    pub fn coalesces(&self, source: &SourceName) -> bool {
        self.sources
            .get(source)
            .is_some_and(|s| s.spec.policy.coalesce)
    }

    /// Runs a call, through the cache for GETs: a fresh cached body is returned as is.
    /// `stats` counts the calls that reach the service.
    pub async fn fetch(
        &self,
        request: &PreparedRequest,
        stats: &RequestStats,
    ) -> Result<Arc<Value>, FetchError> {
        self.fetch_keeping(request, None, stats).await
    }

    /// Like [`Fetcher::fetch`]; an answer that will not be cached keeps only the object
    /// keys in `keep` (see [`project`]). A cached answer is whole: other queries read it.
    pub async fn fetch_keeping(
        &self,
        request: &PreparedRequest,
        keep: Option<&project::KeySet>,
        stats: &RequestStats,
    ) -> Result<Arc<Value>, FetchError> {
        if !request.is_cacheable_method() {
            return self
                .send(request, keep, stats)
                .await
                .map(|cached| cached.body);
        }
        let held = self.cache.get(request).await;
        if let Some(held) = held.as_ref().filter(|held| held.is_fresh()) {
            self.observer().cache_lookup(true);
            return Ok(held.body.clone());
        }
        self.observer().cache_lookup(false);
        if let Some(stale) = held {
            // Stale, kept for stale-if-error: refresh it, and fall back to it if the
            // service fails.
            return match self.send(request, None, stats).await {
                Ok(fetched) => {
                    if !fetched.ttl.is_zero() {
                        self.cache.insert(request.clone(), fetched.clone()).await;
                    }
                    Ok(fetched.body)
                }
                Err(error) if may_serve_stale(&error) => {
                    tracing::warn!(source = request.source.as_str(), %error, "serving a stale answer");
                    stats.served_stale(request.source.as_str());
                    Ok(stale.body)
                }
                Err(error) => Err(error),
            };
        }
        if request.max_age.is_some() {
            // The schema says this answer keeps: concurrent misses for the same key make
            // one upstream call (or one look in the shared cache).
            return self
                .cache
                .try_get_with_by_ref(request, self.send_shared(request, stats))
                .await
                .map(|cached| cached.body)
                .map_err(|error| error.as_ref().clone());
        }
        // Without a hint only the service's own Cache-Control can make the answer keep.
        // Most answers do not, and entering them in the cache only to expire them at once
        // cost a sixth of the gateway's CPU on the n-plus-one benchmark.
        let fetched = self.send(request, keep, stats).await?;
        if !fetched.ttl.is_zero() {
            self.cache.insert(request.clone(), fetched.clone()).await;
        }
        Ok(fetched.body)
    }

    /// A cacheable call: from the shared cache when it holds the answer, else from the
    /// service, the answer then shared.
    async fn send_shared(
        &self,
        request: &PreparedRequest,
        stats: &RequestStats,
    ) -> Result<Cached, FetchError> {
        let Some(shared) = self.shared.get() else {
            return self.send(request, None, stats).await;
        };
        let key = shared::key(request);
        if let Some((bytes, ttl)) = shared.get(&key).await
            && let Ok(body) = serde_json::from_slice::<Value>(&bytes)
        {
            let stale_for = self
                .sources
                .get(&request.source)
                .map_or(Duration::ZERO, |c| c.spec.policy.stale_if_error);
            return Ok(Cached {
                bytes: u32::try_from(heap_bytes(&body) + request.path_and_query.len() + 128)
                    .unwrap_or(u32::MAX),
                body: Arc::new(body),
                ttl,
                stale_for,
                fresh_until: Instant::now() + ttl,
            });
        }
        let fetched = self.send(request, None, stats).await?;
        if !fetched.ttl.is_zero()
            && let Ok(bytes) = serde_json::to_vec(&*fetched.body)
        {
            // Written in the background: the caller does not wait for Redis.
            let shared = shared.clone();
            let ttl = fetched.ttl;
            tokio::spawn(async move { shared.put(key, bytes, ttl).await });
        }
        Ok(fetched)
    }

    /// A call to the service through its guards: the concurrency limit, the circuit
    /// breaker, and retries of idempotent calls within the retry budget.
    async fn send(
        &self,
        request: &PreparedRequest,
        keep: Option<&project::KeySet>,
        stats: &RequestStats,
    ) -> Result<Cached, FetchError> {
        let source = &request.source;
        let client = self
            .sources
            .get(source)
            .ok_or_else(|| FetchError::Request {
                service: source.clone(),
                reason: "unknown source".into(),
            })?;
        let guard = &client.guard;
        let _slot = guard.admit(source)?;
        let idempotent = matches!(
            request.method,
            reqwest::Method::GET
                | reqwest::Method::HEAD
                | reqwest::Method::PUT
                | reqwest::Method::DELETE
        );
        let mut attempt = 0;
        loop {
            guard.permits(source)?;
            let result = self.attempt(client, request, keep, stats, attempt).await;
            guard.record(&result);
            match result {
                Err(error) if idempotent && guard.retry(&error, attempt) => {
                    self.observer().retry(source.as_str());
                    attempt += 1;
                    tokio::time::sleep(guard.backoff(attempt)).await;
                }
                result => return result,
            }
        }
    }

    /// One attempt, in its own span (OpenTelemetry's HTTP client conventions).
    async fn attempt(
        &self,
        client: &SourceClient,
        request: &PreparedRequest,
        keep: Option<&project::KeySet>,
        stats: &RequestStats,
        attempt: u32,
    ) -> Result<Cached, FetchError> {
        stats.count_call();
        let span = tracing::info_span!(
            "upstream",
            otel.name = %format_args!("{} {}", request.method, request.route),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            http.request.method = %request.method,
            url.template = %request.route,
            http.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            switchyard.source = request.source.as_str(),
            switchyard.cache = if request.is_cacheable_method() { "miss" } else { "bypass" },
            switchyard.retries = attempt,
        );
        let started = std::time::Instant::now();
        let result = self
            .send_in(client, request, keep)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok((status, _)) => CallOutcome::Status(*status),
            Err(FetchError::Status { status, .. }) => CallOutcome::Status(*status),
            Err(FetchError::Timeout { .. }) => CallOutcome::Timeout,
            Err(FetchError::BadResponse { .. }) => CallOutcome::Status(200),
            Err(_) => CallOutcome::Unavailable,
        };
        match outcome {
            CallOutcome::Status(status) => {
                span.record("http.response.status_code", status);
                if status >= 500 {
                    span.record("otel.status_code", "ERROR");
                    span.record("error.type", status.to_string());
                }
            }
            CallOutcome::Timeout | CallOutcome::Unavailable => {
                span.record("otel.status_code", "ERROR");
                span.record(
                    "error.type",
                    if outcome == CallOutcome::Timeout {
                        "timeout"
                    } else {
                        "unavailable"
                    },
                );
            }
        }
        self.observer().upstream_call(&CallReport {
            source: request.source.as_str(),
            method: &request.method,
            route: &request.route,
            outcome,
            duration: started.elapsed(),
        });
        result.map(|(_, cached)| cached)
    }

    async fn send_in(
        &self,
        client: &SourceClient,
        request: &PreparedRequest,
        keep: Option<&project::KeySet>,
    ) -> Result<(u16, Cached), FetchError> {
        let source = &request.source;
        let url = format!("{}{}", client.spec.url, request.path_and_query);
        let mut builder = client
            .client
            .request(request.method.clone(), &url)
            .header("accept", "application/json");
        for (name, value) in &client.spec.headers {
            builder = builder.header(name, value);
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &request.headers {
            headers.append(name, value.clone());
        }
        // The trace context of this call's span replaces any the client sent along.
        self.observer().inject_trace(&mut headers);
        builder = builder.headers(headers);
        if let Some(body) = &request.body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        let started = std::time::Instant::now();
        let response = builder
            .send()
            .await
            .map_err(|error| classify(source, &error))?;
        let status = response.status();
        let control = request::CacheControl::parse(
            response
                .headers()
                .get(CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
        );
        let limit = client.spec.policy.max_response_bytes;
        let too_large = || FetchError::BadResponse {
            service: source.clone(),
            reason: "the body is too large".into(),
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        // Read in chunks, so an endless body is cut at the limit instead of filling memory.
        let mut response = response;
        let mut bytes =
            Vec::with_capacity(response.content_length().map_or(8 * 1024, |n| n as usize));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| classify(source, &error))?
        {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        tracing::debug!(
            source = source.as_str(),
            method = %request.method,
            status = status.as_u16(),
            bytes = bytes.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "upstream call"
        );
        if status == reqwest::StatusCode::NOT_FOUND && request.method == reqwest::Method::GET {
            // A missing record is a null field, not an error.
            return Ok((
                404,
                Cached {
                    body: Arc::new(Value::Null),
                    ttl: Duration::ZERO,
                    stale_for: Duration::ZERO,
                    fresh_until: Instant::now(),
                    bytes: 0,
                },
            ));
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                service: source.clone(),
                status: status.as_u16(),
            });
        }
        let ttl = request::time_to_live(request, control);
        let parsed = match keep {
            _ if bytes.is_empty() => Ok(Value::Null),
            Some(keep) if ttl.is_zero() => project::parse(&bytes, keep),
            _ => serde_json::from_slice(&bytes),
        };
        let body = parsed.map_err(|_| FetchError::BadResponse {
            service: source.clone(),
            reason: "the body is not JSON".into(),
        })?;
        // Weighed only when it will be kept.
        let held = if ttl.is_zero() {
            0
        } else {
            // The body, the key, and the entry's own bookkeeping.
            heap_bytes(&body) + request.path_and_query.len() + 128
        };
        Ok((
            status.as_u16(),
            Cached {
                body: Arc::new(body),
                ttl,
                stale_for: if ttl.is_zero() {
                    Duration::ZERO
                } else {
                    client.spec.policy.stale_if_error
                },
                fresh_until: Instant::now() + ttl,
                bytes: u32::try_from(held).unwrap_or(u32::MAX),
            },
        ))
    }

    /// Entries in the response cache (after pending evictions).
    pub async fn cache_entries(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }
}

fn classify(source: &SourceName, error: &reqwest::Error) -> FetchError {
    if error.is_timeout() {
        FetchError::Timeout {
            service: source.clone(),
        }
    } else if error.is_decode() || error.is_body() {
        FetchError::BadResponse {
            service: source.clone(),
            reason: "the body was cut off".into(),
        }
    } else {
        FetchError::Unavailable {
            service: source.clone(),
        }
    }
}
