//! Prometheus metrics, one registry per gateway (so two gateways in one process, as in
//! tests, never mix their counts), served as text at `/metrics`.
//!
//! Every label takes values from a bounded set: operation names beyond the first
//! [`MAX_OPERATION_NAMES`] fold into `other`, sources and scopes come from the config,
//! codes and reasons from enums. No query text, no user id is ever a label.

use std::{
    collections::HashSet,
    sync::{Mutex, PoisonError, atomic::AtomicI64},
    time::Duration,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use switchyard_schema::{
    fetch::resilience::CircuitState,
    observe::{CallOutcome, CallReport, Observer},
};

/// Distinct operation names tracked before the rest fold into `other`.
pub const MAX_OPERATION_NAMES: usize = 100;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub operation_name: String,
    pub operation_type: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    source: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

type Seconds = Family<RequestLabels, Histogram, fn() -> Histogram>;
type SourceSeconds = Family<SourceLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

/// The gateway's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Seconds,
    upstream_calls: Family<UpstreamLabels, Counter>,
    upstream_retries: Family<SourceLabels, Counter>,
    upstream_seconds: SourceSeconds,
    batch_sizes: SourceSeconds,
    cache_hits: Counter,
    cache_misses: Counter,
    cache_evictions: Counter,
    cache_bytes: Gauge<i64, AtomicI64>,
    rate_limited: Family<ClassLabels, Counter>,
    limit_rejections: Family<RuleLabels, Counter>,
    auth_failures: Family<ReasonLabels, Counter>,
    in_flight: Gauge<i64, AtomicI64>,
    deduplicated: Counter,
    circuits: Family<SourceLabels, Gauge<i64, AtomicI64>>,
    /// Registered only when a Redis is configured: a 0 would read as an outage.
    redis_up: Gauge<i64, AtomicI64>,
    subscriptions: Gauge<i64, AtomicI64>,
    upstream_streams: Family<SourceLabels, Gauge<i64, AtomicI64>>,
    upstream_stream_reconnects: Family<SourceLabels, Counter>,
    redis_outages: Counter,
    operation_names: Mutex<HashSet<String>>,
}

