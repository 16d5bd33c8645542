//! One shared upstream stream: a task that holds the connection, decodes its events and
//! broadcasts them; it reconnects (with backoff, resuming from the last event id) whenever
//! the connection drops, and ends when the stream's last subscriber leaves.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError, Weak},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use reqwest::{
    StatusCode,
    header::{ACCEPT, CONTENT_TYPE},
};
use tokio::{sync::broadcast, task::AbortHandle};
use tracing::Instrument;

use super::{
    Delivery, FeedKey, Reports,
    sse::{SseDecoder, SseEvent},
};
use crate::fetch::FetchError;

/// The first reconnect waits about this long (or the server's `retry:`), doubling per
/// failed attempt up to [`RECONNECT_MAX`].
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// A connection that lasted this long was healthy: the next failure starts the backoff over.
const HEALTHY_AFTER: Duration = Duration::from_secs(2);

/// What a stream's task needs to (re)connect.
pub(super) struct Connection {
    pub client: reqwest::Client,
    pub url: String,
    pub key: FeedKey,
    pub max_event_bytes: usize,
    pub reports: Reports,
}

type Feeds = Mutex<HashMap<FeedKey, Weak<Feed>>>;

/// A shared stream, alive while a subscriber holds it.
pub(super) struct Feed {
    sender: broadcast::Sender<Delivery>,
    task: AbortHandle,
    key: FeedKey,
    feeds: Weak<Feeds>,
    reports: Reports,
}

impl Feed {
    pub fn open(
        connection: Connection,
        sender: broadcast::Sender<Delivery>,
        feeds: Weak<Feeds>,
    ) -> Arc<Feed> {
        let key = connection.key.clone();
        let reports = connection.reports.clone();
        reports.observer().stream(key.source.as_str(), true);
        let span = tracing::info_span!(
            "event stream",
            switchyard.source = key.source.as_str(),
            switchyard.event = &*key.event,
        );
        let task = tokio::spawn(run(connection, sender.clone()).instrument(span)).abort_handle();
        Arc::new(Feed {
            sender,
            task,
            key,
            feeds,
            reports,
        })
    }

    pub fn receiver(&self) -> broadcast::Receiver<Delivery> {
        self.sender.subscribe()
    }

    /// The stream ended for good (the service refused it); a new subscriber opens another.
    pub fn is_over(&self) -> bool {
        self.task.is_finished()
    }

    pub fn source(&self) -> &str {
        self.key.source.as_str()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        // The last subscriber left: the connection goes with the task.
        self.task.abort();
        self.reports
            .observer()
            .stream(self.key.source.as_str(), false);
        if let Some(feeds) = self.feeds.upgrade() {
            let mut feeds = feeds.lock().unwrap_or_else(PoisonError::into_inner);
            // A new subscriber may have opened a fresh stream under the key meanwhile.
            if feeds
                .get(&self.key)
                .is_some_and(|feed| feed.strong_count() == 0)
            {
                feeds.remove(&self.key);
            }
        }
    }
}

/// Why a connection ended.
enum Ended {
    /// Dropped, refused for now, or never made: try again.
    Retry(String),
    /// The service will not serve this stream.
    Fatal(FetchError),
}

async fn run(connection: Connection, sender: broadcast::Sender<Delivery>) {
    let mut decoder = SseDecoder::new(connection.max_event_bytes);
    let mut failures: u32 = 0;
    loop {
        let started = Instant::now();
        match connect(&connection, &mut decoder, &sender).await {
            Ended::Fatal(error) => {
                tracing::warn!(%error, "the service refused the event stream");
                let _ = sender.send(Delivery::Ended(error));
                return;
            }
            Ended::Retry(reason) => {
                if started.elapsed() >= HEALTHY_AFTER {
                    failures = 0;
                }
                failures = failures.saturating_add(1);
                let wait = backoff(failures, decoder.retry);
                tracing::warn!(
                    reason,
                    retry_in_ms = wait.as_millis() as u64,
                    "event stream lost; reconnecting"
                );
                let source = connection.key.source.as_str();
                connection.reports.observer().stream_reconnect(source);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Exponential backoff from the server's `retry:` (or [`RECONNECT_MIN`]), with jitter so
/// that gateways reconnecting after one outage do not all arrive at once.
fn backoff(failures: u32, retry: Option<Duration>) -> Duration {
    let base = retry.unwrap_or(RECONNECT_MIN).min(RECONNECT_MAX);
    let exponent = failures.saturating_sub(1).min(16);
    let ceiling = base.saturating_mul(1 << exponent).min(RECONNECT_MAX);
    let half = ceiling / 2;
    half + half.mul_f64(rand::random::<f64>())
}

/// One connection: open it, relay its events until it ends.
async fn connect(
    connection: &Connection,
    decoder: &mut SseDecoder,
    sender: &broadcast::Sender<Delivery>,
) -> Ended {
    let key = &connection.key;
    let mut request = connection
        .client
        .get(&connection.url)
        .header(ACCEPT, "text/event-stream");
    for (name, value) in &key.headers {
        request = request.header(name, value);
    }
    if let Some(id) = &decoder.last_id {
        request = request.header("last-event-id", id.as_str());
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return Ended::Retry(without_url(&error)),
    };
    let status = response.status();
    if !status.is_success() {
        let transient = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        return if transient {
            Ended::Retry(format!("the service answered {status}"))
        } else {
            Ended::Fatal(FetchError::Status {
                service: key.source.clone(),
                status: status.as_u16(),
            })
        };
    }
    let is_stream = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
    if !is_stream {
        return Ended::Fatal(FetchError::BadResponse {
            service: key.source.clone(),
            reason: "the answer is not an event stream (text/event-stream)".into(),
        });
    }
    tracing::debug!("event stream connected");
    decoder.reset();
    let mut body = response.bytes_stream();
    let mut events = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => return Ended::Retry(without_url(&error)),
        };
        if let Err(error) = decoder.feed(&chunk, &mut events) {
            return Ended::Retry(error.to_string());
        }
        for event in events.drain(..) {
            relay(event, key, sender);
        }
    }
    Ended::Retry("the service closed the stream".to_owned())
}

/// Sends an event of the stream's type to every subscriber; an event whose data is not
/// JSON is skipped (and logged): one bad event does not end everyone's subscription.
fn relay(event: SseEvent, key: &FeedKey, sender: &broadcast::Sender<Delivery>) {
    if event.event != *key.event {
        return;
    }
    match serde_json::from_str(&event.data) {
        Ok(value) => {
            // No receiver now is fine: the last one may be leaving.
            let _ = sender.send(Delivery::Event(Arc::new(value)));
        }
        Err(error) => tracing::warn!(
            %error,
            "the service sent an event whose data is not JSON; skipped"
        ),
    }
}

/// A client error's text without its URL, which may carry what the schema put in the path.
fn without_url(error: &reqwest::Error) -> String {
    let error = error.to_string();
    match error.find(" for url (") {
        Some(at) => error[..at].to_owned(),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_ceiling_and_follows_the_servers_retry() {
        for _ in 0..20 {
            let first = backoff(1, None);
            assert!(first >= RECONNECT_MIN / 2 && first <= RECONNECT_MIN);
            let late = backoff(30, None);
            assert!(late >= RECONNECT_MAX / 2 && late <= RECONNECT_MAX);
            let asked = backoff(1, Some(Duration::from_secs(2)));
            assert!(asked >= Duration::from_secs(1) && asked <= Duration::from_secs(2));
        }
    }
}
