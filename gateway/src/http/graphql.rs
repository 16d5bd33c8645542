//! `/graphql`: GraphQL over HTTP (POST JSON, GET for queries, batches) and GraphiQL for
//! browsers.

use std::sync::Arc;

use async_graphql_axum::GraphQLResponse;
use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, Method, Uri, header},
    response::{Html, IntoResponse, Response},
};
use switchyard_schema::Engine;

use super::{
    reject::unauthorized,
    request::{self, RequestRules},
};
use crate::auth::Authenticator;

/// What the GraphQL handlers share.
#[derive(Clone)]
pub struct GraphqlState {
    pub engine: Arc<Engine>,
    pub auth: Arc<Authenticator>,
    pub rules: Arc<RequestRules>,
    pub graphiql: bool,
}

/// True for a browser navigating to the page (it asks for HTML), not a GraphQL client.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

pub async fn graphql(
    State(state): State<GraphqlState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method == Method::GET && wants_html(&headers) && state.graphiql {
        return graphiql().into_response();
    }
    let batch = match request::read(&state.rules, &method, &uri, &headers, body).await {
        Ok(batch) => batch,
        Err(rejection) => return rejection.into_response(),
    };
    let caller = match state.auth.caller(headers).await {
        Ok(caller) => caller,
        Err(error) => {
            tracing::debug!(reason = error.reason(), "token refused");
            return unauthorized(&error);
        }
    };
    GraphQLResponse::from(state.engine.execute_batch(batch, caller).await).into_response()
}

/// The GraphiQL page.
fn graphiql() -> Html<&'static str> {
    Html(include_str!("graphiql.html"))
}
