//! Switchyard: a GraphQL aggregation gateway over REST services.
//!
//! - [`config`]: the TOML configuration tree and its loading.
//! - [`http`]: the router, its layer stack, serving and draining.
//! - [`telemetry`]: logs and traces.
//! - `demo` (feature `demo`): the mock services and the gateway in one process.

#![forbid(unsafe_code)]

pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod http;
pub mod telemetry;

use std::sync::Arc;

pub use http::{RunningGateway, ServeError};

/// Starts a gateway for `config` on its configured listen address.
pub async fn start(config: &config::Config) -> Result<RunningGateway, ServeError> {
    let state = http::AppState {
        readiness: Arc::new(http::Readiness::default()),
    };
    http::start(config.server.listen, state, config.server.shutdown_timeout).await
}
