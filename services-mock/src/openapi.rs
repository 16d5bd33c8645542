//! Route table and OpenAPI 3 documents.
//!
//! Each service lists its routes once, as [`Endpoint`]s that carry both the handler and its
//! description; the router and `GET /openapi.json` are both built from that list, so the
//! document cannot drift from the routes the service really serves.

use axum::{http::Method, routing::MethodRouter};
use serde_json::{Map, Value, json};

use crate::ServiceKind;

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    Path,
    Query,
}

/// The type of a parameter, as the service parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A positive integer id.
    Id,
    /// A comma-separated list of ids, at most `MAX_IDS`.
    IdList,
    Integer,
    Boolean,
    Enum(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub location: In,
    pub kind: ParamType,
    pub description: &'static str,
}

impl Param {
    pub const fn path_id(name: &'static str, description: &'static str) -> Param {
        Param {
            name,
            location: In::Path,
            kind: ParamType::Id,
            description,
        }
    }
    pub const fn query(name: &'static str, kind: ParamType, description: &'static str) -> Param {
        Param {
            name,
            location: In::Query,
            kind,
            description,
        }
    }
}

/// `limit` and `offset`, shared by every list endpoint.
pub const PAGING: [Param; 2] = [
    Param::query(
        "limit",
        ParamType::Integer,
        "page size, 1 to 500, default 20",
    ),
    Param::query("offset", ParamType::Integer, "items to skip, default 0"),
];

/// What a successful response holds, by component schema name.
#[derive(Debug, Clone, Copy)]
pub enum Returns {
    One(&'static str),
    /// An array, in the order of the ids asked for (`?ids=`).
    Many(&'static str),
    /// An array with `?ids=`, a page `{items, total, limit, offset}` otherwise.
    ManyOrPage(&'static str),
    /// A page `{items, total, limit, offset}`.
    Page(&'static str),
    /// A `text/event-stream` of JSON records.
    Stream(&'static str),
    /// A free-form JSON object (control routes).
    Object,
}

/// One route: its description and its handler.
pub struct Endpoint<S> {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    pub params: Vec<Param>,
    /// The component schema of the JSON request body, if any.
    pub body: Option<&'static str>,
    pub returns: Returns,
    /// 201 for creations, 200 otherwise.
    pub status: u16,
    pub handler: MethodRouter<S>,
}

fn param_schema(kind: ParamType) -> Value {
    match kind {
        ParamType::Id => json!({"type": "integer", "format": "int64", "minimum": 1}),
        ParamType::IdList => json!({"type": "string", "pattern": "^[0-9]+(,[0-9]+)*$"}),
        ParamType::Integer => json!({"type": "integer"}),
        ParamType::Boolean => json!({"type": "boolean"}),
        ParamType::Enum(values) => json!({"type": "string", "enum": values}),
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn response_content(returns: Returns) -> Value {
    let (media, schema) = match returns {
        Returns::One(name) => ("application/json", schema_ref(name)),
        Returns::Many(name) => (
            "application/json",
            json!({"type": "array", "items": schema_ref(name)}),
        ),
        Returns::ManyOrPage(name) => (
            "application/json",
            json!({"oneOf": [
                {"type": "array", "items": schema_ref(name)},
                {"type": "object", "required": ["items", "total", "limit", "offset"], "properties": {
                    "items": {"type": "array", "items": schema_ref(name)},
                    "total": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "offset": {"type": "integer"}
                }}
            ]}),
        ),
        Returns::Page(name) => (
            "application/json",
            json!({"type": "object", "required": ["items", "total", "limit", "offset"], "properties": {
                "items": {"type": "array", "items": schema_ref(name)},
                "total": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"}
            }}),
        ),
        Returns::Stream(name) => ("text/event-stream", schema_ref(name)),
        Returns::Object => ("application/json", json!({"type": "object"})),
    };
    json!({ media: { "schema": schema } })
}

/// The OpenAPI 3.0 document of a service, from its endpoints (plus `/openapi.json` itself).
pub fn document<S>(service: ServiceKind, endpoints: &[Endpoint<S>]) -> Value {
    let mut paths = Map::new();
    let documented = endpoints.iter().map(|e| {
        (
            e.method.as_str().to_lowercase(),
            e.path,
            e.summary,
            &e.params[..],
            e.body,
            e.returns,
            e.status,
        )
    });
    let itself = (
        "get".to_owned(),
        "/openapi.json",
        "This document",
        &[][..],
        None,
        Returns::Object,
        200,
    );
    for (method, path, summary, params, body, returns, status) in documented.chain([itself]) {
        let parameters: Vec<Value> = params
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "in": if p.location == In::Path { "path" } else { "query" },
                    "required": p.location == In::Path,
                    "description": p.description,
                    "schema": param_schema(p.kind),
                })
            })
            .collect();
        let mut operation = json!({
            "summary": summary,
            "operationId": format!("{method}{}", path.replace(['/', '{', '}', '-', '_', '.'], "_")),
            "parameters": parameters,
            "responses": {
                status.to_string(): {"description": "success", "content": response_content(returns)},
                "default": {"description": "error", "content": {"application/json": {"schema": schema_ref("Error")}}}
            }
        });
        if let Some(body) = body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema_ref(body)}}});
        }
        let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        item[method] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("Switchyard demo {} service", service.name()),
            "version": env!("CARGO_PKG_VERSION"),
        },
        "paths": paths,
        "components": {"schemas": schemas()},
    })
}

