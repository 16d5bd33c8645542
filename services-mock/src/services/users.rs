//! The users service: customer records, one by id, a batch by ids, or a page.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, Query, State},
    http::Method,
    response::{IntoResponse, Response},
    routing::get,
};

use super::ServiceState;
use crate::{
    data::{Store, User},
    http::{
        error::ApiError,
        params::{self, Params},
    },
    openapi::{Endpoint, PAGING, Param, ParamType, Returns},
};

async fn get_user(
    State(store): State<Arc<Store>>,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    let id = params::parse_id("id", &id)?;
    store
        .user(id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("user", id))
}

async fn list_users(
    State(store): State<Arc<Store>>,
    Query(query): Query<Params>,
) -> Result<Response, ApiError> {
    if let Some(ids) = params::id_list(&query, "ids")? {
        return Ok(Json(store.users_by_ids(&ids)).into_response());
    }
    Ok(Json(store.list_users(params::page(&query)?)).into_response())
}

pub fn endpoints() -> Vec<Endpoint<ServiceState>> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/users",
            summary: "Users by ids (batch, request order, missing omitted), or a page of all users",
            params: [Param::query(
                "ids",
                ParamType::IdList,
                "comma-separated ids, at most 500",
            )]
            .into_iter()
            .chain(PAGING)
            .collect(),
            body: None,
            returns: Returns::ManyOrPage("User"),
            status: 200,
            handler: get(list_users),
        },
        Endpoint {
            method: Method::GET,
            path: "/users/{id}",
            summary: "One user",
            params: vec![Param::path_id("id", "user id")],
            body: None,
            returns: Returns::One("User"),
            status: 200,
            handler: get(get_user),
        },
    ]
}
