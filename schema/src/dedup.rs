//! In-flight deduplication: an identical query (same text, variables and operation) from
//! the same caller scope, arriving while one is executing, waits for that execution's
//! answer instead of executing again. Mutations and subscriptions never share.
//!
//! The key is compared whole (no hash stands for it), and it carries the caller's scope, so
//! no caller is ever handed another's answer. If the execution being waited on is dropped
//! (its client went away), its waiters run their own.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::Response;
use tokio::sync::oneshot;

/// What makes two operations the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OperationKey {
    pub scope: Arc<str>,
    pub operation: Option<String>,
    pub query: String,
    pub variables: String,
}

type Waiters = Vec<oneshot::Sender<Arc<Response>>>;

/// The operations executing now, with who waits for each.
#[derive(Debug, Default)]
pub struct InFlight {
    running: Mutex<HashMap<OperationKey, Waiters>>,
}

/// What a request does with its operation.
pub enum Turn<'a> {
    /// Execute it; hand the answer to [`Leader::finish`].
    Lead(Leader<'a>),
    /// Wait for the same operation's answer.
    Wait(oneshot::Receiver<Arc<Response>>),
}

impl InFlight {
    pub fn turn(&self, key: OperationKey) -> Turn<'_> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(waiters) = running.get_mut(&key) {
            let (send, receive) = oneshot::channel();
            waiters.push(send);
            return Turn::Wait(receive);
        }
        running.insert(key.clone(), Vec::new());
        Turn::Lead(Leader {
            flight: self,
            key: Some(key),
        })
    }
}

/// The request executing an operation others may wait for. Dropped without finishing
/// (cancelled), it lets its waiters go: they execute on their own.
pub struct Leader<'a> {
    flight: &'a InFlight,
    key: Option<OperationKey>,
}

impl Leader<'_> {
    /// Hands a copy of `response` to every waiter.
    pub fn finish(mut self, response: &Response) {
        let Some(key) = self.key.take() else { return };
        let waiters = self
            .flight
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key)
            .unwrap_or_default();
        if waiters.is_empty() {
            return;
        }
        let shared = Arc::new(copy(response));
        for waiter in waiters {
            let _ = waiter.send(shared.clone());
        }
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.flight
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&key);
        }
    }
}

/// A copy of a response (async-graphql's `Response` is not `Clone`).
pub fn copy(response: &Response) -> Response {
    let mut copy = Response::new(response.data.clone());
    copy.extensions = response.extensions.clone();
    copy.cache_control = response.cache_control;
    copy.errors = response.errors.clone();
    copy.http_headers = response.http_headers.clone();
    copy
}
