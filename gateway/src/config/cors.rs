//! `[cors]`: which web origins may call `/graphql` from a browser. None by default: only
//! pages served by the gateway's own origin (GraphiQL) can.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed, such as `https://app.example.com`; `"*"` allows any origin (and
    /// then never with credentials).
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// Let browsers send cookies and HTTP authentication along.
    #[serde(default)]
    pub allow_credentials: bool,
    /// Request headers allowed beyond `content-type`, `authorization` and the CSRF
    /// preflight headers.
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// How long browsers may cache a preflight answer.
    #[serde(default = "default_max_age", with = "humantime_serde")]
    pub max_age: Duration,
}

fn default_max_age() -> Duration {
    Duration::from_secs(600)
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allow_origins: Vec::new(),
            allow_credentials: false,
            allow_headers: Vec::new(),
            max_age: default_max_age(),
        }
    }
}
