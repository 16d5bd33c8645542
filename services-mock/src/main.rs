//! `switchyard-mock`: the four demo services from the command line.

use std::net::IpAddr;

use anyhow::Context;
use clap::Parser;
use switchyard_mock::{ClusterConfig, DatasetSize, FaultConfig, MockCluster, ServiceKind};
use tracing_subscriber::EnvFilter;

/// Runs the demo shop's REST services: users, orders, payments, notifications.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to bind every service on.
    #[arg(long, default_value = "127.0.0.1", env = "SWITCHYARD_MOCK_HOST")]
    host: IpAddr,
    /// Port of the users service (0: any free port).
    #[arg(long, default_value_t = 4001)]
    users_port: u16,
    #[arg(long, default_value_t = 4002)]
    orders_port: u16,
    #[arg(long, default_value_t = 4003)]
    payments_port: u16,
    #[arg(long, default_value_t = 4004)]
    notifications_port: u16,
    /// Run only these services (repeat the flag); all four by default.
    #[arg(long = "only", value_enum)]
    only: Vec<ServiceKind>,
    /// Seed of the generated data: the same seed gives the same shop.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of users to generate.
    #[arg(long, default_value_t = DatasetSize::default().users)]
    users: u64,
    /// Number of orders to generate.
    #[arg(long, default_value_t = DatasetSize::default().orders)]
    orders: u64,
    /// Latency added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Random extra latency, 0 to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Share of requests answered with a 500 (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of responses with a malformed JSON body (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    malformed_rate: f64,
    /// Never answer any request (until changed through POST /__faults).
    #[arg(long)]
    hang: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let faults = FaultConfig {
        latency_ms: args.latency_ms,
        jitter_ms: args.jitter_ms,
        error_rate: args.error_rate,
        malformed_rate: args.malformed_rate,
        hang: args.hang,
    };
    faults
        .validate()
        .map_err(|(field, message)| anyhow::anyhow!("--{field}: {message}"))?;
    let config = ClusterConfig {
        host: args.host,
        ports: [
            args.users_port,
            args.orders_port,
            args.payments_port,
            args.notifications_port,
        ],
        services: if args.only.is_empty() {
            ServiceKind::ALL.to_vec()
        } else {
            args.only
        },
        seed: args.seed,
        size: DatasetSize {
            users: args.users.max(1),
            orders: args.orders,
            ..DatasetSize::default()
        },
        faults,
    };
    let mut cluster = MockCluster::start(config)
        .await
        .context("starting the services")?;
    for service in cluster.services() {
        println!("{:<14} {}", service.kind().name(), service.url());
    }
    tokio::select! {
        result = cluster.wait() => result.context("a service stopped")?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted, stopping"),
        _ = terminate() => tracing::info!("terminated, stopping"),
    }
    cluster.stop().await;
    Ok(())
}

#[cfg(unix)]
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await
}
