//! The payments service: by id, by orders, paying an order.

use reqwest::StatusCode;
use serde_json::json;
use switchyard_tests::{
    ServiceKind::{Orders, Payments},
    Services,
};

#[tokio::test]
async fn most_orders_have_a_payment_with_every_status_present() {
    let services = Services::start().await;
    let all = services.get(Payments, "/payments?limit=1").await;
    let total = all.body["total"].as_u64().expect("total");
    assert!(
        (42_500..50_000).contains(&total),
        "{total} payments for 50,000 orders"
    );
    for status in ["SUCCEEDED", "PENDING", "FAILED"] {
        let page = services
            .get(Payments, &format!("/payments?status={status}&limit=3"))
            .await;
        assert!(
            page.body["total"].as_u64().unwrap_or(0) > 0,
            "some {status}"
        );
        assert!(
            page.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .all(|p| p["status"] == status)
        );
    }
}

#[tokio::test]
async fn payments_by_order_ids_grouped_in_request_order() {
    let services = Services::start().await;
    let first = services.get(Payments, "/payments/1").await;
    assert_eq!(first.status, StatusCode::OK);
    let order_id = first.body["orderId"].as_u64().expect("orderId");
    let by_order = services
        .get(Payments, &format!("/payments?orderId={order_id}"))
        .await;
    assert_eq!(by_order.body["items"][0]["id"], 1);

    let second = services.get(Payments, "/payments/2").await.body["orderId"]
        .as_u64()
        .expect("orderId");
    let grouped = services
        .get(Payments, &format!("/payments?orderIds={second},{order_id}"))
        .await;
    let orders: Vec<u64> = grouped.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["orderId"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(orders.first(), Some(&second));
    assert_eq!(orders.last(), Some(&order_id));

    // The page applies to each order: a batch of more orders than a page still answers
    // every one of them (the gateway's `Order.payment` relies on it).
    let many: Vec<String> = (1..=60).map(|id| id.to_string()).collect();
    let wide = services
        .get(Payments, &format!("/payments?orderIds={}", many.join(",")))
        .await;
    let answered: std::collections::BTreeSet<u64> = wide.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["orderId"].as_u64())
        .collect();
    let mut paid = std::collections::BTreeSet::new();
    for id in 1..=60u64 {
        let one = services
            .get(Payments, &format!("/payments?orderId={id}"))
            .await;
        if one.body["total"].as_u64() > Some(0) {
            paid.insert(id);
        }
    }
    assert!(paid.len() > 20, "the seed pays most orders");
    assert_eq!(answered, paid);

    let batch = services.get(Payments, "/payments?ids=2,1").await;
    assert_eq!(batch.body[0]["id"], 2);
    assert_eq!(batch.body[1]["id"], 1);
    assert_eq!(
        services.get(Payments, "/payments/9999999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn paying_an_order_marks_it_paid_once() {
    let services = Services::start().await;
    let order = services
        .post(
            Orders,
            "/orders",
            json!({"userId": 5, "items": [{"sku": "SKU-0003", "quantity": 1}]}),
        )
        .await;
    let order_id = order.body["id"].as_u64().expect("order id");
    let paid = services
        .post(
            Payments,
            "/payments",
            json!({"orderId": order_id, "method": "CARD"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    assert_eq!(paid.body["status"], "SUCCEEDED");
    assert_eq!(paid.body["amount"], order.body["total"]);
    assert_eq!(
        services
            .get(Orders, &format!("/orders/{order_id}"))
            .await
            .body["status"],
        "PAID"
    );

    let again = services
        .post(
            Payments,
            "/payments",
            json!({"orderId": order_id, "method": "CARD"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let bad_method = services
        .post(
            Payments,
            "/payments",
            json!({"orderId": order_id, "method": "GOLD"}),
        )
        .await;
    assert_eq!(bad_method.status, StatusCode::BAD_REQUEST);
    let no_order = services
        .post(
            Payments,
            "/payments",
            json!({"orderId": 99999999, "method": "CARD"}),
        )
        .await;
    assert_eq!(no_order.status, StatusCode::UNPROCESSABLE_ENTITY);
}
