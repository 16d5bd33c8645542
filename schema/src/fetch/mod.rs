//! Talking to the services: one HTTP client pool per source, a response cache shared by all
//! requests, and the per-request loader that batches and deduplicates calls.

pub mod error;
pub mod loader;
pub mod project;
pub mod request;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use moka::{Expiry, future::Cache};
use reqwest::header::CACHE_CONTROL;
use serde_json::Value;

pub use error::FetchError;
pub use loader::{LoadKey, RestLoader};
pub use request::PreparedRequest;

use crate::model::{SourceName, SourceSpec};

/// The largest upstream response body accepted, in bytes.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// A source's settings and its own connection pool.
#[derive(Debug)]
struct SourceClient {
    spec: SourceSpec,
    client: reqwest::Client,
}

/// A cached response: the body, how long it lives, and the memory it holds in bytes.
#[derive(Debug, Clone)]
struct Cached {
    body: Arc<Value>,
    ttl: Duration,
    bytes: u32,
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
        Some(value.ttl)
    }
}

/// Executes upstream calls for every request of one schema version.
pub struct Fetcher {
    sources: BTreeMap<SourceName, SourceClient>,
    cache: Cache<PreparedRequest, Cached>,
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
                .connect_timeout(spec.timeout.min(Duration::from_secs(5)))
                .pool_idle_timeout(Duration::from_secs(60))
                .tcp_nodelay(true)
                .build()?;
            clients.insert(
                name.clone(),
                SourceClient {
                    spec: spec.clone(),
                    client,
                },
            );
        }
        let cache = Cache::builder()
            .max_capacity(cache_bytes)
            .weigher(|_, cached: &Cached| cached.bytes)
            .expire_after(TimeToLive)
            .build();
        Ok(Fetcher {
            sources: clients,
            cache,
        })
    }

    pub fn source(&self, name: &SourceName) -> Option<&SourceSpec> {
        self.sources.get(name).map(|s| &s.spec)
    }

    /// Runs a call, through the cache for GETs: a fresh cached body is returned as is.
    pub async fn fetch(&self, request: &PreparedRequest) -> Result<Arc<Value>, FetchError> {
        self.fetch_keeping(request, None).await
    }

    /// Like [`Fetcher::fetch`]; an answer that will not be cached keeps only the object
    /// keys in `keep` (see [`project`]). A cached answer is whole: other queries read it.
    pub async fn fetch_keeping(
        &self,
        request: &PreparedRequest,
        keep: Option<&project::KeySet>,
    ) -> Result<Arc<Value>, FetchError> {
        if !request.is_cacheable_method() {
            return self.send(request, keep).await.map(|cached| cached.body);
        }
        if request.max_age.is_some() {
            // The schema says this answer keeps: concurrent misses for the same key make
            // one upstream call.
            return self
                .cache
                .try_get_with_by_ref(request, self.send(request, None))
                .await
                .map(|cached| cached.body)
                .map_err(|error| error.as_ref().clone());
        }
        // Without a hint only the service's own Cache-Control can make the answer keep.
        // Most answers do not, and entering them in the cache only to expire them at once
        // cost a sixth of the gateway's CPU on the n-plus-one benchmark.
        if let Some(hit) = self.cache.get(request).await {
            return Ok(hit.body);
        }
        let fetched = self.send(request, keep).await?;
        if !fetched.ttl.is_zero() {
            self.cache.insert(request.clone(), fetched.clone()).await;
        }
        Ok(fetched.body)
    }

    async fn send(
        &self,
        request: &PreparedRequest,
        keep: Option<&project::KeySet>,
    ) -> Result<Cached, FetchError> {
        let source = &request.source;
        let client = self
            .sources
            .get(source)
            .ok_or_else(|| FetchError::Request {
                service: source.clone(),
                reason: "unknown source".into(),
            })?;
        let url = format!("{}{}", client.spec.url, request.path_and_query);
        let mut builder = client
            .client
            .request(request.method.clone(), &url)
            .header("accept", "application/json");
        for (name, value) in &client.spec.headers {
            builder = builder.header(name, value);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
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
        let bytes = response
            .bytes()
            .await
            .map_err(|error| classify(source, &error))?;
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
            return Ok(Cached {
                body: Arc::new(Value::Null),
                ttl: Duration::ZERO,
                bytes: 0,
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                service: source.clone(),
                status: status.as_u16(),
            });
        }
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(FetchError::BadResponse {
                service: source.clone(),
                reason: "the body is too large".into(),
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
        Ok(Cached {
            body: Arc::new(body),
            ttl,
            bytes: u32::try_from(held).unwrap_or(u32::MAX),
        })
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
