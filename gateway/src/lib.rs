//! Switchyard: a GraphQL aggregation gateway over REST services.
//!
//! - [`config`]: the TOML configuration tree and its loading.
//! - [`http`]: the router, its layer stack, serving and draining.
//! - [`telemetry`]: logs and traces.
//! - `demo` (feature `demo`): the mock services and the gateway in one process.
//!
//! The schema engine itself (schema file -> executable GraphQL over REST) is the
//! `switchyard-schema` crate.

#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod http;
pub mod ratelimit;
pub mod reload;
pub mod shared;
pub mod telemetry;

use std::{path::Path, sync::Arc};

pub use http::{RunningGateway, ServeError};
use switchyard_schema::{Engine, EngineOptions, LoadError, SourceOverride, extension::Admission};

/// Why the gateway did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Schema(#[from] LoadError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    Auth(#[from] auth::AuthConfigError),
    #[error(transparent)]
    RateLimit(#[from] ratelimit::RateLimitConfigError),
    #[error(transparent)]
    Cors(#[from] http::cors::CorsError),
    #[error(transparent)]
    Redis(#[from] shared::SharedError),
}

/// What lives as long as the gateway serves, across reloads: its metrics, and its Redis
/// connection when `[redis]` names one.
#[derive(Clone)]
pub struct Runtime {
    pub metrics: Arc<telemetry::Metrics>,
    pub redis: Option<shared::Redis>,
}

impl Runtime {
    pub fn new(config: &config::Config) -> Result<Runtime, StartError> {
        let metrics = Arc::new(telemetry::Metrics::new(config.redis.url.is_some()));
        let redis = config
            .redis
            .url
            .as_deref()
            .map(|url| shared::Redis::connect(&config.redis, url, metrics.clone()))
            .transpose()?;
        Ok(Runtime { metrics, redis })
    }
}

/// The engine options that `config` asks for, the rate limiter's extension included
/// (counting in Redis when `runtime` has it).
pub fn engine_options(
    config: &config::Config,
    runtime: Option<&Runtime>,
) -> Result<EngineOptions, StartError> {
    let mut admission: Option<Arc<dyn Admission>> = None;
    if let Some(mut limiter) = ratelimit::RateLimiter::from_config(&config.rate_limit)? {
        if let Some(redis) = runtime.and_then(|r| r.redis.clone()) {
            limiter = limiter.with_backend(shared::ratelimit::RedisRateLimits::new(
                redis,
                config.redis.on_failure,
            ));
        }
        admission = Some(Arc::new(limiter));
    }
    Ok(EngineOptions {
        sources: config
            .sources
            .iter()
            .map(|(name, o)| {
                (
                    name.clone(),
                    SourceOverride {
                        url: o.url.clone(),
                        timeout: o.timeout,
                        policy: Some(o.policy()),
                    },
                )
            })
            .collect(),
        cache_bytes: config.cache.max_bytes,
        introspection: config.graphql.introspection,
        limits: config.limits.query_limits(),
        admission,
        dedup: config.graphql.dedup,
        planned: config.graphql.planned_execution,
    })
}

/// Reads and builds the schema file `config` names (for `check` and `print-schema`).
pub fn load_engine(config: &config::Config) -> Result<Engine, StartError> {
    Ok(Engine::load(
        &config.schema.path,
        &engine_options(config, None)?,
    )?)
}

/// Builds an engine from schema text (named `file` in errors) with `config`'s options.
pub fn engine_from_sdl(
    config: &config::Config,
    file: &Path,
    text: &str,
) -> Result<Engine, StartError> {
    Ok(Engine::from_sdl(
        file,
        text,
        &engine_options(config, None)?,
    )?)
}

/// Checks everything `config` asks for that can be checked without serving: the schema,
/// the limits, the CORS origins, the auth keys (JWKS documents are fetched once).
pub async fn validate(config: &config::Config) -> Result<Engine, StartError> {
    let engine = load_engine(config)?;
    http::cors::layer(&config.cors)?;
    auth::Authenticator::new(&config.auth).await?;
    Ok(engine)
}

/// Loads the schema file and starts a gateway on the configured listen address.
pub async fn start(config: &config::Config) -> Result<RunningGateway, StartError> {
    let runtime = Runtime::new(config)?;
    let engine = Engine::load(
        &config.schema.path,
        &engine_options(config, Some(&runtime))?,
    )?;
    serve(config, engine, runtime).await
}

/// Starts a gateway serving schema `text` (named `file` in errors).
pub async fn start_from_sdl(
    config: &config::Config,
    file: &Path,
    text: &str,
) -> Result<RunningGateway, StartError> {
    let runtime = Runtime::new(config)?;
    let engine = Engine::from_sdl(file, text, &engine_options(config, Some(&runtime))?)?;
    serve(config, engine, runtime).await
}

/// Starts a gateway serving an engine built without a runtime (no Redis-backed rate
/// limits: prefer [`start`] or [`start_from_sdl`]).
pub async fn start_with_engine(
    config: &config::Config,
    engine: Engine,
) -> Result<RunningGateway, StartError> {
    let runtime = Runtime::new(config)?;
    serve(config, engine, runtime).await
}

/// Everything a request is served with that a reload replaces: the engine (with its rate
/// limiter), the token checks and the request rules.
fn version(
    config: &config::Config,
    engine: Engine,
    auth: auth::Authenticator,
    runtime: &Runtime,
) -> http::Version {
    let engine = Arc::new(engine);
    engine.observe(Arc::new(telemetry::GatewayObserver {
        metrics: runtime.metrics.clone(),
    }));
    if config.redis.cache
        && let Some(redis) = &runtime.redis
    {
        engine.share_cache(Arc::new(shared::cache::RedisCache::new(
            redis.clone(),
            config.redis.cache_max_entry_bytes,
        )));
    }
    http::Version {
        engine,
        auth: Arc::new(auth),
        rules: Arc::new(http::request::RequestRules {
            max_body_bytes: config.limits.max_body_bytes,
            max_batch: config.limits.max_batch,
            csrf_prevention: config.graphql.csrf_prevention,
        }),
        graphiql: config.graphql.graphiql,
        demo_token: config.graphql.demo_token.clone(),
    }
}

async fn serve(
    config: &config::Config,
    engine: Engine,
    runtime: Runtime,
) -> Result<RunningGateway, StartError> {
    let auth = auth::Authenticator::new(&config.auth).await?;
    if !auth.enabled() {
        tracing::info!("no [[auth.issuers]] configured: every caller is anonymous");
    }
    let current = http::Current::new(version(config, engine, auth, &runtime));
    let metrics = runtime.metrics.clone();
    let state = http::AppState {
        readiness: Arc::new(http::Readiness::new(current.clone())),
        graphql: http::GraphqlState {
            current,
            metrics: metrics.clone(),
            live: Arc::new(http::live::Live::new(
                config.subscriptions.clone(),
                &config.cors,
            )),
            runtime,
        },
        cors: http::cors::layer(&config.cors)?,
        metrics: config.telemetry.metrics.then_some(metrics),
    };
    Ok(http::start(config.server.listen, state, config.server.shutdown_timeout).await?)
}

/// Builds what `config` (and the schema file it names) asks for beside the running one and,
/// when it is valid, swaps it in; requests in flight finish on the version they started
/// with. On error nothing changes. The listen address, CORS, logging and telemetry are
/// read at start only.
pub async fn reload(state: &http::GraphqlState, config: &config::Config) -> Result<(), StartError> {
    let options = engine_options(config, Some(&state.runtime))?;
    let engine = Engine::load(&config.schema.path, &options)?;
    let auth = auth::Authenticator::new(&config.auth).await?;
    http::cors::layer(&config.cors)?;
    state
        .current
        .replace(version(config, engine, auth, &state.runtime));
    Ok(())
}
