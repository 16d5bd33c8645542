//! Reading a GraphQL request off HTTP: JSON bodies (one request or a batch) up to a size
//! limit, GET query strings, and the checks that keep a browser on another site from
//! sending one (CSRF): a POST must be JSON, which a cross-site page cannot send without a
//! CORS preflight, and a GET must carry a header such a page cannot set.

use async_graphql::{BatchRequest, parser::types::OperationType};
use axum::{
    body::Body,
    http::{HeaderMap, Method, Uri, header},
};

use super::reject::Rejection;

/// Headers that prove a GET was not sent by a plain cross-site link or form: a browser
/// sends none of them without a CORS preflight.
pub const PREFLIGHT_HEADERS: [&str; 3] = [
    "x-graphql-preflight",
    "apollo-require-preflight",
    "x-apollo-operation-name",
];

/// How requests are read.
#[derive(Debug, Clone)]
pub struct RequestRules {
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub csrf_prevention: bool,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v == "application/graphql-response+json")
}

/// The GraphQL request(s) of an HTTP request, or why there is none.
pub async fn read(
    rules: &RequestRules,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<BatchRequest, Rejection> {
    let batch = if method == Method::GET {
        if rules.csrf_prevention
            && !is_json(headers)
            && !PREFLIGHT_HEADERS.iter().any(|h| headers.contains_key(*h))
        {
            return Err(Rejection::CsrfSuspected);
        }
        let request = async_graphql::http::parse_query_string(uri.query().unwrap_or_default())
            .map_err(|e| Rejection::BadRequest(e.to_string()))?;
        if is_mutation(&request) {
            return Err(Rejection::MutationOverGet);
        }
        BatchRequest::Single(request)
    } else {
        if !is_json(headers) {
            return Err(Rejection::UnsupportedMediaType);
        }
        let limit = rules.max_body_bytes;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if limit > 0 && declared.is_some_and(|n| n > limit as u64) {
            return Err(Rejection::BodyTooLarge { limit });
        }
        let bytes = axum::body::to_bytes(body, if limit == 0 { usize::MAX } else { limit })
            .await
            .map_err(|error| {
                if error.into_inner().is::<http_body_util::LengthLimitError>() {
                    Rejection::BodyTooLarge { limit }
                } else {
                    Rejection::BodyUnreadable
                }
            })?;
        parse_body(&bytes)?
    };
    if let BatchRequest::Batch(items) = &batch {
        if rules.max_batch == 0 {
            return Err(Rejection::BatchRefused);
        }
        if items.len() > rules.max_batch {
            return Err(Rejection::BatchTooLarge {
                limit: rules.max_batch,
                actual: items.len(),
            });
        }
        if items.is_empty() {
            return Err(Rejection::BadRequest("an empty batch".to_owned()));
        }
    }
    Ok(batch)
}

/// The request(s) of a JSON body. Well-formed bodies are read once, straight into
/// requests; only a body that does not fit is read again as JSON to say exactly why.
fn parse_body(bytes: &[u8]) -> Result<BatchRequest, Rejection> {
    if let Ok(batch) = serde_json::from_slice::<BatchRequest>(bytes) {
        // async-graphql reads a missing `query` as an empty one.
        let missing = match &batch {
            BatchRequest::Single(request) => request.query.is_empty(),
            BatchRequest::Batch(requests) => requests.iter().any(|r| r.query.is_empty()),
        };
        if missing {
            return Err(no_query());
        }
        return Ok(batch);
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Rejection::BadRequest(e.to_string()))?;
    Ok(match value {
        serde_json::Value::Array(items) => BatchRequest::Batch(
            items
                .into_iter()
                .map(graphql_request)
                .collect::<Result<_, _>>()?,
        ),
        single => BatchRequest::Single(graphql_request(single)?),
    })
}

fn no_query() -> Rejection {
    Rejection::BadRequest("a request is a JSON object with a string `query`".to_owned())
}

/// One request of a JSON body, which must hold a query.
fn graphql_request(value: serde_json::Value) -> Result<async_graphql::Request, Rejection> {
    if !value.get("query").is_some_and(serde_json::Value::is_string) {
        return Err(no_query());
    }
    serde_json::from_value(value).map_err(|e| Rejection::BadRequest(e.to_string()))
}

/// A GET may only run queries: a mutation must not ride on a link or an image tag.
fn is_mutation(request: &async_graphql::Request) -> bool {
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
