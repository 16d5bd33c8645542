//! `/graphql`: GraphQL over HTTP (POST JSON, GET for queries) and GraphiQL for browsers.

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    extract::State,
    http::{HeaderMap, Method, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use switchyard_schema::Engine;

use crate::auth::{AuthError, Authenticator};

/// What the GraphQL handlers share.
#[derive(Clone)]
pub struct GraphqlState {
    pub engine: Arc<Engine>,
    pub auth: Arc<Authenticator>,
    pub graphiql: bool,
}

/// A request-level GraphQL error with `extensions`.
pub fn coded_error(message: String, extensions: &[(&str, &str)]) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    let mut values = async_graphql::ErrorExtensionValues::default();
    for (name, value) in extensions {
        values.set(*name, *value);
    }
    error.extensions = Some(values);
    error
}

/// A refused token: HTTP 401, `WWW-Authenticate` (RFC 6750) and a GraphQL error whose
/// `extensions.reason` says why in terms safe to show.
fn unauthorized(error: &AuthError) -> Response {
    let reason = error.reason();
    let body = async_graphql::Response::from_errors(vec![coded_error(
        format!("invalid token: {error}"),
        &[("code", "UNAUTHENTICATED"), ("reason", reason)],
    )]);
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{error}\"");
    let mut response = (StatusCode::UNAUTHORIZED, GraphQLResponse::from(body)).into_response();
    if let Ok(value) = header::HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// True for a browser navigating to the page (it asks for HTML), not a GraphQL client.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// A GET may only run queries: a mutation must not ride on a link or an image tag.
fn is_mutation_over_get(method: &Method, request: &async_graphql::Request) -> bool {
    if method != Method::GET {
        return false;
    }
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let operation = match &request.operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name.as_str()))
            .map(|(_, op)| op),
        None => document.operations.iter().next().map(|(_, op)| op),
    };
    operation.is_some_and(|op| op.node.ty != OperationType::Query)
}

pub async fn graphiql_or_query(
    State(state): State<GraphqlState>,
    method: Method,
    headers: HeaderMap,
    request: Result<GraphQLRequest, async_graphql_axum::rejection::GraphQLRejection>,
) -> Response {
    if method == Method::GET && wants_html(&headers) && state.graphiql {
        return graphiql().into_response();
    }
    let request = match request {
        Ok(request) => request.into_inner(),
        Err(rejection) => return rejection.into_response(),
    };
    if is_mutation_over_get(&method, &request) {
        let body = async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
            "mutations are only accepted over POST",
            None,
        )]);
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            GraphQLResponse::from(body),
        )
            .into_response();
    }
    let caller = match state.auth.caller(headers).await {
        Ok(caller) => caller,
        Err(error) => {
            tracing::debug!(reason = error.reason(), "token refused");
            return unauthorized(&error);
        }
    };
    GraphQLResponse::from(state.engine.execute(request, caller).await).into_response()
}

/// The GraphiQL page.
fn graphiql() -> Html<&'static str> {
    Html(include_str!("graphiql.html"))
}
