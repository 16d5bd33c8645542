//! `[server]`: where the gateway listens and how it stops.

use std::{net::SocketAddr, time::Duration};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port of the HTTP listener (`/graphql`, `/health`, `/ready`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// On SIGTERM or SIGINT, how long in-flight requests may take to finish before the
    /// process exits anyway. A humantime duration such as `30s`.
    #[serde(default = "default_shutdown_timeout", with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4000))
}

fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(30)
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            shutdown_timeout: default_shutdown_timeout(),
        }
    }
}
