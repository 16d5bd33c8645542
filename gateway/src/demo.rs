//! `switchyard demo`: the four mock services and the gateway in one process.

use std::{net::SocketAddr, time::Duration};
use switchyard_mock::{ClusterConfig, MockCluster, ServiceKind};

use std::path::Path;

use switchyard_schema::{LoadError, SHOP_SCHEMA};

use crate::{
    RunningGateway,
    auth::mint::{TokenRequest, mint},
    config::{AuthConfig, Config, IssuerConfig, SourceOverride},
};

/// The demo's HMAC secret. Public on purpose: it signs development tokens only, and a
/// real deployment configures its own issuers.
pub const DEMO_SECRET: &str = "switchyard-demo-secret-not-for-production";
/// The demo tokens' `iss`.
pub const DEMO_ISSUER: &str = "switchyard-demo";

/// The `[auth]` of the demo: tokens signed with [`DEMO_SECRET`].
pub fn demo_auth() -> AuthConfig {
    AuthConfig {
        issuers: vec![IssuerConfig {
            issuer: Some(DEMO_ISSUER.to_owned()),
            secret: Some(DEMO_SECRET.to_owned()),
            ..IssuerConfig::default()
        }],
        ..AuthConfig::default()
    }
}

/// A running demo: services and gateway.
pub struct Demo {
    services: MockCluster,
    gateway: RunningGateway,
    token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("starting the demo services: {0}")]
    Services(#[from] std::io::Error),
    #[error("starting the gateway: {0}")]
    Gateway(#[from] crate::StartError),
    #[error("minting the demo token: {0}")]
    Token(#[from] crate::auth::mint::MintError),
    #[error("the built-in demo schema: {0}")]
    Schema(LoadError),
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
    config.auth = demo_auth();
    for kind in ServiceKind::ALL {
        let url = services.url(kind);
        config.sources.insert(
            kind.name().to_owned(),
            SourceOverride {
                url,
                ..SourceOverride::default()
            },
        );
    }
    let token = mint(
        &config.auth,
        &TokenRequest {
            subject: "1".to_owned(),
            scopes: vec!["users:email".to_owned()],
            valid_for: Duration::from_secs(24 * 3600),
            claims: Default::default(),
        },
    )?;
    // GraphiQL opens with this token in its headers editor.
    config.graphql.demo_token = Some(token.clone());
    let gateway = crate::start_from_sdl(&config, Path::new("shop.graphql (built in)"), SHOP_SCHEMA)
        .await
        .map_err(|error| match error {
            crate::StartError::Schema(error) => DemoError::Schema(error),
            other => DemoError::Gateway(other),
        })?;
    Ok(Demo {
        services,
        gateway,
        token,
    })
}

impl Demo {
    pub fn gateway(&self) -> &RunningGateway {
        &self.gateway
    }

    pub fn services(&self) -> &MockCluster {
        &self.services
    }

    /// A token for user 1 with scope `users:email`, valid for a day.
    pub fn token(&self) -> &str {
        &self.token
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
            "  Token          {} (user 1, scope users:email, 24 h; `switchyard token --demo` makes more)",
            self.token
        ));
        lines.push(format!(
            "Try: curl {}/graphql -H 'content-type: application/json' \\\n       -H 'authorization: Bearer {}' \\\n       -d '{{\"query\": \"{{ me {{ name email }} }}\"}}'",
            self.gateway.url(),
            self.token
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
