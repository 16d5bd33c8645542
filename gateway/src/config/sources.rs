//! `[sources.<name>]`: per-environment settings of a source the schema declares.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceOverride {
    /// Base URL replacing the schema's `@source(url:)`, e.g. `http://users:8080`.
    #[serde(default)]
    pub url: Option<String>,
    /// Request timeout replacing the schema's `@source(timeout:)`, e.g. `2s`.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
}
