//! `[rate_limit]`: how many requests each client may make. A client is its token's
//! subject, else its API key (when `api_key_header` is set), else its IP address.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Callers without a token (and without an API key), per IP address.
    #[serde(default = "default_anonymous")]
    pub anonymous: QuotaConfig,
    /// Callers with a valid token (per subject) or an API key (per key).
    #[serde(default = "default_authenticated")]
    pub authenticated: QuotaConfig,
    /// Quotas for tokens holding a scope, by scope; a token with several of these scopes
    /// gets the most generous.
    #[serde(default)]
    pub scopes: BTreeMap<String, QuotaConfig>,
    /// A ceiling on all requests together, whoever sends them. Off unless set.
    #[serde(default)]
    pub global: Option<QuotaConfig>,
    /// A header identifying clients without a token, such as `x-api-key`. The gateway does
    /// not verify API keys: set it only where something in front of the gateway does, or a
    /// client can escape its limit by inventing keys.
    #[serde(default)]
    pub api_key_header: Option<String>,
    /// Proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` is believed. Without
    /// any, the client's address is the connection's.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Weigh a request by its estimated query cost: it counts `1 + cost / cost_unit`
    /// requests. 0 counts every request as one.
    #[serde(default)]
    pub cost_unit: u64,
}

/// A number of requests per period; bursts up to `burst` (default: `requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    pub requests: u32,
    #[serde(with = "humantime_serde")]
    pub per: Duration,
    #[serde(default)]
    pub burst: Option<u32>,
}

fn default_true() -> bool {
    true
}

fn default_anonymous() -> QuotaConfig {
    QuotaConfig {
        requests: 300,
        per: Duration::from_secs(60),
        burst: None,
    }
}

fn default_authenticated() -> QuotaConfig {
    QuotaConfig {
        requests: 1200,
        per: Duration::from_secs(60),
        burst: None,
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            anonymous: default_anonymous(),
            authenticated: default_authenticated(),
            scopes: BTreeMap::new(),
            global: None,
            api_key_header: None,
            trusted_proxies: Vec::new(),
            cost_unit: 0,
        }
    }
}