impl Metrics {
    /// The gateway's metrics; `redis` adds the Redis ones.
    pub fn new(redis: bool) -> Metrics {
        let mut registry = Registry::with_prefix("switchyard");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL operations served, by operation name, type and outcome",
            requests.clone(),
        );
        let request_seconds: Seconds = Family::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL operation",
            request_seconds.clone(),
        );
        let upstream_calls = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "upstream_requests",
            "Calls to the services, by source and HTTP status (or timeout, unavailable)",
            upstream_calls.clone(),
        );
        let upstream_retries = Family::<SourceLabels, Counter>::default();
        registry.register(
            "upstream_retries",
            "Calls to a service tried again after a transient failure",
            upstream_retries.clone(),
        );
        let upstream_seconds: SourceSeconds = Family::new_with_constructor(latency_histogram);
        registry.register(
            "upstream_request_duration_seconds",
            "Time of a call to a service",
            upstream_seconds.clone(),
        );
        let batch_sizes: SourceSeconds = Family::new_with_constructor(batch_histogram);
        registry.register(
            "upstream_batch_size",
            "Keys per batched call to a service",
            batch_sizes.clone(),
        );
        let cache_hits = Counter::default();
        registry.register(
            "cache_hits",
            "Response cache lookups that hit",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "cache_misses",
            "Response cache lookups that missed",
            cache_misses.clone(),
        );
        let cache_evictions = Counter::default();
        registry.register(
            "cache_evictions",
            "Response cache entries evicted to stay within cache.max_bytes",
            cache_evictions.clone(),
        );
        let cache_bytes = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "cache_size_bytes",
            "Memory the response cache holds (estimated)",
            cache_bytes.clone(),
        );
        let rate_limited = Family::<ClassLabels, Counter>::default();
        registry.register(
            "rate_limited_requests",
            "Operations refused by the rate limiter, by client class",
            rate_limited.clone(),
        );
        let limit_rejections = Family::<RuleLabels, Counter>::default();
        registry.register(
            "query_limit_rejections",
            "Requests refused by a query or request limit, by rule (its error code)",
            limit_rejections.clone(),
        );
        let auth_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "auth_failures",
            "Requests refused for their token, by reason",
            auth_failures.clone(),
        );
        let in_flight = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "http_requests_in_flight",
            "GraphQL HTTP requests being served",
            in_flight.clone(),
        );
        let deduplicated = Counter::default();
        registry.register(
            "deduplicated_requests",
            "Requests answered by an identical request of the same caller executing at the time",
            deduplicated.clone(),
        );
        let circuits = Family::<SourceLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "circuit_state",
            "Each source's circuit: 0 closed, 1 open, 2 half-open",
            circuits.clone(),
        );
        let redis_up = Gauge::<i64, AtomicI64>::default();
        let redis_outages = Counter::default();
        if redis {
            registry.register(
                "redis_up",
                "1 while Redis answers (shared rate limits and cache in use), 0 while the gateway falls back",
                redis_up.clone(),
            );
            registry.register(
                "redis_outages",
                "Times Redis stopped answering and the gateway switched to its failure policy",
                redis_outages.clone(),
            );
        }
        let subscriptions = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "subscriptions_active",
            "Subscriptions open now, over WebSocket and server-sent events",
            subscriptions.clone(),
        );
        let upstream_streams = Family::<SourceLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "upstream_streams_open",
            "Upstream event streams open now (each shared by all subscribers of it)",
            upstream_streams.clone(),
        );
        let upstream_stream_reconnects = Family::<SourceLabels, Counter>::default();
        registry.register(
            "upstream_stream_reconnects",
            "Upstream event streams lost and reopened",
            upstream_stream_reconnects.clone(),
        );
        let build = Family::<BuildLabels, Gauge<i64, AtomicI64>>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        registry.register("build_info", "The running build, as a label", build);
        Metrics {
            registry,
            requests,
            request_seconds,
            upstream_calls,
            upstream_retries,
            upstream_seconds,
            batch_sizes,
            cache_hits,
            cache_misses,
            cache_evictions,
            cache_bytes,
            rate_limited,
            limit_rejections,
            auth_failures,
            in_flight,
            deduplicated,
            circuits,
            redis_up,
            redis_outages,
            subscriptions,
            upstream_streams,
            upstream_stream_reconnects,
            operation_names: Mutex::default(),
        }
    }

    /// The operation name as a label: `anonymous` without one; its own value for the first
    /// [`MAX_OPERATION_NAMES`] valid names seen, `other` after that.
    pub fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".to_owned();
        };
        let valid = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return "other".to_owned();
        }
        let mut names = self
            .operation_names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if names.contains(name) {
            return name.to_owned();
        }
        if names.len() < MAX_OPERATION_NAMES {
            names.insert(name.to_owned());
            return name.to_owned();
        }
        "other".to_owned()
    }

    pub fn request(&self, labels: &RequestLabels, elapsed: Duration) {
        self.requests.get_or_create(labels).inc();
        self.request_seconds
            .get_or_create(labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn rate_limited(&self, class: &str) {
        self.rate_limited
            .get_or_create(&ClassLabels {
                class: class.to_owned(),
            })
            .inc();
    }

    pub fn limit_rejected(&self, rule: &str) {
        self.limit_rejections
            .get_or_create(&RuleLabels {
                rule: rule.to_owned(),
            })
            .inc();
    }

    pub fn auth_failed(&self, reason: &str) {
        self.auth_failures
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Redis answered (`true`) or stopped answering.
    pub fn redis_up(&self, up: bool) {
        self.redis_up.set(i64::from(up));
        if !up {
            self.redis_outages.inc();
        }
    }

    pub fn deduplicated(&self) {
        self.deduplicated.inc();
    }

    /// Counts a request in flight until the guard drops.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// Counts a subscription open until the guard drops.
    pub fn subscription_guard(&self) -> Tracked {
        self.subscriptions.inc();
        Tracked(self.subscriptions.clone())
    }

    /// The Prometheus text exposition; the cache size and the circuits are read now.
    pub fn render(&self, cache_bytes: u64, circuits: &[(&str, CircuitState)]) -> String {
        self.cache_bytes
            .set(i64::try_from(cache_bytes).unwrap_or(i64::MAX));
        for (source, state) in circuits {
            let value = match state {
                CircuitState::Closed => 0,
                CircuitState::Open => 1,
                CircuitState::HalfOpen => 2,
            };
            self.circuits
                .get_or_create(&SourceLabels {
                    source: (*source).to_owned(),
                })
                .set(value);
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Decrements the in-flight gauge when dropped, however the request ends.
pub struct InFlight<'a>(&'a Gauge<i64, AtomicI64>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Like [`InFlight`], owning its gauge: for what outlives a borrow (a subscription).
pub struct Tracked(Gauge<i64, AtomicI64>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Observer for Metrics {
    fn upstream_call(&self, call: &CallReport<'_>) {
        let status = match call.outcome {
            CallOutcome::Status(status) => status.to_string(),
            CallOutcome::Timeout => "timeout".to_owned(),
            CallOutcome::Unavailable => "unavailable".to_owned(),
        };
        self.upstream_calls
            .get_or_create(&UpstreamLabels {
                source: call.source.to_owned(),
                status,
            })
            .inc();
        self.upstream_seconds
            .get_or_create(&SourceLabels {
                source: call.source.to_owned(),
            })
            .observe(call.duration.as_secs_f64());
    }

    fn retry(&self, source: &str) {
        self.upstream_retries
            .get_or_create(&SourceLabels {
                source: source.to_owned(),
            })
            .inc();
    }

    fn batch(&self, source: &str, size: usize) {
        self.batch_sizes
            .get_or_create(&SourceLabels {
                source: source.to_owned(),
            })
            .observe(size as f64);
    }

    fn stream(&self, source: &str, open: bool) {
        let gauge = self.upstream_streams.get_or_create(&SourceLabels {
            source: source.to_owned(),
        });
        if open {
            gauge.inc();
        } else {
            gauge.dec();
        }
    }

    fn stream_reconnect(&self, source: &str) {
        self.upstream_stream_reconnects
            .get_or_create(&SourceLabels {
                source: source.to_owned(),
            })
            .inc();
    }

    fn cache_lookup(&self, hit: bool) {
        if hit {
            self.cache_hits.inc();
        } else {
            self.cache_misses.inc();
        }
    }

    fn cache_eviction(&self) {
        self.cache_evictions.inc();
    }
}