/// Every record shape of the demo shop. Each document carries all of them: they are small and
/// some services return another's records (a notification refers to a user id).
fn schemas() -> Value {
    let id = json!({"type": "integer", "format": "int64"});
    let money = json!({"type": "number", "format": "double"});
    let time = json!({"type": "string", "format": "date-time"});
    let currency = json!({"type": "string", "enum": ["EUR", "USD", "GBP"]});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}, "parameter": {"type": "string"}
            }}}},
        "User": {"type": "object", "required": ["id", "name", "email", "country", "tier", "createdAt"], "properties": {
            "id": id, "name": {"type": "string"}, "email": {"type": "string", "format": "email"},
            "country": {"type": "string"}, "tier": {"type": "string", "enum": ["STANDARD", "SILVER", "GOLD"]},
            "createdAt": time}},
        "Product": {"type": "object", "required": ["sku", "name", "unitPrice"], "properties": {
            "sku": {"type": "string"}, "name": {"type": "string"}, "unitPrice": money}},
        "LineItem": {"type": "object", "required": ["sku", "name", "quantity", "unitPrice"], "properties": {
            "sku": {"type": "string"}, "name": {"type": "string"}, "quantity": {"type": "integer"}, "unitPrice": money}},
        "Order": {"type": "object", "required": ["id", "userId", "status", "total", "currency", "items", "createdAt"], "properties": {
            "id": id, "userId": id,
            "status": {"type": "string", "enum": ["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"]},
            "total": money, "currency": currency,
            "items": {"type": "array", "items": schema_ref("LineItem")}, "createdAt": time}},
        "NewOrder": {"type": "object", "required": ["userId", "items"], "properties": {
            "userId": id, "currency": currency,
            "items": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["sku", "quantity"], "properties": {
                "sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1, "maximum": 100}}}}}},
        "Payment": {"type": "object", "required": ["id", "orderId", "status", "method", "amount", "currency", "createdAt"], "properties": {
            "id": id, "orderId": id, "status": {"type": "string", "enum": ["SUCCEEDED", "PENDING", "FAILED"]},
            "method": {"type": "string", "enum": ["CARD", "PAYPAL", "BANK_TRANSFER"]},
            "amount": money, "currency": currency, "createdAt": time}},
        "NewPayment": {"type": "object", "required": ["orderId", "method"], "properties": {
            "orderId": id, "method": {"type": "string", "enum": ["CARD", "PAYPAL", "BANK_TRANSFER"]}}},
        "Notification": {"type": "object", "required": ["id", "userId", "message", "read", "createdAt"], "properties": {
            "id": id, "userId": id, "message": {"type": "string"}, "read": {"type": "boolean"}, "createdAt": time}},
        "NewNotification": {"type": "object", "required": ["userId", "message"], "properties": {
            "userId": id, "message": {"type": "string", "maxLength": 500}}},
        "UnreadCount": {"type": "object", "required": ["userId", "unread"], "properties": {
            "userId": id, "unread": {"type": "integer"}}},
        "Faults": {"type": "object", "properties": {
            "latencyMs": {"type": "integer"}, "jitterMs": {"type": "integer"},
            "errorRate": {"type": "number"}, "malformedRate": {"type": "number"}, "hang": {"type": "boolean"}}},
    })
}
