//! `[sources.<name>]`: per-environment settings of a source the schema declares, and how
//! its calls fail over. Every key is optional; docs/resilience.md explains the defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchyard_schema::model::SourcePolicy;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceOverride {
    /// Base URL replacing the schema's `@source(url:)`, e.g. `http://users:8080`.
    #[serde(default)]
    pub url: Option<String>,
    /// Request timeout replacing the schema's `@source(timeout:)`, e.g. `2s`.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    /// Extra attempts of an idempotent call after a transient failure.
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub retry_backoff: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub retry_backoff_max: Option<Duration>,
    /// Retries as a share of recent calls.
    #[serde(default)]
    pub retry_budget: Option<f32>,
    #[serde(default)]
    pub retry_budget_min_per_second: Option<u32>,
    /// Consecutive failures that open the circuit (0: never).
    #[serde(default)]
    pub breaker_failures: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub breaker_open_for: Option<Duration>,
    /// Calls in flight at once (0: no limit).
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    #[serde(default)]
    pub max_response_bytes: Option<usize>,
    /// How long past its freshness a cached answer may stand in for a failing service.
    #[serde(default, with = "humantime_serde")]
    pub stale_if_error: Option<Duration>,
    /// Concurrent requests' calls to this source share upstream calls when identical
    /// (batches merge their keys).
    #[serde(default)]
    pub coalesce: Option<bool>,
}

impl SourceOverride {
    /// The resilience settings: the defaults with this table's keys over them.
    pub fn policy(&self) -> SourcePolicy {
        let mut policy = SourcePolicy::default();
        macro_rules! set {
            ($($key:ident),*) => {$(
                if let Some(value) = self.$key {
                    policy.$key = value;
                }
            )*};
        }
        set!(
            connect_timeout,
            retries,
            retry_backoff,
            retry_backoff_max,
            retry_budget,
            retry_budget_min_per_second,
            breaker_failures,
            breaker_open_for,
            max_concurrency,
            max_response_bytes,
            stale_if_error,
            coalesce
        );
        policy
    }
}
