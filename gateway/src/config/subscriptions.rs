//! `[subscriptions]`: GraphQL subscriptions over WebSocket (`graphql-transport-ws`) and
//! server-sent events (`graphql-sse`) on `/graphql`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionsConfig {
    /// Accept WebSocket upgrades and `Accept: text/event-stream` requests on `/graphql`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Subscriptions one client (token subject, else address) may hold open at once.
    #[serde(default = "default_max_per_client")]
    pub max_per_client: usize,
    /// Subscriptions the gateway holds open at once, all clients together.
    #[serde(default = "default_max_total")]
    pub max_total: usize,
    /// How long a WebSocket may stay open without a `connection_init`.
    #[serde(default = "default_init_timeout", with = "humantime_serde")]
    pub init_timeout: Duration,
    /// How often an idle stream sends a keep-alive (an SSE comment, a WebSocket ping), so
    /// that proxies do not close it as idle.
    #[serde(default = "default_keepalive", with = "humantime_serde")]
    pub keepalive: Duration,
}

fn default_true() -> bool {
    true
}

fn default_max_per_client() -> usize {
    20
}

fn default_max_total() -> usize {
    10_000
}

fn default_init_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_keepalive() -> Duration {
    Duration::from_secs(15)
}

impl Default for SubscriptionsConfig {
    fn default() -> Self {
        SubscriptionsConfig {
            enabled: true,
            max_per_client: default_max_per_client(),
            max_total: default_max_total(),
            init_timeout: default_init_timeout(),
            keepalive: default_keepalive(),
        }
    }
}
