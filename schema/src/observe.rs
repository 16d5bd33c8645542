//! What the engine tells its host about upstream calls, for metrics and traces, without
//! knowing how they are exported: the gateway implements [`Observer`].

use std::{
    collections::BTreeSet,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU32, Ordering},
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
    /// An upstream event stream of `source` opened (`true`: its first subscriber came) or
    /// closed (its last subscriber left).
    fn stream(&self, _source: &str, _open: bool) {}
    /// An upstream event stream of `source` was lost and is being reopened.
    fn stream_reconnect(&self, _source: &str) {}
}

/// The observer that reports nowhere.
#[derive(Debug, Default)]
pub struct Unobserved;

impl Observer for Unobserved {}

/// A GraphQL operation, as logs and metrics name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub name: Option<String>,
    /// `query`, `mutation` or `subscription`.
    pub kind: &'static str,
}

/// What one GraphQL request was and cost upstream, for its access log line and metrics,
/// and which answers stood in for failing services.
#[derive(Debug, Default)]
pub struct RequestStats {
    /// The parsed document's operations, then the one that ran.
    operations: Mutex<Vec<Operation>>,
    operation: Mutex<Option<Operation>>,
    upstream_calls: AtomicU32,
    /// The answer was another identical request's (in-flight deduplication).
    shared: AtomicBool,
    stale: Mutex<BTreeSet<String>>,
    fallbacks: Mutex<BTreeSet<String>>,
}

impl RequestStats {
    /// The operation that ran (for a batch, the last one), once known.
    /// Before it executes (a subscription that delivered no event), the document's only
    /// operation.
    pub fn operation(&self) -> Option<Operation> {
        let chosen = self
            .operation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        chosen.or_else(|| {
            let operations = self
                .operations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match operations.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            }
        })
    }

    pub(crate) fn set_operations(&self, operations: Vec<Operation>) {
        *self
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = operations;
    }

    /// The operation `name` selects (without a name, the document's only one), now the
    /// request's.
    pub(crate) fn choose_operation(&self, name: Option<&str>) -> Option<Operation> {
        let operations = self
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let chosen = match name {
            Some(name) => operations
                .iter()
                .find(|op| op.name.as_deref() == Some(name))
                .cloned(),
            None if operations.len() == 1 => operations.first().cloned(),
            None => None,
        };
        drop(operations);
        if chosen.is_some() {
            *self
                .operation
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = chosen.clone();
        }
        chosen
    }

    /// Whether the answer was shared from an identical request executing at the time.
    pub fn was_shared(&self) -> bool {
        self.shared.load(Ordering::Relaxed)
    }

    pub(crate) fn shared_answer(&self) {
        self.shared.store(true, Ordering::Relaxed);
    }

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

    /// Takes on what a call made on this request's behalf cost (its calls, when `calls`)
    /// and what stood in for a failing service.
    pub(crate) fn absorb(&self, shared: &RequestStats, calls: bool) {
        if calls {
            self.upstream_calls
                .fetch_add(shared.upstream_calls(), Ordering::Relaxed);
        }
        for source in shared.stale_sources() {
            self.served_stale(&source);
        }
    }

    /// Says in `response.extensions` what stood in for failing services: `stale` lists the
    /// services whose stale cached answers were served, `fallback` the fields
    /// (`Type.field`) that answered their schema-declared `@fallback`.
    pub fn flag(&self, response: &mut async_graphql::Response) {
        for (key, names) in [
            ("stale", self.stale_sources()),
            ("fallback", self.fallbacks()),
        ] {
            if names.is_empty() {
                continue;
            }
            let list = names
                .into_iter()
                .map(async_graphql::Value::String)
                .collect();
            response
                .extensions
                .insert(key.to_owned(), async_graphql::Value::List(list));
        }
    }
}
