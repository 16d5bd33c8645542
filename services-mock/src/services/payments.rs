//! The payments service: payments by id or by order, and paying an order.

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
    data::{NewPayment, Payment, PaymentStatus, Store},
    http::{
        error::ApiError,
        params::{self, JsonBody, Params},
    },
    openapi::{Endpoint, PAGING, Param, ParamType, Returns},
};

const STATUSES: &[&str] = &["SUCCEEDED", "PENDING", "FAILED"];

fn parse_status(text: &str) -> Result<PaymentStatus, ApiError> {
    match text {
        "SUCCEEDED" => Ok(PaymentStatus::Succeeded),
        "PENDING" => Ok(PaymentStatus::Pending),
        "FAILED" => Ok(PaymentStatus::Failed),
        _ => Err(ApiError::bad(
            "status",
            format!("`{text}` is not one of {}", STATUSES.join(", ")),
        )),
    }
}

async fn get_payment(
    State(store): State<Arc<Store>>,
    Path(id): Path<String>,
) -> Result<Json<Payment>, ApiError> {
    let id = params::parse_id("id", &id)?;
    store
        .payment(id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("payment", id))
}

async fn list_payments(
    State(store): State<Arc<Store>>,
    Query(query): Query<Params>,
) -> Result<Response, ApiError> {
    if let Some(ids) = params::id_list(&query, "ids")? {
        return Ok(Json(store.payments_by_ids(&ids)).into_response());
    }
    let status = query
        .get("status")
        .map(|text| parse_status(text))
        .transpose()?;
    let order_ids = match (
        params::optional_id(&query, "orderId")?,
        params::id_list(&query, "orderIds")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "orderIds",
                "give `orderId` or `orderIds`, not both",
            ));
        }
        (Some(id), None) => Some(vec![id]),
        (None, ids) => ids,
    };
    let page = params::page(&query)?;
    Ok(Json(store.list_payments(order_ids.as_deref(), status, page)).into_response())
}

async fn create_payment(
    State(store): State<Arc<Store>>,
    JsonBody(new): JsonBody<NewPayment>,
) -> Result<(StatusCode, Json<Payment>), ApiError> {
    Ok((StatusCode::CREATED, Json(store.create_payment(new)?)))
}

pub fn endpoints() -> Vec<Endpoint<ServiceState>> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/payments",
            summary: "Payments by ids (batch), or a page by id; with `orderIds` the page applies \
                      to each order and items come grouped in the order of `orderIds`",
            params: [
                Param::query(
                    "ids",
                    ParamType::IdList,
                    "comma-separated payment ids, at most 500",
                ),
                Param::query("orderId", ParamType::Id, "only this order's payments"),
                Param::query(
                    "orderIds",
                    ParamType::IdList,
                    "only these orders' payments, paged per order",
                ),
                Param::query(
                    "status",
                    ParamType::Enum(STATUSES),
                    "only payments in this status",
                ),
            ]
            .into_iter()
            .chain(PAGING)
            .collect(),
            body: None,
            returns: Returns::ManyOrPage("Payment"),
            status: 200,
            handler: get(list_payments),
        },
        Endpoint {
            method: Method::POST,
            path: "/payments",
            summary: "Pay an unpaid order (409 when paid already or cancelled); marks it PAID",
            params: vec![],
            body: Some("NewPayment"),
            returns: Returns::One("Payment"),
            status: 201,
            handler: post(create_payment),
        },
        Endpoint {
            method: Method::GET,
            path: "/payments/{id}",
            summary: "One payment",
            params: vec![Param::path_id("id", "payment id")],
            body: None,
            returns: Returns::One("Payment"),
            status: 200,
            handler: get(get_payment),
        },
    ]
}
