//! The rate limit as a GraphQL extension: before parsing when every request counts one,
//! after it when requests are weighed by their query's cost.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{
    ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::ExecutableDocument,
};
use switchyard_schema::resolve::RequestData;

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

pub struct RateLimitExtension(pub Arc<RateLimiter>);

impl ExtensionFactory for RateLimitExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Check(self.0.clone()))
    }
}

struct Check(Arc<RateLimiter>);

#[async_graphql::async_trait::async_trait]
impl Extension for Check {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let Some(data) = ctx.data_opt::<RequestData>() else {
            return next.run(ctx, query, variables).await;
        };
        let limiter = &self.0;
        let caller = &data.caller;
        let client = limiter.client(caller.claims.as_ref(), &caller.headers, caller.peer);
        let record = |decision: Decision| {
            if let Some(slot) = ctx.data_opt::<Arc<RateLimitSlot>>() {
                slot.record(decision, &client.class);
            }
        };
        if !limiter.weighs_cost() {
            let decision = limiter.check(&client, std::num::NonZeroU32::MIN).await;
            record(decision);
            if !decision.allowed {
                return Err(refused(&decision));
            }
            return next.run(ctx, query, variables).await;
        }
        let parsed = next.run(ctx, query, variables).await;
        // A document refused by the query limits still counts as one request.
        let cost = if parsed.is_ok() { data.cost.get() } else { 0 };
        let decision = limiter.check(&client, limiter.weight(cost)).await;
        record(decision);
        if !decision.allowed {
            return Err(refused(&decision));
        }
        parsed
    }
}
