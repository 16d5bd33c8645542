//! One function per benchmark scenario (by the operation name `bench/run` sends), each
//! making the optimal calls and shaping the answer exactly as the gateway does.

use std::collections::HashMap;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};

use crate::Upstreams;

pub async fn run(
    upstreams: &Upstreams,
    operation: &str,
    variables: &Value,
) -> anyhow::Result<Value> {
    match operation {
        "Dashboard" => dashboard(upstreams, text(variables, "id")?).await,
        "NPlusOne" => n_plus_one(upstreams, int(variables, "offset")?).await,
        "Big" => big(upstreams, int(variables, "offset")?).await,
        "Tiny" => Ok(json!({ "__typename": "Query" })),
        "Wide" => wide(upstreams, int(variables, "offset")?).await,
        "Hot" => hot(upstreams).await,
        "PlaceOrder" => {
            place_order(
                upstreams,
                int(variables, "userId")?,
                text(variables, "sku")?,
            )
            .await
        }
        other => bail!("unknown operation {other:?}"),
    }
}

fn text(variables: &Value, name: &str) -> anyhow::Result<String> {
    match &variables[name] {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => bail!("variable {name} is missing"),
    }
}

fn int(variables: &Value, name: &str) -> anyhow::Result<i64> {
    variables[name]
        .as_i64()
        .with_context(|| format!("variable {name} is not an integer"))
}

