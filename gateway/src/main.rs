//! The `switchyard` binary: parses the command line and runs one command.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use switchyard::{
    auth::mint::{TokenRequest, mint},
    config::{self, Config},
};

mod cli;

use cli::{Cli, Command, ConfigArgs};

/// mimalloc instead of the system allocator: a GraphQL response is thousands of small
/// short-lived allocations, where glibc's malloc spent a third of the gateway's CPU and
/// fragmented its memory (see the commit that added it for the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &ConfigArgs) -> Result<Config, config::ConfigError> {
    let mut config = config::load(args.config.as_deref())?;
    if let Some(schema) = &args.schema {
        config.schema.path = schema.clone();
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    Ok(config)
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let config = load_config(&args)?;
            let watcher = switchyard::reload::Watcher::new(args.config.clone(), &config);
            let telemetry = switchyard::telemetry::init(&config.log, &config.telemetry)?;
            let gateway = switchyard::start(&config).await?;
            let watcher =
                tokio::spawn(watcher.run(gateway.state().clone(), move || load_config(&args)));
            wait_for_signal().await;
            watcher.abort();
            gateway.shutdown();
            let stopped = gateway.wait().await.context("stopping");
            // Flushing waits for the exporter, which runs on this runtime: off its workers.
            let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
            stopped?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Demo(args) => {
            let mut telemetry_config = config::TelemetryConfig::default();
            telemetry_config.traces.endpoint = args.otlp.clone();
            let telemetry =
                switchyard::telemetry::init(&config::LogConfig::default(), &telemetry_config)?;
            let demo = switchyard::demo::start(args.listen, args.seed).await?;
            println!("{}", demo.banner());
            wait_for_signal().await;
            let stopped = demo.stop().await.context("stopping");
            let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
            stopped?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => {
            let config = load_config(&args)?;
            match switchyard::validate(&config).await {
                Ok(engine) => {
                    let sources = engine.graph().sources.len();
                    let types = engine.graph().objects.len();
                    println!(
                        "ok: {} ({types} object types, {sources} sources) and the config are valid",
                        config.schema.path.display()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    eprint!("{error}");
                    if !error.to_string().ends_with('\n') {
                        eprintln!();
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Token(args) => {
            let auth = if args.demo {
                demo_auth()?
            } else {
                config::load(args.config.as_deref())?.auth
            };
            let request = TokenRequest {
                subject: args.sub,
                scopes: args.scopes,
                valid_for: args.ttl,
                claims: args.claims.into_iter().collect(),
            };
            println!("{}", mint(&auth, &request)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck(args) => {
            let healthy = reqwest::Client::new()
                .get(&args.url)
                .timeout(std::time::Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if !healthy {
                eprintln!("unhealthy: {} did not answer 2xx", args.url);
            }
            Ok(if healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::PrintSchema(args) => {
            let config = load_config(&args)?;
            let engine = switchyard::load_engine(&config)?;
            print!("{}", engine.sdl());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The demo's `[auth]`, for `token --demo`.
fn demo_auth() -> anyhow::Result<config::AuthConfig> {
    #[cfg(feature = "demo")]
    {
        Ok(switchyard::demo::demo_auth())
    }
    #[cfg(not(feature = "demo"))]
    {
        anyhow::bail!("this build has no demo (feature `demo`)")
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown signal received");
}
