//! The planned executor: queries answered from a plan made once per query text, beside
//! async-graphql's executor.
//!
//! async-graphql resolves every field through boxed futures, an argument map, the
//! extension chain and a dynamic-schema lookup, also a leaf read from its parent's JSON:
//! on `wide` (1,200 leaves from one call) that was most of the gateway's CPU per request.
//! A query async-graphql has parsed and validated is executed here instead when its plan
//! allows ([`compile`] says what it does not); async-graphql still parses, validates,
//! answers introspection, mutations and subscriptions, and any query this refuses.

mod compile;
mod execute;

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;

pub use compile::{DocumentPlan, OperationPlan, Unsupported};
pub use execute::execute;

use crate::resolve::Plans;

/// Plans by query text, made once per text and schema.
pub struct Planner {
    plans: Arc<Plans>,
    cache: moka::future::Cache<Arc<str>, Arc<DocumentPlan>>,
}

/// Bound of the plan cache: about the bytes of the query texts it holds, several times
/// over (a plan is larger than its text).
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

impl Planner {
    pub fn new(plans: Arc<Plans>) -> Self {
        let cache = moka::future::Cache::builder()
            .max_capacity(CACHE_BYTES)
            .weigher(|text: &Arc<str>, _: &Arc<DocumentPlan>| {
                u32::try_from(text.len().saturating_mul(8).saturating_add(1024)).unwrap_or(u32::MAX)
            })
            .build();
        Planner { plans, cache }
    }

    /// The plan of `document`, parsed from `text`.
    pub async fn plan(&self, text: &str, document: &ExecutableDocument) -> Arc<DocumentPlan> {
        if let Some(plan) = self.cache.get(text).await {
            return plan;
        }
        let plan = Arc::new(compile::document(&self.plans, document));
        self.cache.insert(Arc::from(text), plan.clone()).await;
        plan
    }
}

impl std::fmt::Debug for Planner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner")
            .field("cached", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}