/// The `items` list of a page or batch response.
fn items(response: Value) -> Vec<Value> {
    match response {
        Value::Object(mut fields) => match fields.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// The keys of `value` named in `fields`, ids turned into strings as GraphQL `ID`s are.
fn pick(value: &Value, fields: &[&str]) -> Value {
    let mut out = Map::with_capacity(fields.len());
    for field in fields {
        let v = &value[*field];
        let v = match (*field, v) {
            ("id", Value::Number(n)) => Value::String(n.to_string()),
            _ => v.clone(),
        };
        out.insert((*field).to_owned(), v);
    }
    Value::Object(out)
}

fn ids(values: &[Value], field: &str) -> String {
    values
        .iter()
        .filter_map(|v| v[field].as_u64())
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Groups `values` by the integer at `field`, keeping their order.
fn group_by(values: Vec<Value>, field: &str) -> HashMap<u64, Vec<Value>> {
    let mut groups: HashMap<u64, Vec<Value>> = HashMap::new();
    for value in values {
        if let Some(key) = value[field].as_u64() {
            groups.entry(key).or_default().push(value);
        }
    }
    groups
}

/// Each order's first payment, by order id.
async fn payments_of(
    upstreams: &Upstreams,
    orders: &[Value],
) -> anyhow::Result<HashMap<u64, Value>> {
    if orders.is_empty() {
        return Ok(HashMap::new());
    }
    let response = upstreams
        .get(
            &upstreams.payments,
            &format!("/payments?orderIds={}", ids(orders, "id")),
        )
        .await?;
    let mut first = HashMap::new();
    for payment in items(response) {
        if let Some(order) = payment["orderId"].as_u64() {
            first.entry(order).or_insert(payment);
        }
    }
    Ok(first)
}

/// `{ status }` of an order's first payment, or null.
fn payment_status(order: &Value, payments: &HashMap<u64, Value>) -> Value {
    order["id"]
        .as_u64()
        .and_then(|id| payments.get(&id))
        .map_or(Value::Null, |p| pick(p, &["status"]))
}

async fn dashboard(upstreams: &Upstreams, id: String) -> anyhow::Result<Value> {
    let user = async {
        match upstreams
            .get(&upstreams.users, &format!("/users/{id}"))
            .await
        {
            Ok(user) => Ok(Some(user)),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    };
    let orders = async {
        let orders = items(
            upstreams
                .get(&upstreams.orders, &format!("/orders?userIds={id}&limit=10"))
                .await?,
        );
        let payments = payments_of(upstreams, &orders).await?;
        anyhow::Ok((orders, payments))
    };
    let unread_path = format!("/unread-counts?userIds={id}");
    let unread = upstreams.get(&upstreams.notifications, &unread_path);
    let notifications_path = format!("/notifications?userIds={id}&limit=5&unreadOnly=false");
    let notifications = upstreams.get(&upstreams.notifications, &notifications_path);
    let (user, orders, unread, notifications) =
        tokio::try_join!(user, orders, unread, notifications)?;
    let Some(user) = user else {
        return Ok(json!({ "user": null }));
    };
    let (orders, payments) = orders;
    let orders: Vec<Value> = orders
        .iter()
        .map(
            |order| json!({ "total": order["total"], "payment": payment_status(order, &payments) }),
        )
        .collect();
    let unread = items(unread)
        .first()
        .map_or(Value::Null, |count| count["unread"].clone());
    let notifications: Vec<Value> = items(notifications)
        .iter()
        .map(|n| pick(n, &["message"]))
        .collect();
    Ok(json!({ "user": {
        "name": user["name"],
        "orders": orders,
        "unreadNotificationCount": unread,
        "notifications": notifications,
    }}))
}

fn is_not_found(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<reqwest::Error>()
        .and_then(reqwest::Error::status)
        == Some(reqwest::StatusCode::NOT_FOUND)
}

/// A page of users, then up to `per_user` orders of each in one call.
async fn users_and_orders(
    upstreams: &Upstreams,
    limit: u32,
    offset: i64,
    per_user: u32,
) -> anyhow::Result<(Vec<Value>, Vec<Value>)> {
    let page = format!("/users?limit={limit}&offset={offset}");
    let users = items(upstreams.get(&upstreams.users, &page).await?);
    if users.is_empty() {
        return Ok((users, Vec::new()));
    }
    let path = format!("/orders?userIds={}&limit={per_user}", ids(&users, "id"));
    let orders = items(upstreams.get(&upstreams.orders, &path).await?);
    Ok((users, orders))
}

/// Users, then their orders, then the orders' payments; each order's user is its parent,
/// already in hand.
async fn n_plus_one(upstreams: &Upstreams, offset: i64) -> anyhow::Result<Value> {
    let (users, orders) = users_and_orders(upstreams, 50, offset, 5).await?;
    let payments = payments_of(upstreams, &orders).await?;
    let mut by_user = group_by(orders, "userId");
    let users: Vec<Value> = users
        .iter()
        .map(|user| {
            let orders = user["id"]
                .as_u64()
                .and_then(|id| by_user.remove(&id))
                .unwrap_or_default();
            let orders: Vec<Value> = orders
                .iter()
                .map(|order| {
                    json!({
                        "payment": payment_status(order, &payments),
                        "user": pick(user, &["name"]),
                    })
                })
                .collect();
            json!({ "orders": orders })
        })
        .collect();
    Ok(json!({ "users": users }))
}

async fn big(upstreams: &Upstreams, offset: i64) -> anyhow::Result<Value> {
    let (users, orders) = users_and_orders(upstreams, 100, offset, 10).await?;
    let mut by_user = group_by(orders, "userId");
    let users: Vec<Value> = users
        .iter()
        .map(|user| {
            let orders: Vec<Value> = user["id"]
                .as_u64()
                .and_then(|id| by_user.remove(&id))
                .unwrap_or_default()
                .iter()
                .map(|order| {
                    let mut out = pick(order, &["id", "status", "total", "currency", "createdAt"]);
                    let items: Vec<Value> = order["items"]
                        .as_array()
                        .map(|items| {
                            items
                                .iter()
                                .map(|i| pick(i, &["sku", "name", "quantity", "unitPrice"]))
                                .collect()
                        })
                        .unwrap_or_default();
                    out["items"] = Value::Array(items);
                    out
                })
                .collect();
            let mut out = pick(user, &["id", "name", "country", "tier", "createdAt"]);
            out["orders"] = Value::Array(orders);
            out
        })
        .collect();
    Ok(json!({ "users": users }))
}

/// The first catalogue page, as every caller asks it.
async fn hot(upstreams: &Upstreams) -> anyhow::Result<Value> {
    let products: Vec<Value> = items(
        upstreams
            .get(&upstreams.orders, "/products?limit=20")
            .await?,
    )
    .iter()
    .map(|product| pick(product, &["sku", "name", "unitPrice"]))
    .collect();
    Ok(json!({ "products": products }))
}

/// One page of 200 users, six leaves each.
async fn wide(upstreams: &Upstreams, offset: i64) -> anyhow::Result<Value> {
    let page = format!("/users?limit=200&offset={offset}");
    let users: Vec<Value> = items(upstreams.get(&upstreams.users, &page).await?)
        .iter()
        .map(|user| {
            let mut out = Map::new();
            out.insert("__typename".to_owned(), json!("User"));
            if let Value::Object(fields) =
                pick(user, &["id", "name", "country", "tier", "createdAt"])
            {
                out.extend(fields);
            }
            Value::Object(out)
        })
        .collect();
    Ok(json!({ "users": users }))
}

async fn place_order(upstreams: &Upstreams, user_id: i64, sku: String) -> anyhow::Result<Value> {
    let body = json!({ "userId": user_id, "items": [{ "sku": sku, "quantity": 1 }] });
    let order = upstreams.post(&upstreams.orders, "/orders", &body).await?;
    Ok(json!({ "placeOrder": pick(&order, &["id", "status", "total"]) }))
}
