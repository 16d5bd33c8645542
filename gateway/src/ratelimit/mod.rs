//! Rate limiting: each client (token subject, else API key, else IP address) gets the quota
//! of its class (anonymous, authenticated, or a scope's), under an optional global
//! ceiling. Counters live behind [`RateLimitBackend`]: in-process GCRA here, shared ones
//! (Redis) can plug in.
//!
//! The engine asks it once per operation (so a request can be weighed by its query's
//! cost); the HTTP handler turns its decision into `RateLimit-*` headers and a 429.

mod admission;
mod client;
mod local;

use std::{fmt, num::NonZeroU32, sync::Arc, time::Duration};

use axum::http::HeaderName;

pub use admission::RateLimitSlot;
pub use client::Client;
pub use local::LocalBackend;

use crate::config::{QuotaConfig, RateLimitConfig};

/// A quota: `burst` requests at once, one more every `per_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    pub limit: NonZeroU32,
    pub burst: NonZeroU32,
    /// The configured period for `limit` requests, for `RateLimit-Policy`-style headers.
    pub period: Duration,
}

impl Quota {
    fn from_config(config: &QuotaConfig, name: &str) -> Result<Quota, RateLimitConfigError> {
        let bad = |reason: &str| RateLimitConfigError::Quota {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        let limit =
            NonZeroU32::new(config.requests).ok_or_else(|| bad("`requests` must be > 0"))?;
        if config.per.is_zero() {
            return Err(bad("`per` must be longer than zero"));
        }
        let burst = match config.burst {
            None => limit,
            Some(burst) => NonZeroU32::new(burst).ok_or_else(|| bad("`burst` must be > 0"))?,
        };
        Ok(Quota {
            limit,
            burst,
            period: config.per,
        })
    }

    /// The time one request's allowance takes to come back.
    pub fn per_request(&self) -> Duration {
        self.period / self.limit.get()
    }
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the client's allowance is whole again.
    pub reset: Duration,
    /// For a refusal: until the request would be let through.
    pub retry_after: Option<Duration>,
}

/// Where counters live.
#[async_graphql::async_trait::async_trait]
pub trait RateLimitBackend: Send + Sync + fmt::Debug {
    /// Counts `weight` requests of `key` under `class`'s `quota`. Keys of different classes
    /// never share a counter.
    async fn check(&self, class: &str, key: &str, quota: &Quota, weight: NonZeroU32) -> Decision;
}

#[derive(Debug, thiserror::Error)]
pub enum RateLimitConfigError {
    #[error("rate_limit.{name}: {reason}")]
    Quota { name: String, reason: String },
    #[error("rate_limit.api_key_header: `{0}` is not a valid header name")]
    Header(String),
}

/// The classes' quotas and how clients are told apart.
#[derive(Debug)]
pub struct RateLimiter {
    backend: Arc<dyn RateLimitBackend>,
    anonymous: Quota,
    authenticated: Quota,
    scopes: Vec<(String, Quota)>,
    global: Option<Quota>,
    api_key_header: Option<HeaderName>,
    trusted_proxies: Vec<ipnet::IpNet>,
    cost_unit: u64,
}

/// The class names, as counters, logs and metrics know them.
pub const ANONYMOUS: &str = "anonymous";
pub const AUTHENTICATED: &str = "authenticated";
pub const GLOBAL: &str = "global";

impl RateLimiter {
    /// The limiter `config` asks for, counting in-process; `None` when rate limiting is off.
    pub fn from_config(
        config: &RateLimitConfig,
    ) -> Result<Option<RateLimiter>, RateLimitConfigError> {
        if !config.enabled {
            return Ok(None);
        }
        let anonymous = Quota::from_config(&config.anonymous, ANONYMOUS)?;
        let authenticated = Quota::from_config(&config.authenticated, AUTHENTICATED)?;
        let mut scopes = Vec::new();
        for (scope, quota) in &config.scopes {
            scopes.push((
                scope.clone(),
                Quota::from_config(quota, &format!("scopes.{scope}"))?,
            ));
        }
        let global = config
            .global
            .as_ref()
            .map(|quota| Quota::from_config(quota, GLOBAL))
            .transpose()?;
        let api_key_header = config
            .api_key_header
            .as_ref()
            .map(|name| {
                HeaderName::try_from(name.as_str())
                    .map_err(|_| RateLimitConfigError::Header(name.clone()))
            })
            .transpose()?;
        Ok(Some(RateLimiter {
            backend: Arc::new(LocalBackend::new()),
            anonymous,
            authenticated,
            scopes,
            global,
            api_key_header,
            trusted_proxies: config.trusted_proxies.clone(),
            cost_unit: config.cost_unit,
        }))
    }

    /// Counts on `backend` instead (shared counters).
    pub fn with_backend(mut self, backend: Arc<dyn RateLimitBackend>) -> RateLimiter {
        self.backend = backend;
        self
    }

    /// How many requests a query of estimated `cost` counts for.
    pub fn weight(&self, cost: u64) -> NonZeroU32 {
        let extra = cost.checked_div(self.cost_unit).unwrap_or(0);
        NonZeroU32::new(u32::try_from(extra.saturating_add(1)).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN)
    }

    pub fn weighs_cost(&self) -> bool {
        self.cost_unit > 0
    }

    /// Counts one request of `client`, then the global ceiling; the stricter answer wins.
    pub async fn check(&self, client: &Client, weight: NonZeroU32) -> Decision {
        // A request heavier than the whole burst still passes when the allowance is
        // whole: it empties it.
        let capped = weight.min(client.quota.burst);
        let decision = self
            .backend
            .check(&client.class, &client.key, &client.quota, capped)
            .await;
        if !decision.allowed {
            return decision;
        }
        match &self.global {
            Some(global) => {
                let ceiling = self
                    .backend
                    .check(GLOBAL, "", global, weight.min(global.burst))
                    .await;
                if ceiling.allowed { decision } else { ceiling }
            }
            None => decision,
        }
    }
}
