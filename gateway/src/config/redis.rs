//! `[redis]`: state shared by several gateway replicas, rate-limit counters and (when
//! asked) a second-level response cache. Without it everything stays in-process.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port/db`, or `rediss://` for TLS. Unset: no Redis.
    #[serde(default)]
    pub url: Option<String>,
    /// Prefix of every key the gateway writes, so several deployments can share a server.
    #[serde(default = "default_prefix")]
    pub key_prefix: String,
    /// Each Redis call gives up after this long.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// When Redis cannot be reached: `open` decides rate limits in-process until it is
    /// back, `closed` refuses requests that would need it.
    #[serde(default)]
    pub on_failure: FailurePolicy,
    /// Keep cacheable responses in Redis too, so a new replica starts warm.
    #[serde(default)]
    pub cache: bool,
    /// Larger responses are not written to Redis.
    #[serde(default = "default_max_entry")]
    pub cache_max_entry_bytes: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailurePolicy {
    #[default]
    Open,
    Closed,
}

fn default_prefix() -> String {
    "switchyard".to_owned()
}

fn default_timeout() -> Duration {
    Duration::from_millis(100)
}

fn default_max_entry() -> usize {
    1024 * 1024
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            key_prefix: default_prefix(),
            timeout: default_timeout(),
            on_failure: FailurePolicy::default(),
            cache: false,
            cache_max_entry_bytes: default_max_entry(),
        }
    }
}
