//! Subscriptions' upstream side: one connection per distinct event stream, shared by every
//! subscriber of it (fan-out in the gateway), reconnected with backoff when it drops, and
//! closed when its last subscriber leaves.
//!
//! A stream is distinct by what is sent for it: source, path and query, headers (the
//! identity forwarded to the service among them) and the event type carried. Two callers
//! share a connection only when the service could not tell their requests apart.

mod feed;
pub mod sse;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, OnceLock, PoisonError, Weak},
    time::Duration,
};

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::{
    fetch::{FetchError, PreparedRequest},
    model::{SourceName, SourceSpec},
    observe::{Observer, Unobserved},
};

/// How many events a slow subscriber may fall behind its stream before it skips some.
const BACKLOG: usize = 256;

/// What a stream delivers to its subscribers.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// One event's JSON.
    Event(Arc<Value>),
    /// The stream is over for good: the service refused it (a 4xx) or answers something
    /// that is not an event stream. Transient failures never end a stream: it reconnects.
    Ended(FetchError),
}

/// Identifies a shared upstream stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedKey {
    source: SourceName,
    path_and_query: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    event: Arc<str>,
}

impl FeedKey {
    /// The stream `request` opens, carrying events of type `event`. A `traceparent` is
    /// left out: a shared connection belongs to no one request's trace.
    pub fn new(request: &PreparedRequest, event: &str) -> FeedKey {
        let mut headers: Vec<(HeaderName, HeaderValue)> = request
            .headers
            .iter()
            .filter(|(name, _)| name.as_str() != "traceparent")
            .cloned()
            .collect();
        headers.sort_by(|a, b| (a.0.as_str(), a.1.as_bytes()).cmp(&(b.0.as_str(), b.1.as_bytes())));
        FeedKey {
            source: request.source.clone(),
            path_and_query: request.path_and_query.clone(),
            headers,
            event: Arc::from(event),
        }
    }
}

/// A source's streaming client: no overall timeout (a stream lasts), a read timeout that
/// notices a silent, dead connection.
#[derive(Debug)]
struct StreamClient {
    spec: SourceSpec,
    client: reqwest::Client,
}

/// A connection stays up while silent this long; services send keep-alive comments
/// (every 15 s by default in common servers), so a longer silence means a dead peer.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the host's observer is attached (shared with the fetcher, attached once).
#[derive(Debug, Clone)]
pub(crate) struct Reports(Arc<OnceLock<Arc<dyn Observer>>>);

impl Reports {
    fn observer(&self) -> &dyn Observer {
        match self.0.get() {
            Some(observer) => observer.as_ref(),
            None => &Unobserved,
        }
    }
}

/// Every upstream event stream of one schema version.
pub struct Hub {
    clients: BTreeMap<SourceName, StreamClient>,
    feeds: Arc<Mutex<HashMap<FeedKey, Weak<feed::Feed>>>>,
    reports: Reports,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("sources", &self.clients.keys().collect::<Vec<_>>())
            .field("streams", &self.open_streams())
            .finish()
    }
}

impl Hub {
    /// A client per source in `streamed`, the sources some subscription field reads;
    /// streams opening, closing and reconnecting are reported to the observer `reports`
    /// holds.
    pub(crate) fn new(
        sources: &BTreeMap<SourceName, SourceSpec>,
        streamed: &[SourceName],
        reports: Arc<OnceLock<Arc<dyn Observer>>>,
    ) -> Result<Hub, reqwest::Error> {
        let mut clients = BTreeMap::new();
        for name in streamed {
            let Some(spec) = sources.get(name) else {
                continue;
            };
            let client = reqwest::Client::builder()
                .connect_timeout(spec.policy.connect_timeout)
                .read_timeout(IDLE_TIMEOUT)
                .tcp_nodelay(true)
                .build()?;
            clients.insert(
                name.clone(),
                StreamClient {
                    spec: spec.clone(),
                    client,
                },
            );
        }
        Ok(Hub {
            clients,
            feeds: Arc::default(),
            reports: Reports(reports),
        })
    }

    /// Joins the stream `key` names, opening it when no one reads it yet. Must run on a
    /// tokio runtime (a new stream's connection is a task).
    pub fn subscribe(&self, key: FeedKey) -> Result<Subscription, FetchError> {
        let Some(client) = self.clients.get(&key.source) else {
            return Err(FetchError::Request {
                service: key.source.clone(),
                reason: "the source has no event stream client".into(),
            });
        };
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(feed) = feeds.get(&key).and_then(Weak::upgrade)
            && !feed.is_over()
        {
            let receiver = feed.receiver();
            return Ok(Subscription { feed, receiver });
        }
        let (sender, receiver) = broadcast::channel(BACKLOG);
        let url = format!("{}{}", client.spec.url, key.path_and_query);
        let feed = feed::Feed::open(
            feed::Connection {
                client: client.client.clone(),
                url,
                key: key.clone(),
                max_event_bytes: client.spec.policy.max_response_bytes,
                reports: self.reports.clone(),
            },
            sender,
            Arc::downgrade(&self.feeds),
        );
        feeds.insert(key, Arc::downgrade(&feed));
        Ok(Subscription { feed, receiver })
    }

    /// Upstream streams open now (connected or reconnecting).
    fn open_streams(&self) -> usize {
        self.feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|feed| feed.strong_count() > 0)
            .count()
    }
}

/// One subscriber's place on a shared stream; leaving it (dropping) closes the upstream
/// connection when it was the last.
pub struct Subscription {
    feed: Arc<feed::Feed>,
    receiver: broadcast::Receiver<Delivery>,
}

impl Subscription {
    /// The next delivery; `None` once the stream is gone.
    pub async fn next(&mut self) -> Option<Delivery> {
        loop {
            match self.receiver.recv().await {
                Ok(delivery) => return Some(delivery),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        service = self.feed.source(),
                        missed,
                        "a subscriber fell behind its event stream and skipped events"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
