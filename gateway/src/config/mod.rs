//! The gateway's configuration: one TOML file, every key documented with a default, unknown
//! keys rejected, and `SWITCHYARD_`-prefixed environment variables overriding any key.
//!
//! The tree is plain serde data; [`load`] reads and validates it once, and the result is
//! shared read-only.

mod load;
pub mod log;
pub mod server;
pub mod sources;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use load::{ConfigError, load, load_from_str};
pub use log::{LogConfig, LogFormat};
pub use server::ServerConfig;
pub use sources::SourceOverride;

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
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
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
