//! A JWKS document's keys: fetched at start, refreshed on a schedule, and refetched when a
//! token names a key id we do not hold, at most once per `min_refresh` so a flood of
//! random key ids cannot hammer the issuer.

use std::{
    sync::{Arc, PoisonError, RwLock, Weak},
    time::{Duration, Instant},
};

use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;

use super::keys::{self, VerifyKey};

/// A JWKS larger than this is refused: a key set is a few kilobytes.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("fetching {url}: {error}")]
    Fetch { url: String, error: reqwest::Error },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url} is not a JWKS document: {error}")]
    Parse {
        url: String,
        error: serde_json::Error,
    },
    #[error("{url} holds no usable signing key")]
    NoKeys { url: String },
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

/// The keys of one JWKS URL.
#[derive(Debug)]
pub struct Jwks {
    url: String,
    client: reqwest::Client,
    algorithms: Vec<String>,
    keys: RwLock<Arc<Vec<VerifyKey>>>,
    /// When the last on-demand refetch started; serialises them too.
    last_demand: tokio::sync::Mutex<Option<Instant>>,
    min_refresh: Duration,
}

impl Jwks {
    pub fn new(
        url: String,
        client: reqwest::Client,
        algorithms: Vec<String>,
        min_refresh: Duration,
    ) -> Jwks {
        Jwks {
            url,
            client,
            algorithms,
            keys: RwLock::default(),
            last_demand: tokio::sync::Mutex::new(None),
            min_refresh,
        }
    }

    /// The keys held now.
    pub fn keys(&self) -> Arc<Vec<VerifyKey>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Fetches the document and replaces the keys. On failure the old keys stay.
    pub async fn fetch(&self) -> Result<usize, JwksError> {
        let url = self.url.clone();
        let response = self
            .client
            .get(&self.url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|error| JwksError::Fetch {
                url: url.clone(),
                error,
            })?;
        if !response.status().is_success() {
            return Err(JwksError::Status {
                url,
                status: response.status().as_u16(),
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(JwksError::TooLarge { url });
        }
        let body = response.bytes().await.map_err(|error| JwksError::Fetch {
            url: url.clone(),
            error,
        })?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge { url });
        }
        let document: Document =
            serde_json::from_slice(&body).map_err(|error| JwksError::Parse {
                url: url.clone(),
                error,
            })?;
        let mut usable = Vec::new();
        for value in document.keys {
            // One odd key (an encryption key, an unknown type) must not cost the others.
            let parsed = serde_json::from_value::<Jwk>(value)
                .map_err(|e| e.to_string())
                .and_then(|jwk| keys::from_jwk(&jwk, &self.algorithms).map_err(|e| e.to_string()));
            match parsed {
                Ok(key) => usable.push(key),
                Err(reason) => tracing::warn!(url = %self.url, %reason, "JWKS key skipped"),
            }
        }
        if usable.is_empty() {
            return Err(JwksError::NoKeys { url });
        }
        let count = usable.len();
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(usable);
        tracing::info!(url = %self.url, keys = count, "JWKS loaded");
        Ok(count)
    }

    /// Refetches because a token named an unknown key id, unless one was started less
    /// than `min_refresh` ago. True when the keys were refetched.
    pub async fn refresh_on_demand(&self) -> bool {
        let mut last = self.last_demand.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return false;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, "JWKS refetch for an unknown key id failed");
                false
            }
        }
    }

    /// Refetches every `every` for as long as the keys are in use; after a failure, retries
    /// after `min_refresh` (at least one second).
    pub fn keep_fresh(self: &Arc<Self>, every: Duration) {
        let jwks: Weak<Jwks> = Arc::downgrade(self);
        let retry = self.min_refresh.max(Duration::from_secs(1));
        let mut wait = if self.keys().is_empty() { retry } else { every };
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(wait).await;
                let Some(jwks) = jwks.upgrade() else { return };
                wait = match jwks.fetch().await {
                    Ok(_) => every,
                    Err(error) => {
                        tracing::warn!(%error, "JWKS refresh failed; the previous keys stay");
                        retry
                    }
                };
            }
        });
    }
}
