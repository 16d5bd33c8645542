//! The four demo REST services behind Switchyard: users, orders, payments and notifications.
//!
//! Each runs as its own HTTP server (start on any address, port 0 included, and read back
//! the bound address), over one seeded in-memory [`data::Store`] per process. They behave
//! like a small shop backend: batch endpoints, pagination, writes, an event stream, an
//! OpenAPI document each; plus request counters and fault knobs for tests and demos.

#![forbid(unsafe_code)]

pub mod data;
pub mod http;
pub mod openapi;
pub mod server;
pub mod services;
pub mod shutdown;

use std::{
    fmt, io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
};

pub use data::{Dataset, DatasetSize, Store};
pub use http::faults::FaultConfig;
pub use server::{RunningService, start_service};

/// One of the four services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum ServiceKind {
    Users,
    Orders,
    Payments,
    Notifications,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::Users,
        ServiceKind::Orders,
        ServiceKind::Payments,
        ServiceKind::Notifications,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Users => "users",
            ServiceKind::Orders => "orders",
            ServiceKind::Payments => "payments",
            ServiceKind::Notifications => "notifications",
        }
    }

    /// The demo's port: 4001 to 4004, beside the gateway's 4000.
    pub fn default_port(self) -> u16 {
        match self {
            ServiceKind::Users => 4001,
            ServiceKind::Orders => 4002,
            ServiceKind::Payments => 4003,
            ServiceKind::Notifications => 4004,
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to start: which services where, over which data, with which faults.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub host: IpAddr,
    /// Port per service, in [`ServiceKind::ALL`] order; 0 picks a free one.
    pub ports: [u16; 4],
    pub services: Vec<ServiceKind>,
    pub seed: u64,
    pub size: DatasetSize,
    pub faults: FaultConfig,
}

impl ClusterConfig {
    /// All four services on 127.0.0.1 with ephemeral ports: what tests want.
    pub fn ephemeral() -> Self {
        ClusterConfig {
            ports: [0; 4],
            ..ClusterConfig::default()
        }
    }
}

impl Default for ClusterConfig {
    /// The demo: all four services on 127.0.0.1:4001-4004, seed 42.
    fn default() -> Self {
        ClusterConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: ServiceKind::ALL.map(ServiceKind::default_port),
            services: ServiceKind::ALL.to_vec(),
            seed: 42,
            size: DatasetSize::default(),
            faults: FaultConfig::default(),
        }
    }
}

/// Several services sharing one store.
pub struct MockCluster {
    store: Arc<Store>,
    services: Vec<RunningService>,
}

impl MockCluster {
    /// Seeds the store and starts the configured services.
    pub async fn start(config: ClusterConfig) -> io::Result<MockCluster> {
        let size = config.size;
        let seed = config.seed;
        // Seeding 100k records is CPU work: keep it off the async workers.
        let data = tokio::task::spawn_blocking(move || Dataset::generate(seed, size))
            .await
            .map_err(io::Error::other)?;
        let store = Arc::new(Store::new(data));
        let mut services = Vec::new();
        for (kind, port) in ServiceKind::ALL.into_iter().zip(config.ports) {
            if config.services.contains(&kind) {
                let addr = SocketAddr::new(config.host, port);
                let service = start_service(kind, addr, store.clone(), config.faults.clone())
                    .await
                    .map_err(|e| {
                        io::Error::new(e.kind(), format!("{kind} service on {addr}: {e}"))
                    })?;
                services.push(service);
            }
        }
        Ok(MockCluster { store, services })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn services(&self) -> &[RunningService] {
        &self.services
    }

    pub fn service(&self, kind: ServiceKind) -> Option<&RunningService> {
        self.services.iter().find(|s| s.kind() == kind)
    }

    /// The base URL of a running service.
    pub fn url(&self, kind: ServiceKind) -> Option<String> {
        self.service(kind).map(RunningService::url)
    }

    /// Stops one service (its port is freed); the others keep running.
    pub async fn stop_service(&mut self, kind: ServiceKind) -> Option<SocketAddr> {
        let index = self.services.iter().position(|s| s.kind() == kind)?;
        let service = self.services.remove(index);
        let addr = service.addr();
        service.stop().await;
        Some(addr)
    }

    /// Starts a stopped service again on `addr`, over the same store.
    pub async fn restart_service(&mut self, kind: ServiceKind, addr: SocketAddr) -> io::Result<()> {
        let service = start_service(kind, addr, self.store.clone(), FaultConfig::default()).await?;
        self.services.push(service);
        Ok(())
    }

    /// Stops every service.
    pub async fn stop(self) {
        for service in self.services {
            service.stop().await;
        }
    }

    /// Resolves when any service ends on its own (an accept error).
    pub async fn wait(&mut self) -> io::Result<()> {
        let waits = self.services.iter_mut().map(|s| Box::pin(s.wait()));
        let (result, _, _) = futures_util::future::select_all(waits).await;
        result
    }
}
