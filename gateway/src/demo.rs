//! `switchyard demo`: the four mock services and the gateway in one process.

use std::net::SocketAddr;
use switchyard_mock::{ClusterConfig, MockCluster, ServiceKind};

use std::path::Path;

use switchyard_schema::{LoadError, SHOP_SCHEMA};

use crate::{
    RunningGateway,
    config::{Config, SourceOverride},
};

/// A running demo: services and gateway.
pub struct Demo {
    services: MockCluster,
    gateway: RunningGateway,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("starting the demo services: {0}")]
    Services(#[from] std::io::Error),
    #[error("starting the gateway: {0}")]
    Gateway(#[from] crate::ServeError),
    #[error("the built-in demo schema: {0}")]
    Schema(#[from] LoadError),
}

/// Starts the services on the four ports after `listen`'s (4001-4004 for the default 4000,
/// or ephemeral ports when `listen` has port 0) and the gateway on `listen`.
pub async fn start(listen: SocketAddr, seed: u64) -> Result<Demo, DemoError> {
    let ports = match listen.port() {
        0 => [0; 4],
        port => [1, 2, 3, 4].map(|offset| port.saturating_add(offset)),
    };
    let services = MockCluster::start(ClusterConfig {
        host: listen.ip(),
        ports,
        seed,
        ..ClusterConfig::default()
    })
    .await?;
    let mut config = Config::default();
    config.server.listen = listen;
    for kind in ServiceKind::ALL {
        let url = services.url(kind);
        config.sources.insert(
            kind.name().to_owned(),
            SourceOverride { url, timeout: None },
        );
    }
    let engine =
        crate::engine_from_sdl(&config, Path::new("shop.graphql (built in)"), SHOP_SCHEMA)?;
    let gateway = crate::start_with_engine(&config, engine).await?;
    Ok(Demo { services, gateway })
}

impl Demo {
    pub fn gateway(&self) -> &RunningGateway {
        &self.gateway
    }

    pub fn services(&self) -> &MockCluster {
        &self.services
    }

    /// What is where, for the terminal.
    pub fn banner(&self) -> String {
        let mut lines = vec![
            "Switchyard demo".to_owned(),
            format!("  GraphiQL       {}/graphql", self.gateway.url()),
        ];
        for kind in ServiceKind::ALL {
            if let Some(url) = self.services.url(kind) {
                lines.push(format!("  {:<14} {url}", kind.name()));
            }
        }
        lines.push(format!(
            "Try: curl '{}/users?ids=1,2,3'",
            self.services.url(ServiceKind::Users).unwrap_or_default()
        ));
        lines.push("Stop with Ctrl-C.".to_owned());
        lines.join("\n")
    }

    /// Drains the gateway, then stops the services.
    pub async fn stop(self) -> Result<(), crate::ServeError> {
        self.gateway.shutdown();
        let result = self.gateway.wait().await;
        self.services.stop().await;
        result
    }
}
