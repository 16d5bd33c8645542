//! `[log]`: what the gateway logs and how.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `pretty` (human, coloured when on a terminal) or `json` (one object per line).
    #[serde(default)]
    pub format: LogFormat,
    /// A `RUST_LOG`-style filter such as `info,switchyard=debug`. `RUST_LOG`, when set,
    /// takes precedence.
    #[serde(default = "default_filter")]
    pub filter: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

fn default_filter() -> String {
    "info".to_owned()
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::default(),
            filter: default_filter(),
        }
    }
}
