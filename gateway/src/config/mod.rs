//! The gateway's configuration: one TOML file, every key documented with a default, unknown
//! keys rejected, and `SWITCHYARD_`-prefixed environment variables overriding any key.
//!
//! The tree is plain serde data; [`load`] reads and validates it once, and the result is
//! shared read-only.

pub mod auth;
pub mod cors;
pub mod limits;
mod load;
pub mod log;
pub mod rate_limit;
pub mod redis;
pub mod server;
pub mod sources;
pub mod subscriptions;
pub mod telemetry;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use auth::{AuthConfig, IssuerConfig};
pub use cors::CorsConfig;
pub use limits::LimitsConfig;
pub use load::{ConfigError, load, load_from_str};
pub use log::{LogConfig, LogFormat};
pub use rate_limit::{QuotaConfig, RateLimitConfig};
pub use redis::{FailurePolicy, RedisConfig};
pub use server::ServerConfig;
pub use sources::SourceOverride;
pub use subscriptions::SubscriptionsConfig;
pub use telemetry::{OtlpProtocol, TelemetryConfig, TracesConfig};

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HTTP listener.
    #[serde(default)]
    pub server: ServerConfig,
    /// The schema file.
    #[serde(default)]
    pub schema: SchemaConfig,
    /// Per-environment overrides of the sources the schema declares, by source name:
    /// `[sources.users] url = "http://users.internal:8080"`.
    #[serde(default)]
    pub sources: std::collections::BTreeMap<String, SourceOverride>,
    /// The GraphQL endpoint.
    #[serde(default)]
    pub graphql: GraphqlConfig,
    /// The response cache shared by all requests.
    #[serde(default)]
    pub cache: CacheConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Authentication: token issuers and their keys.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Request and query size limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Requests per client.
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// Cross-origin browser access.
    #[serde(default)]
    pub cors: CorsConfig,
    /// Subscriptions over WebSocket and server-sent events.
    #[serde(default)]
    pub subscriptions: SubscriptionsConfig,
    /// Traces and metrics.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// Shared state for several replicas.
    #[serde(default)]
    pub redis: RedisConfig,
}

/// `[graphql]`: what the `/graphql` endpoint offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlConfig {
    /// Answer introspection queries (and suggest field names in errors).
    #[serde(default = "default_true")]
    pub introspection: bool,
    /// Serve the GraphiQL explorer to browsers on `GET /graphql`.
    #[serde(default = "default_true")]
    pub graphiql: bool,
    /// Refuse requests a browser could send from another site without a CORS preflight:
    /// POSTs that are not JSON, and GETs without a JSON content type or an
    /// `x-graphql-preflight` (or `apollo-require-preflight`) header.
    #[serde(default = "default_true")]
    pub csrf_prevention: bool,
    /// An identical query (same text, variables, operation and caller credentials) arriving
    /// while one executes waits for that answer instead of executing again. Never for
    /// mutations; across callers only for queries of public data (see the schema docs).
    #[serde(default = "default_true")]
    pub dedup: bool,
    /// Run queries on the planned executor, which answers fields read from their parent's
    /// JSON without a resolver each; queries it does not plan (directives, introspection)
    /// and all mutations run on async-graphql's executor either way.
    #[serde(default = "default_true")]
    pub planned_execution: bool,
    /// A token put in GraphiQL's headers editor; set by `switchyard demo`, never read
    /// from a config file.
    #[serde(skip)]
    pub demo_token: Option<String>,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        GraphqlConfig {
            introspection: true,
            graphiql: true,
            csrf_prevention: true,
            dedup: true,
            planned_execution: true,
            demo_token: None,
        }
    }
}

fn default_true() -> bool {
    true
}

/// `[cache]`: the in-memory response cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Upper bound of the memory cached responses hold (parsed bodies, estimated), in
    /// bytes. 0 disables caching (concurrent identical calls are still coalesced).
    #[serde(default = "default_cache_bytes")]
    pub max_bytes: u64,
}

fn default_cache_bytes() -> u64 {
    32 * 1024 * 1024
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_bytes: default_cache_bytes(),
        }
    }
}

/// `[schema]`: where the graph is declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    /// Path of the SDL schema file. A relative path is taken from the config file's folder
    /// (or the working directory when there is no config file).
    #[serde(default = "default_schema_path")]
    pub path: PathBuf,
}

fn default_schema_path() -> PathBuf {
    PathBuf::from("schema.graphql")
}

impl Default for SchemaConfig {
    fn default() -> Self {
        SchemaConfig {
            path: default_schema_path(),
        }
    }
}
