//! The orders service: by id, batch, filters, per-user pages, placing orders.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{ServiceKind::Orders, Services};

fn ids(items: &Value) -> Vec<u64> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .map(|o| o["id"].as_u64().unwrap_or(0))
        .collect()
}

#[tokio::test]
async fn order_by_id_has_line_items_that_add_up() {
    let services = Services::start().await;
    let reply = services.get(Orders, "/orders/1").await;
    assert_eq!(reply.status, StatusCode::OK);
    let items = reply.body["items"].as_array().expect("items");
    assert!(!items.is_empty());
    let sum: f64 = items
        .iter()
        .map(|i| i["unitPrice"].as_f64().unwrap_or(0.0) * i["quantity"].as_f64().unwrap_or(0.0))
        .sum();
    let total = reply.body["total"].as_f64().expect("total");
    assert!((sum - total).abs() < 0.01, "total {total} vs items {sum}");
    assert_eq!(
        services.get(Orders, "/orders/50001").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        services.get(Orders, "/orders/x").await.body["error"]["parameter"],
        "id"
    );
}

#[tokio::test]
async fn batch_keeps_order_and_the_data_set_is_large() {
    let services = Services::start().await;
    let reply = services.get(Orders, "/orders?ids=50000,2,77777,1").await;
    assert_eq!(ids(&reply.body), [50000, 2, 1]);
    let page = services.get(Orders, "/orders?limit=1").await;
    assert_eq!(page.body["total"], 50000);
}

#[tokio::test]
async fn filters_by_user_and_status_newest_first() {
    let services = Services::start().await;
    let reply = services.get(Orders, "/orders?userId=7&limit=500").await;
    assert_eq!(reply.status, StatusCode::OK);
    let items = reply.body["items"].as_array().expect("items");
    assert!(!items.is_empty());
    assert!(items.iter().all(|o| o["userId"] == 7));
    let order_ids = ids(&reply.body["items"]);
    assert!(
        order_ids.windows(2).all(|w| w[0] > w[1]),
        "newest first: {order_ids:?}"
    );
    assert_eq!(reply.body["total"].as_u64(), Some(items.len() as u64));

    let paid = services
        .get(Orders, "/orders?userId=7&status=PAID&limit=500")
        .await;
    assert!(
        paid.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|o| o["status"] == "PAID")
    );
    let bad = services.get(Orders, "/orders?status=LOST").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["parameter"], "status");
}

#[tokio::test]
async fn user_ids_pages_per_user_grouped_in_request_order() {
    let services = Services::start().await;
    let reply = services.get(Orders, "/orders?userIds=9,3&limit=2").await;
    let users: Vec<u64> = reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["userId"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(users, [9, 9, 3, 3]);
    let both = services.get(Orders, "/orders?userId=1&userIds=2").await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn placing_an_order_prices_it_from_the_catalogue() {
    let services = Services::start().await;
    let body = json!({"userId": 12, "items": [{"sku": "SKU-0001", "quantity": 2}, {"sku": "SKU-0002", "quantity": 1}]});
    let placed = services.post(Orders, "/orders", body).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    assert_eq!(placed.body["id"], 50001);
    assert_eq!(placed.body["status"], "PENDING");
    let items = placed.body["items"].as_array().expect("items");
    let expected: f64 = items
        .iter()
        .map(|i| i["unitPrice"].as_f64().unwrap_or(0.0) * i["quantity"].as_f64().unwrap_or(0.0))
        .sum();
    assert!((placed.body["total"].as_f64().unwrap_or(0.0) - expected).abs() < 0.01);

    let fetched = services.get(Orders, "/orders/50001").await;
    assert_eq!(fetched.body, placed.body);
    let newest = services.get(Orders, "/orders?userId=12&limit=1").await;
    assert_eq!(newest.body["items"][0]["id"], 50001);
}

#[tokio::test]
async fn malformed_or_invalid_orders_are_refused() {
    let services = Services::start().await;
    let raw = services
        .client
        .post(format!("{}/orders", services.url(Orders)))
        .header("content-type", "application/json")
        .body("{\"userId\": 1, \"items\": [")
        .send()
        .await
        .expect("answers");
    let raw = switchyard_tests::reply(raw).await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    assert_eq!(raw.body["error"]["parameter"], "body");

    let unknown_field = services
        .post(
            Orders,
            "/orders",
            json!({"userId": 1, "items": [], "coupon": "x"}),
        )
        .await;
    assert_eq!(unknown_field.status, StatusCode::BAD_REQUEST);
    let no_items = services
        .post(Orders, "/orders", json!({"userId": 1, "items": []}))
        .await;
    assert_eq!(no_items.status, StatusCode::UNPROCESSABLE_ENTITY);
    let no_user = services
        .post(
            Orders,
            "/orders",
            json!({"userId": 999999, "items": [{"sku": "SKU-0001", "quantity": 1}]}),
        )
        .await;
    assert_eq!(no_user.status, StatusCode::UNPROCESSABLE_ENTITY);
    let no_sku = services
        .post(
            Orders,
            "/orders",
            json!({"userId": 1, "items": [{"sku": "NOPE", "quantity": 1}]}),
        )
        .await;
    assert_eq!(no_sku.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_sku.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("NOPE")
    );
}

#[tokio::test]
async fn the_catalogue_pages_by_sku() {
    let services = Services::start().await;
    let page = services.get(Orders, "/products?limit=3&offset=1").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.body["limit"], 3);
    assert_eq!(page.body["offset"], 1);
    let items = page.body["items"].as_array().expect("items");
    let skus: Vec<&str> = items.iter().filter_map(|p| p["sku"].as_str()).collect();
    assert_eq!(skus, ["SKU-0002", "SKU-0003", "SKU-0004"]);
    assert!(items[0]["name"].is_string() && items[0]["unitPrice"].is_f64());
    // What the catalogue sells is what an order can be placed from.
    let order = services
        .post(
            Orders,
            "/orders",
            json!({"userId": 1, "items": [{"sku": skus[0], "quantity": 1}]}),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    assert_eq!(order.body["items"][0]["unitPrice"], items[0]["unitPrice"]);
    let bad = services.get(Orders, "/products?limit=0").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
