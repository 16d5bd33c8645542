//! State shared by replicas through Redis: rate-limit counters ([`ratelimit`]) and a
//! second-level response cache ([`cache`]). Every call is bounded by a timeout; when Redis
//! cannot be reached the gateway says so once in the log and in metrics, follows the
//! configured failure policy, and goes back to Redis by itself when it answers again.

pub mod cache;
pub mod ratelimit;

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::{
    Client,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use crate::{config::RedisConfig, telemetry::Metrics};

#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("redis.url: {0}")]
    Url(String),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// A connection to Redis, its health, and where its keys live.
#[derive(Clone)]
pub struct Redis {
    manager: ConnectionManager,
    prefix: String,
    timeout: Duration,
    up: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .field("up", &self.up.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Prepares the connection; it is opened on first use and reopened after failures,
    /// so the gateway starts (and serves, by its failure policy) while Redis is away.
    pub fn connect(
        config: &RedisConfig,
        url: &str,
        metrics: Arc<Metrics>,
    ) -> Result<Redis, SharedError> {
        let client = Client::open(url).map_err(|e| SharedError::Url(e.to_string()))?;
        let manager = ConnectionManager::new_lazy_with_config(
            client,
            ConnectionManagerConfig::new()
                .set_connection_timeout(Some(config.timeout))
                .set_response_timeout(Some(config.timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_secs(1)),
        )?;
        metrics.redis_up(true);
        Ok(Redis {
            manager,
            prefix: config.key_prefix.clone(),
            timeout: config.timeout,
            up: Arc::new(AtomicBool::new(true)),
            metrics,
        })
    }

    /// `prefix:kind:rest`: one key per decision or entry, so every script touches one key
    /// and Redis Cluster can place each anywhere.
    pub fn key(&self, kind: &str, rest: &str) -> String {
        format!("{}:{kind}:{rest}", self.prefix)
    }

    /// Runs `call` on a connection within the timeout, noting Redis going away and back.
    pub async fn run<T, F, Fut>(&self, call: F) -> Result<T, SharedError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let result = match tokio::time::timeout(self.timeout, call(self.manager.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(SharedError::Redis(error)),
            Err(_) => Err(SharedError::Timeout(self.timeout)),
        };
        let ok = result.is_ok();
        if self.up.swap(ok, Ordering::Relaxed) != ok {
            self.metrics.redis_up(ok);
            match &result {
                Ok(_) => tracing::info!("Redis is reachable again: shared state resumes"),
                Err(error) => {
                    tracing::warn!(%error, "Redis is unreachable: following redis.on_failure")
                }
            }
        }
        result
    }
}
