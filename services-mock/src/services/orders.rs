//! The orders service: orders with line items, filtered by user(s) and status; placing one.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use super::ServiceState;
use crate::{
    data::{NewOrder, Order, OrderStatus, Store},
    http::{
        error::ApiError,
        params::{self, JsonBody, Params},
    },
    openapi::{Endpoint, PAGING, Param, ParamType, Returns},
};

const STATUSES: &[&str] = &["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"];

async fn get_order(
    State(store): State<Arc<Store>>,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let id = params::parse_id("id", &id)?;
    store
        .order(id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("order", id))
}

async fn list_orders(
    State(store): State<Arc<Store>>,
    Query(query): Query<Params>,
) -> Result<Response, ApiError> {
    if let Some(ids) = params::id_list(&query, "ids")? {
        return Ok(Json(store.orders_by_ids(&ids)).into_response());
    }
    let status = match query.get("status") {
        None => None,
        Some(text) => Some(OrderStatus::parse(text).ok_or_else(|| {
            ApiError::bad(
                "status",
                format!("`{text}` is not one of {}", STATUSES.join(", ")),
            )
        })?),
    };
    let user_ids = match (
        params::optional_id(&query, "userId")?,
        params::id_list(&query, "userIds")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "userIds",
                "give `userId` or `userIds`, not both",
            ));
        }
        (Some(id), None) => Some(vec![id]),
        (None, ids) => ids,
    };
    let page = params::page(&query)?;
    Ok(Json(store.list_orders(user_ids.as_deref(), status, page)).into_response())
}

/// `GET /products`: the catalogue orders are placed from, a page at a time, by SKU.
async fn list_products(
    State(store): State<Arc<Store>>,
    Query(query): Query<Params>,
) -> Result<Json<crate::data::Paged<crate::data::Product>>, ApiError> {
    Ok(Json(store.list_products(params::page(&query)?)))
}

async fn create_order(
    State(store): State<Arc<Store>>,
    JsonBody(new): JsonBody<NewOrder>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    Ok((StatusCode::CREATED, Json(store.create_order(new)?)))
}

pub fn endpoints() -> Vec<Endpoint<ServiceState>> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/products",
            summary: "The catalogue orders are placed from, by SKU, a page at a time",
            params: PAGING.into_iter().collect(),
            body: None,
            returns: Returns::Page("Product"),
            status: 200,
            handler: get(list_products),
        },
        Endpoint {
            method: Method::GET,
            path: "/orders",
            summary: "Orders by ids (batch), or a page newest first; with `userIds` the page applies \
                      to each user and items come grouped in the order of `userIds`",
            params: [
                Param::query(
                    "ids",
                    ParamType::IdList,
                    "comma-separated order ids, at most 500",
                ),
                Param::query("userId", ParamType::Id, "only this user's orders"),
                Param::query(
                    "userIds",
                    ParamType::IdList,
                    "only these users' orders, paged per user",
                ),
                Param::query(
                    "status",
                    ParamType::Enum(STATUSES),
                    "only orders in this status",
                ),
            ]
            .into_iter()
            .chain(PAGING)
            .collect(),
            body: None,
            returns: Returns::ManyOrPage("Order"),
            status: 200,
            handler: get(list_orders),
        },
        Endpoint {
            method: Method::POST,
            path: "/orders",
            summary: "Place an order from catalogue SKUs; notifies the user",
            params: vec![],
            body: Some("NewOrder"),
            returns: Returns::One("Order"),
            status: 201,
            handler: post(create_order),
        },
        Endpoint {
            method: Method::GET,
            path: "/orders/{id}",
            summary: "One order",
            params: vec![Param::path_id("id", "order id")],
            body: None,
            returns: Returns::One("Order"),
            status: 200,
            handler: get(get_order),
        },
    ]
}
