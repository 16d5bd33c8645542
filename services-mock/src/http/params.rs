//! Parsing of path and query parameters into typed values, each failure naming its parameter.
//!
//! axum's own extractors answer malformed input with a plain-text rejection; these helpers
//! keep every error in the services' JSON shape.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{FromRequest, Request, rejection::JsonRejection},
};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::data::Page;

/// The most ids one batch request may name (`?ids=`, `?userIds=`, `?orderIds=`).
pub const MAX_IDS: usize = 500;
/// The default and the largest page size of list endpoints.
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 500;

/// Raw query parameters; the last value wins when a name repeats.
pub type Params = HashMap<String, String>;

pub fn parse_id(parameter: &'static str, text: &str) -> Result<u64, ApiError> {
    match text.trim().parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::bad(
            parameter,
            format!("`{text}` is not a positive integer id"),
        )),
    }
}

/// A comma-separated id list such as `1,2,3`, at most [`MAX_IDS`] long.
pub fn id_list(params: &Params, parameter: &'static str) -> Result<Option<Vec<u64>>, ApiError> {
    let Some(text) = params.get(parameter) else {
        return Ok(None);
    };
    let ids = text
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| parse_id(parameter, part))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.len() > MAX_IDS {
        return Err(ApiError::bad(
            parameter,
            format!("at most {MAX_IDS} ids per request, got {}", ids.len()),
        ));
    }
    Ok(Some(ids))
}

/// A single optional id such as `userId=7`.
pub fn optional_id(params: &Params, parameter: &'static str) -> Result<Option<u64>, ApiError> {
    params
        .get(parameter)
        .map(|text| parse_id(parameter, text))
        .transpose()
}

pub fn optional_bool(params: &Params, parameter: &'static str) -> Result<Option<bool>, ApiError> {
    match params.get(parameter).map(String::as_str) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad(
            parameter,
            format!("`{other}` is not true or false"),
        )),
    }
}

/// `limit` (1..=MAX_LIMIT, default DEFAULT_LIMIT) and `offset` (>= 0, default 0).
pub fn page(params: &Params) -> Result<Page, ApiError> {
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
            _ => {
                return Err(ApiError::bad(
                    "limit",
                    format!("`{text}` is not an integer between 1 and {MAX_LIMIT}"),
                ));
            }
        },
    };
    let offset = match params.get("offset") {
        None => 0,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if n >= 0 => n as usize,
            _ => {
                return Err(ApiError::bad(
                    "offset",
                    format!("`{text}` is not a non-negative integer"),
                ));
            }
        },
    };
    Ok(Page { limit, offset })
}

/// A JSON body whose rejection (bad syntax, wrong fields, wrong content type) is an
/// [`ApiError::BadRequest`] naming `body`.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(ApiError::bad("body", rejection_message(&rejection))),
        }
    }
}

fn rejection_message(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "expected `content-type: application/json`".into()
        }
        other => other.body_text(),
    }
}
