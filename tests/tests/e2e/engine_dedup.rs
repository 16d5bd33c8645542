//! In-flight deduplication: identical queries of one caller share one execution; other
//! callers, mutations, and a disabled switch do not. Executions are counted by their
//! upstream calls, so cross-request coalescing (which would share those) is off here.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{ServiceKind, Stack};

const QUERY: &str = "{ user(id: 5) { name orders(first: 2) { id total } } }";

async fn concurrently(stack: &Stack, body: Value, callers: &[&str]) -> Vec<Value> {
    let runs = callers.iter().map(|caller| {
        let auth = format!("Bearer {caller}");
        let body = body.clone();
        async move { stack.graphql_with(body, &[("authorization", &auth)]).await }
    });
    futures_util::future::join_all(runs)
        .await
        .into_iter()
        .map(|reply| {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            reply.body
        })
        .collect()
}

async fn slow_orders(stack: &Stack) {
    let set = stack
        .services
        .set_faults(ServiceKind::Orders, json!({"latencyMs": 300}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    stack.services.reset_stats().await;
}

#[tokio::test]
async fn identical_queries_of_one_caller_share_one_execution() {
    let stack = Stack::builder().without_coalescing().start().await;
    slow_orders(&stack).await;
    let answers = concurrently(&stack, json!({ "query": QUERY }), &["same"; 10]).await;
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "identical answers"
    );
    assert!(
        answers[0]["data"]["user"]["orders"].is_array(),
        "{}",
        answers[0]
    );
    assert_eq!(stack.services.total_requests(ServiceKind::Orders).await, 1);
    let metrics = stack.get_text("/metrics").await;
    assert!(
        metrics.contains("switchyard_deduplicated_requests_total 9"),
        "nine answers were shared: {metrics}"
    );

    // Other callers never share: one execution each.
    stack.services.reset_stats().await;
    let callers = ["a", "b", "c", "d"];
    let answers = concurrently(&stack, json!({ "query": QUERY }), &callers).await;
    assert!(
        answers
            .iter()
            .all(|a| a["data"]["user"]["name"].is_string())
    );
    assert_eq!(stack.services.total_requests(ServiceKind::Orders).await, 4);

    // Different variables are different operations.
    stack.services.reset_stats().await;
    let by_id = |id: u32| json!({"query": "query($id: ID!) { user(id: $id) { orders(first: 1) { id } } }", "variables": {"id": id}});
    let runs = [by_id(1), by_id(2)].map(|body| concurrently(&stack, body, &["same"]));
    futures_util::future::join_all(runs).await;
    assert_eq!(stack.services.total_requests(ServiceKind::Orders).await, 2);
}

#[tokio::test]
async fn mutations_never_share_and_errors_reach_every_waiter() {
    let stack = Stack::builder().without_coalescing().start().await;
    let set = stack
        .services
        .set_faults(ServiceKind::Notifications, json!({"latencyMs": 200}))
        .await;
    assert_eq!(set.status, StatusCode::OK);
    stack.services.reset_stats().await;
    let mutation = json!({"query": "mutation { markNotificationRead(id: 1) { id read } }"});
    concurrently(&stack, mutation, &["same"; 3]).await;
    assert_eq!(
        stack
            .services
            .total_requests(ServiceKind::Notifications)
            .await,
        3
    );

    let set = stack
        .services
        .set_faults(
            ServiceKind::Orders,
            json!({"latencyMs": 300, "errorRate": 1.0}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    stack.services.reset_stats().await;
    let answers = concurrently(&stack, json!({ "query": QUERY }), &["same"; 5]).await;
    for answer in &answers {
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "UPSTREAM_ERROR",
            "every waiter gets the error: {answer}"
        );
    }
    // One execution: its first attempt and the retries the budget allowed.
    assert!(stack.services.total_requests(ServiceKind::Orders).await <= 3);
}

#[tokio::test]
async fn turned_off_every_request_executes() {
    let stack = Stack::builder()
        .without_coalescing()
        .config(|config| config.graphql.dedup = false)
        .start()
        .await;
    slow_orders(&stack).await;
    concurrently(&stack, json!({ "query": QUERY }), &["same"; 6]).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(stack.services.total_requests(ServiceKind::Orders).await, 6);
}

#[tokio::test]
async fn a_query_of_public_data_is_shared_by_every_caller() {
    // The page is cached for any caller: its answer is everyone's. A user looked up by id
    // is cached per caller (the type's default): queries reading one are never shared
    // across callers.
    let schema = r#"
        extend schema @source(name: "users", url: "http://127.0.0.1:9")
        type Query {
          users(first: Int = 5): [User!]! @rest(source: "users", path: "/users", query: {limit: "{$args.first}"}, select: "items")
            @cacheControl(maxAge: 60, scope: PUBLIC)
          user(id: ID!): User @rest(source: "users", path: "/users/{$args.id}")
        }
        type User { id: ID! name: String! }
    "#;
    let stack = Stack::builder()
        .schema(schema)
        .without_coalescing()
        .start()
        .await;
    let set = stack
        .services
        .set_faults(ServiceKind::Users, json!({"latencyMs": 300}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    stack.services.reset_stats().await;
    let callers = ["a", "b", "c", "d", "e"];
    let public = json!({"query": "{ users { id name } }"});
    let answers = concurrently(&stack, public, &callers).await;
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert!(
        answers[0]["data"]["users"][4]["name"].is_string(),
        "{}",
        answers[0]
    );
    assert_eq!(stack.services.total_requests(ServiceKind::Users).await, 1);
    assert_eq!(
        stack.metric("switchyard_deduplicated_requests_total").await,
        Some(4.0)
    );

    stack.services.reset_stats().await;
    let mixed = json!({"query": "{ users { id } user(id: 3) { name } }"});
    concurrently(&stack, mixed, &callers).await;
    assert_eq!(
        stack.metric("switchyard_deduplicated_requests_total").await,
        Some(4.0)
    );
}

#[tokio::test]
async fn the_demo_catalogue_is_public_and_shared_by_every_caller() {
    let stack = Stack::builder().without_coalescing().start().await;
    let set = stack
        .services
        .set_faults(ServiceKind::Orders, json!({"latencyMs": 300}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    stack.services.reset_stats().await;
    let query = json!({"query": "{ products(first: 5) { sku name unitPrice } }"});
    let answers = concurrently(&stack, query, &["a", "b", "c"]).await;
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0]["data"]["products"][0]["sku"], "SKU-0001");
    assert_eq!(stack.services.total_requests(ServiceKind::Orders).await, 1);
    assert_eq!(
        stack.metric("switchyard_deduplicated_requests_total").await,
        Some(2.0)
    );
}
