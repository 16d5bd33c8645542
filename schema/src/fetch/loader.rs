//! The per-request loader: every keyed fetch goes through it, so that within one request
//! all keys for one endpoint gathered in a tick become one batched call, and identical
//! calls become one.

use std::{collections::HashMap, convert::Infallible, sync::Arc};

use async_graphql::dataloader::Loader;
use futures_util::future::join_all;
use serde_json::Value;

use super::{FetchError, Fetcher, PreparedRequest};
use crate::{
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
    ) -> Self {
        let hash = {
            use std::hash::{BuildHasher, Hash as _, Hasher as _};
            let mut hasher = FIXED_STATE.build_hasher();
            request.hash(&mut hasher);
            select.hash(&mut hasher);
            match_path.hash(&mut hasher);
            max_batch.hash(&mut hasher);
            hasher.finish()
        };
        BatchGroup {
            request,
            select,
            match_path,
            max_batch,
            hash,
        }
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

/// The loader of one request.
pub struct RestLoader {
    fetcher: Arc<Fetcher>,
}

impl RestLoader {
    pub fn new(fetcher: Arc<Fetcher>) -> Self {
        RestLoader { fetcher }
    }
}

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

async fn load_batch(fetcher: &Fetcher, group: &BatchGroup, keys: &[&str]) -> Vec<(String, Loaded)> {
    let joined = keys
        .iter()
        .map(|k| template::encode(k))
        .collect::<Vec<_>>()
        .join(",");
    let mut request = group.request.clone();
    request.path_and_query = request.path_and_query.replace(KEYS_MARKER, &joined);
    let result = fetcher.fetch(&request).await;
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

impl Loader<LoadKey> for RestLoader {
    type Value = Loaded;
    /// Failures are per key (in `Value`), so one failing endpoint cannot fail the others.
    type Error = Infallible;

    async fn load(&self, keys: &[LoadKey]) -> Result<HashMap<LoadKey, Loaded>, Infallible> {
        let mut calls = Vec::new();
        let mut groups: HashMap<Arc<BatchGroup>, Vec<&str>> = HashMap::new();
        for key in keys {
            match key {
                LoadKey::Call(request) => calls.push(request.clone()),
                LoadKey::Batch(group, key) => groups.entry(group.clone()).or_default().push(key),
            }
        }
        let fetcher = &self.fetcher;
        let singles = join_all(calls.into_iter().map(|request| async move {
            let result = fetcher.fetch(&request).await.map(Found::Whole);
            (LoadKey::Call(request), result)
        }));
        let batches = join_all(groups.iter().flat_map(|(group, keys)| {
            keys.chunks(group.max_batch.max(1))
                .map(move |chunk| async move {
                    load_batch(fetcher, group, chunk)
                        .await
                        .into_iter()
                        .map(|(key, result)| (LoadKey::Batch(group.clone(), key), result))
                        .collect::<Vec<_>>()
                })
        }));
        let (singles, batches) = futures_util::join!(singles, batches);
        Ok(singles
            .into_iter()
            .chain(batches.into_iter().flatten())
            .collect())
    }
}
