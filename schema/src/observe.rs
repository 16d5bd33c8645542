//! What the engine tells its host about upstream calls, for metrics and traces, without
//! knowing how they are exported: the gateway implements [`Observer`].

use std::{
    collections::BTreeSet,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use reqwest::{Method, header::HeaderMap};

/// How an upstream call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// The service answered; its HTTP status.
    Status(u16),
    Timeout,
    /// No connection, or it broke.
    Unavailable,
}

/// One finished upstream call.
#[derive(Debug)]
pub struct CallReport<'a> {
    pub source: &'a str,
    pub method: &'a Method,
    pub route: &'a str,
    pub outcome: CallOutcome,
    pub duration: Duration,
}

/// Receives the engine's reports. Every method has a no-op default.
pub trait Observer: Send + Sync + std::fmt::Debug {
    fn upstream_call(&self, _call: &CallReport<'_>) {}
    /// A failed call to `source` is tried again.
    fn retry(&self, _source: &str) {}
    /// A batched call for `size` keys is about to go to `source`.
    fn batch(&self, _source: &str, _size: usize) {}
    /// A response cache lookup.
    fn cache_lookup(&self, _hit: bool) {}
    /// An entry left the response cache to make room.
    fn cache_eviction(&self) {}
    /// Adds trace-context headers to a call made within the current span.
    fn inject_trace(&self, _headers: &mut HeaderMap) {}
}

/// The observer that reports nowhere.
#[derive(Debug, Default)]
pub struct Unobserved;

impl Observer for Unobserved {}

/// What one GraphQL request cost upstream, for its access log line, and which sources'
/// answers were served stale.
#[derive(Debug, Default)]
pub struct RequestStats {
    upstream_calls: AtomicU32,
    stale: Mutex<BTreeSet<String>>,
    fallbacks: Mutex<BTreeSet<String>>,
}

impl RequestStats {
    pub fn upstream_calls(&self) -> u32 {
        self.upstream_calls.load(Ordering::Relaxed)
    }

    /// The sources whose failure was covered by a stale cached answer.
    pub fn stale_sources(&self) -> BTreeSet<String> {
        self.stale
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The fields (`Type.field`) that answered their `@fallback` value.
    pub fn fallbacks(&self) -> BTreeSet<String> {
        self.fallbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn served_fallback(&self, field: String) {
        self.fallbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(field);
    }

    pub(crate) fn served_stale(&self, source: &str) {
        self.stale
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(source.to_owned());
    }

    pub(crate) fn count_call(&self) {
        self.upstream_calls.fetch_add(1, Ordering::Relaxed);
    }
}
