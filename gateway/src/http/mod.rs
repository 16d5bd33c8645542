//! The HTTP side: the router, the tower stack around it, and serving with a graceful drain.

pub mod cors;
mod graphiql;
pub mod graphql;
pub mod health;
pub mod live;
mod reject;
pub mod request;
mod serve;

use std::sync::Arc;

use axum::{Router, routing::get};
use tower_http::trace::TraceLayer;

pub use graphql::{Current, GraphqlState, Version};
pub use health::Readiness;
pub use serve::{RunningGateway, ServeError, start};

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub readiness: Arc<Readiness>,
    pub graphql: GraphqlState,
    /// Cross-origin access to `/graphql`, when any origin is allowed.
    pub cors: Option<tower_http::cors::CorsLayer>,
    /// Served at `/metrics` when set.
    pub metrics: Option<Arc<crate::telemetry::Metrics>>,
}

/// The gateway's router with its whole layer stack, ready to serve or to test with
/// `oneshot`. The stack is assembled here and nowhere else; outermost layer last.
pub fn app(state: AppState) -> Router {
    let mut graphql = get(graphql::graphql)
        .post(graphql::graphql)
        .with_state(state.graphql.clone());
    if let Some(cors) = state.cors.clone() {
        graphql = graphql.layer(cors);
    }
    let mut router = Router::new().route("/graphql", graphql);
    if let Some(metrics) = state.metrics.clone() {
        let current = state.graphql.current.clone();
        router = router.route(
            "/metrics",
            get(move || async move {
                let engine = current.get().engine.clone();
                let cache_bytes = engine.fetcher().cache_bytes().await;
                let circuits: Vec<_> = engine
                    .fetcher()
                    .circuits()
                    .into_iter()
                    .map(|(name, state)| (name.as_str(), state))
                    .collect();
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render(cache_bytes, &circuits),
                )
            }),
        );
    }
    router
        .route("/graphiql.js", get(graphiql::script))
        .route("/graphiql.css", get(graphiql::style))
        .route("/graphiql-page.css", get(graphiql::page_style))
        .route("/health", get(health::health))
        .route(
            "/ready",
            get(health::ready).with_state(state.readiness.clone()),
        )
        // One span per request, so every event logged while serving it carries its method
        // and path. Outermost, so it also covers time spent in the layers below.
        .layer(TraceLayer::new_for_http())
}
