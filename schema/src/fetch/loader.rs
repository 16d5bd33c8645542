//! The per-request loader: every keyed fetch goes through it, so that within one request
//! all keys for one endpoint gathered while the request's resolvers run become one batched
//! call, and identical calls become one.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::indexmap::IndexMap;
use futures_util::future::join_all;
use serde_json::Value;
use tokio::sync::oneshot;

use tracing::Instrument;

use super::{FetchError, Fetcher, PreparedRequest, project::KeySet};
use crate::{
    observe::RequestStats,
    resolve::{convert::Loc, json::get_path},
    template,
};

/// Stands in the rendered URL for the comma-separated keys. It can never come from a
/// rendered value (those percent-encode `{` and `$`) nor from a template literal (where
/// `{$` always opens a variable).
pub const KEYS_MARKER: &str = "{$keys}";

/// A batched endpoint: a request whose URL holds [`KEYS_MARKER`], and how to share out the
/// results among keys.
#[derive(Debug)]
pub struct BatchGroup {
    pub request: PreparedRequest,
    /// Where the list of results sits in the response.
    pub select: Vec<String>,
    /// Where each result holds the key it answers.
    pub match_path: Vec<String>,
    pub max_batch: usize,
    /// When set, the response keeps only these object keys (see [`super::project`]).
    pub keep: Option<Arc<KeySet>>,
    /// The hash of the fields above, computed once: the loader hashes each key several
    /// times, and hashing the whole request each time was a tenth of the gateway's CPU on
    /// the n-plus-one benchmark.
    hash: u64,
}

impl BatchGroup {
    pub fn new(
        request: PreparedRequest,
        select: Vec<String>,
        match_path: Vec<String>,
        max_batch: usize,
        keep: Option<Arc<KeySet>>,
    ) -> Self {
        let hash = {
            use std::hash::{BuildHasher, Hash as _, Hasher as _};
            let mut hasher = FIXED_STATE.build_hasher();
            request.hash(&mut hasher);
            select.hash(&mut hasher);
            match_path.hash(&mut hasher);
            max_batch.hash(&mut hasher);
            keep.hash(&mut hasher);
            hasher.finish()
        };
        BatchGroup {
            request,
            select,
            match_path,
            max_batch,
            keep,
            hash,
        }
    }

    /// The same batch made with `request` (another caller's copy of the call).
    pub fn shaped(&self, request: PreparedRequest) -> Self {
        BatchGroup::new(
            request,
            self.select.clone(),
            self.match_path.clone(),
            self.max_batch,
            self.keep.clone(),
        )
    }

    /// The same call, its response keeping only `keep`.
    pub fn keeping(&self, keep: KeySet) -> Self {
        BatchGroup::new(
            self.request.clone(),
            self.select.clone(),
            self.match_path.clone(),
            self.max_batch,
            Some(Arc::new(keep)),
        )
    }
}

/// Hashes of batch groups only decide which groups are compared, never which are equal.
static FIXED_STATE: std::hash::BuildHasherDefault<std::hash::DefaultHasher> =
    std::hash::BuildHasherDefault::new();

impl PartialEq for BatchGroup {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.max_batch == other.max_batch
            && self.request == other.request
            && self.select == other.select
            && self.match_path == other.match_path
            && self.keep == other.keep
    }
}

impl Eq for BatchGroup {}

impl std::hash::Hash for BatchGroup {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoadKey {
    /// One call; identical calls in a request share one result.
    Call(Arc<PreparedRequest>),
    /// One key of a batched endpoint; the value is the JSON array of its matching results.
    Batch(Arc<BatchGroup>, String),
}

pub(super) type Waiters = Vec<oneshot::Sender<Loaded>>;

/// Loads registered and not yet sent.
#[derive(Default)]
struct Pending {
    calls: IndexMap<Arc<PreparedRequest>, Waiters>,
    /// Keys in the order they came, so that the same keys make the same URL (and cache key).
    batches: IndexMap<Arc<BatchGroup>, IndexMap<String, Waiters>>,
    /// Whether a dispatch is on its way for what is pending.
    scheduled: bool,
}

/// How many scheduler turns a dispatch waits before it sends what is pending. Resolvers
/// register keys as the request's task polls them, and async-graphql's list resolution
/// yields back to the scheduler between passes; a few turns let every sibling ready now
/// register, without the fixed delay of a timer (a clock-based window cost a millisecond
/// per level of the query when idle).
const GATHER_TURNS: usize = 3;

/// The loader of one request.
pub struct RestLoader {
    fetcher: Arc<Fetcher>,
    stats: Arc<RequestStats>,
    pending: Mutex<Pending>,
}

impl RestLoader {
    pub fn new(fetcher: Arc<Fetcher>, stats: Arc<RequestStats>) -> Arc<Self> {
        Arc::new(RestLoader {
            fetcher,
            stats,
            pending: Mutex::default(),
        })
    }

