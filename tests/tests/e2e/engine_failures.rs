//! Partial failure: a failing service nulls only the fields it feeds, with typed errors.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_tests::{DASHBOARD, ServiceKind, Stack};

fn errors(body: &Value) -> Vec<Value> {
    body["errors"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn payments_down_leaves_the_rest_of_the_dashboard() {
    let stack = Stack::start().await;
    stack
        .services
        .set_faults(ServiceKind::Payments, json!({"errorRate": 1.0}))
        .await;
    let reply = stack.query(DASHBOARD).await;
    assert_eq!(reply.status, 200);
    let user = &reply.body["data"]["user"];
    assert!(user["name"].is_string(), "{}", reply.text);
    assert!(user["unreadNotificationCount"].is_number());
    assert_eq!(user["notifications"].as_array().map(Vec::len), Some(5));
    let orders = user["orders"].as_array().expect("orders arrive");
    assert_eq!(orders.len(), 10);
    assert!(
        orders
            .iter()
            .all(|o| o["payment"].is_null() && o["total"].is_number())
    );
    let errors = errors(&reply.body);
    assert_eq!(
        errors.len(),
        10,
        "one error per failed path: {}",
        reply.text
    );
    for (i, error) in errors.iter().enumerate() {
        assert_eq!(error["extensions"]["code"], "UPSTREAM_ERROR");
        assert_eq!(error["extensions"]["service"], "payments");
        assert_eq!(error["extensions"]["status"], 500);
        assert_eq!(error["path"][0], "user");
        assert_eq!(error["path"][1], "orders");
        assert_eq!(error["path"][3], "payment");
        assert!(error["path"][2].is_number(), "{i}: {error}");
        assert!(
            !error["message"]
                .as_str()
                .unwrap_or("")
                .contains("127.0.0.1"),
            "no upstream URL leaks"
        );
    }
}

#[tokio::test]
async fn a_hanging_service_costs_its_timeout() {
    let stack = Stack::builder()
        .config(|c| {
            c.sources.entry("payments".into()).or_default().timeout =
                Some(Duration::from_millis(300));
        })
        .start()
        .await;
    stack
        .services
        .set_faults(ServiceKind::Payments, json!({"hang": true}))
        .await;
    let started = std::time::Instant::now();
    let reply = stack.query(DASHBOARD).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let errors = errors(&reply.body);
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["code"] == "UPSTREAM_TIMEOUT"),
        "{}",
        reply.text
    );
    assert!(reply.body["data"]["user"]["name"].is_string());
}

#[tokio::test]
async fn a_malformed_body_is_a_bad_response() {
    let stack = Stack::start().await;
    stack
        .services
        .set_faults(ServiceKind::Notifications, json!({"malformedRate": 1.0}))
        .await;
    let reply = stack.query(DASHBOARD).await;
    let codes: Vec<_> = errors(&reply.body)
        .iter()
        .map(|e| e["extensions"]["code"].clone())
        .collect();
    assert!(!codes.is_empty());
    assert!(
        codes.iter().all(|c| c == "UPSTREAM_BAD_RESPONSE"),
        "{codes:?}"
    );
    // unreadNotificationCount is non-null: its null propagates to `user`, per the spec.
    assert_eq!(reply.body["data"]["user"], json!(null));
}

#[tokio::test]
async fn a_stopped_service_is_unavailable() {
    let mut stack = Stack::start().await;
    stack
        .services
        .cluster
        .stop_service(ServiceKind::Payments)
        .await;
    let reply = stack
        .query("{ order(id: 1) { total payment { status } } }")
        .await;
    assert!(reply.body["data"]["order"]["total"].is_number());
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"],
        "UPSTREAM_UNAVAILABLE"
    );
}
