//! The rate limit as the engine's admission check: before parsing when every request
//! counts one, after it when requests are weighed by their query's cost.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{ServerError, extensions::ExtensionContext};
use switchyard_schema::{extension::Admission, resolve::RequestData};

use super::{Decision, RateLimiter};

/// Put in a request's data (as `Arc<RateLimitSlot>`) by the HTTP handler to learn the
/// decision, which it turns into headers and a status.
#[derive(Debug, Default)]
pub struct RateLimitSlot {
    decision: Mutex<Option<(Decision, String)>>,
}

impl RateLimitSlot {
    /// The last decision taken for this request (for a batch: its last operation's, or
    /// the first refusal).
    pub fn decision(&self) -> Option<Decision> {
        self.decision
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(decision, _)| *decision)
    }

    /// The client class of the decision (`anonymous`, `authenticated`, `scope:...`).
    pub fn class(&self) -> Option<String> {
        self.decision
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(_, class)| class.clone())
    }

    fn record(&self, decision: Decision, class: &str) {
        let mut slot = self.decision.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_none_or(|(held, _)| held.allowed) {
            *slot = Some((decision, class.to_owned()));
        }
    }
}

/// The error of a refused request, with the wait in `extensions.retryAfter` (seconds).
fn refused(decision: &Decision) -> ServerError {
    let wait = decision
        .retry_after
        .map(|d| d.as_secs_f64().ceil().max(1.0) as u64)
        .unwrap_or(1);
    let mut error = ServerError::new(format!("rate limit exceeded: retry in {wait} s"), None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "RATE_LIMITED");
    extensions.set("retryAfter", wait);
    error.extensions = Some(extensions);
    error
}

/// The engine asks the rate limiter once per operation: before parsing when every
/// request counts one, after it (with the cost) when requests are weighed.
#[async_graphql::async_trait::async_trait]
impl Admission for RateLimiter {
    fn weighs_cost(&self) -> bool {
        RateLimiter::weighs_cost(self)
    }

    async fn admit(
        &self,
        ctx: &ExtensionContext<'_>,
        data: &RequestData,
        cost: Option<u64>,
    ) -> Result<(), ServerError> {
        let caller = &data.caller;
        let client = self.client(caller.claims.as_ref(), &caller.headers, caller.peer);
        let weight = cost.map_or(std::num::NonZeroU32::MIN, |cost| self.weight(cost));
        let decision = self.check(&client, weight).await;
        if let Some(slot) = ctx.data_opt::<Arc<RateLimitSlot>>() {
            slot.record(decision, &client.class);
        }
        if decision.allowed {
            Ok(())
        } else {
            Err(refused(&decision))
        }
    }
}