    /// Registers a load and waits for its result.
    pub async fn load(self: &Arc<Self>, key: LoadKey) -> Loaded {
        let (tx, rx) = oneshot::channel();
        let service = match &key {
            LoadKey::Call(request) => request.source.clone(),
            LoadKey::Batch(group, _) => group.request.source.clone(),
        };
        let schedule = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            match key {
                LoadKey::Call(request) => pending.calls.entry(request).or_default().push(tx),
                LoadKey::Batch(group, key) => pending
                    .batches
                    .entry(group)
                    .or_default()
                    .entry(key)
                    .or_default()
                    .push(tx),
            }
            !std::mem::replace(&mut pending.scheduled, true)
        };
        if schedule {
            let this = self.clone();
            // Spawned, so that a client going away cannot cancel a call that other waiters
            // of the request share.
            // In the request's span, so its calls' spans join the request's trace.
            tokio::spawn(async move { this.dispatch().await }.instrument(tracing::Span::current()));
        }
        // Outside tokio's cooperative budget: a list's hundreds of waiters would exhaust
        // it within one pass, and the rest of the list would register its keys only on the
        // next pass, after this batch went out (measured: 3.15 calls per n-plus-one instead
        // of 3 at 16 concurrent requests).
        tokio::task::unconstrained(rx).await.unwrap_or_else(|_| {
            Err(FetchError::Request {
                service,
                reason: "the call was dropped".into(),
            })
        })
    }

    async fn dispatch(&self) {
        for _ in 0..GATHER_TURNS {
            tokio::task::yield_now().await;
        }
        let pending = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::take(&mut *pending)
        };
        let fetcher = &self.fetcher;
        let stats = &*self.stats;
        let coalescer = &fetcher.coalescer;
        // Sources that coalesce take the loads into their windows, shared with the other
        // requests dispatching now (see [`super::coalesce`]); the rest go out from here.
        let mut singles = Vec::new();
        for (request, waiters) in pending.calls {
            if fetcher.coalesces(&request.source) {
                coalescer.call(fetcher, request, waiters, &self.stats);
            } else {
                singles.push(async move {
                    let result = fetcher.fetch(&request, stats).await.map(Found::Whole);
                    answer(waiters, &result);
                });
            }
        }
        let mut batches = Vec::new();
        for (group, keys) in pending.batches {
            if fetcher.coalesces(&group.request.source) {
                coalescer.batch(fetcher, group, keys, &self.stats);
                continue;
            }
            batches.push(async move {
                for (waiters, result) in load_keys(fetcher, &group, keys, stats).await {
                    answer(waiters, &result);
                }
            });
        }
        futures_util::join!(join_all(singles), join_all(batches));
    }
}

use super::coalesce::answer;

/// The text of a key as it appears in results: strings as they are, numbers as digits.
pub fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a load finds: a whole response, or for one key of a batch the positions of its
/// matching items in the list of the batch's response, which all its keys share.
#[derive(Debug, Clone)]
pub enum Found {
    Whole(Arc<Value>),
    Items { list: Loc, indices: Vec<usize> },
}

pub type Loaded = Result<Found, FetchError>;

/// Loads `keys` of a batched endpoint in calls of at most its batch size; each key's
/// waiters with their result.
pub(super) async fn load_keys(
    fetcher: &Fetcher,
    group: &BatchGroup,
    keys: IndexMap<String, Waiters>,
    stats: &RequestStats,
) -> Vec<(Waiters, Loaded)> {
    let mut keys: Vec<(String, Waiters)> = keys.into_iter().collect();
    let size = group.max_batch.max(1);
    let mut chunks = Vec::new();
    while !keys.is_empty() {
        let rest = keys.split_off(keys.len().min(size));
        chunks.push(std::mem::replace(&mut keys, rest));
    }
    let calls = chunks.into_iter().map(|chunk| async move {
        let results = {
            let keys: Vec<&str> = chunk.iter().map(|(key, _)| key.as_str()).collect();
            load_batch(fetcher, group, &keys, stats).await
        };
        chunk
            .into_iter()
            .zip(results)
            .map(|((_, waiters), (_, result))| (waiters, result))
            .collect::<Vec<_>>()
    });
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn load_batch(
    fetcher: &Fetcher,
    group: &BatchGroup,
    keys: &[&str],
    stats: &RequestStats,
) -> Vec<(String, Loaded)> {
    let source = group.request.source.as_str();
    fetcher.observer().batch(source, keys.len());
    let span = tracing::info_span!(
        "batch",
        switchyard.source = source,
        url.template = %group.request.route,
        switchyard.batch.size = keys.len(),
    );
    load_batch_in(fetcher, group, keys, stats)
        .instrument(span)
        .await
}

async fn load_batch_in(
    fetcher: &Fetcher,
    group: &BatchGroup,
    keys: &[&str],
    stats: &RequestStats,
) -> Vec<(String, Loaded)> {
    let joined = keys
        .iter()
        .map(|k| template::encode(k))
        .collect::<Vec<_>>()
        .join(",");
    let mut request = group.request.clone();
    request.path_and_query = request.path_and_query.replace(KEYS_MARKER, &joined);
    let result = fetcher
        .fetch_keeping(&request, group.keep.as_deref(), stats)
        .await;
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            return keys
                .iter()
                .map(|k| (k.to_string(), Err(error.clone())))
                .collect();
        }
    };
    let list = Loc::new(response.clone()).join(&group.select);
    let items = match get_path(&response, &group.select) {
        Value::Array(items) => items.as_slice(),
        Value::Null => &[],
        _ => {
            let error = FetchError::BadResponse {
                service: group.request.source.clone(),
                reason: "a batch response is not a list".into(),
            };
            return keys
                .iter()
                .map(|k| (k.to_string(), Err(error.clone())))
                .collect();
        }
    };
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        if let Some(key) = key_text(get_path(item, &group.match_path)) {
            by_key.entry(key).or_default().push(index);
        }
    }
    keys.iter()
        .map(|k| {
            let found = Found::Items {
                list: list.clone(),
                indices: by_key.remove(*k).unwrap_or_default(),
            };
            (k.to_string(), Ok(found))
        })
        .collect()
}
