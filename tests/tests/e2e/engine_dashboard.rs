//! The demo graph resolves correct data with the fan-out batched: one call per service per
//! level, not one per item.

use serde_json::json;
use switchyard_tests::{DASHBOARD, ServiceKind, Stack};

#[tokio::test]
async fn the_dashboard_is_correct_and_costs_one_call_per_service() {
    let stack = Stack::start().await;
    let reply = stack.query(DASHBOARD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    let user = &reply.body["data"]["user"];

    // Compare with what the services say directly.
    let services = &stack.services;
    let direct_user = services.get(ServiceKind::Users, "/users/7").await.body;
    assert_eq!(user["name"], direct_user["name"]);
    let orders = services
        .get(ServiceKind::Orders, "/orders?userId=7&limit=10")
        .await
        .body;
    let totals: Vec<_> = orders["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["total"].clone())
        .collect();
    let got: Vec<_> = user["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["total"].clone())
        .collect();
    assert_eq!(got, totals);
    for (order, direct) in user["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .zip(orders["items"].as_array().expect("items"))
    {
        let payments = services
            .get(
                ServiceKind::Payments,
                &format!("/payments?orderId={}", direct["id"]),
            )
            .await
            .body;
        let expected = payments["items"]
            .get(0)
            .map_or(json!(null), |p| json!({"status": p["status"]}));
        assert_eq!(order["payment"], expected);
    }
    let unread = services
        .get(ServiceKind::Notifications, "/users/7/unread-count")
        .await
        .body;
    assert_eq!(user["unreadNotificationCount"], unread["unread"]);
    let notifications = services
        .get(
            ServiceKind::Notifications,
            "/notifications?userId=7&limit=5",
        )
        .await
        .body;
    let messages: Vec<_> = notifications["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| json!({"message": n["message"]}))
        .collect();
    assert_eq!(user["notifications"], json!(messages));

    // Now count what one dashboard costs.
    services.reset_stats().await;
    let again = Stack::query(&stack, DASHBOARD).await;
    assert_eq!(again.body["data"], reply.body["data"]);
    let [users, orders, payments, notifications] = stack.upstream_counts().await;
    // `User` is cacheable for 30 s, so the repeat is served from the cache.
    assert_eq!(users, 0, "users");
    assert_eq!(orders, 1, "orders");
    assert_eq!(payments, 1, "payments");
    assert!(notifications <= 2, "notifications: {notifications}");
}

#[tokio::test]
async fn a_cold_dashboard_costs_one_call_to_each_of_users_orders_payments() {
    let stack = Stack::start().await;
    let reply = stack.query(DASHBOARD).await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    assert_eq!(stack.upstream_counts().await, [1, 1, 1, 2]);
}

#[tokio::test]
async fn n_plus_one_shapes_cost_one_call_per_service_per_level() {
    let stack = Stack::start().await;
    let reply = stack
        .query(
            "{ users(first: 50) { name orders(first: 5) { payment { status } user { name } } } }",
        )
        .await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    let users = reply.body["data"]["users"].as_array().expect("users");
    assert_eq!(users.len(), 50);
    let orders: usize = users
        .iter()
        .map(|u| u["orders"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(orders > 100, "{orders} orders");
    // Each order's user is the user whose orders these are: the page already holds them,
    // so the join reads them instead of looking them up again.
    for user in users {
        for order in user["orders"].as_array().expect("orders") {
            assert_eq!(order["user"]["name"], user["name"], "{order}");
        }
    }
    let stats = stack.services.stats(ServiceKind::Users).await;
    assert_eq!(
        stats["routes"]["GET /users"], 1,
        "the page only: the joined users are the page's: {stats}"
    );
    let [_, orders_calls, payments_calls, notifications_calls] = stack.upstream_counts().await;
    assert_eq!(
        (orders_calls, payments_calls, notifications_calls),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn joins_and_missing_records() {
    let stack = Stack::start().await;
    let reply = stack
        .query("{ order(id: 3) { id userId user { id name } } nothing: user(id: 999999) { name } }")
        .await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    let order = &reply.body["data"]["order"];
    assert_eq!(order["id"], "3");
    assert_eq!(order["user"]["id"], order["userId"]);
    assert_eq!(reply.body["data"]["nothing"], json!(null));
}

/// An entity whose service has no batch endpoint: one call per distinct key.
const PER_KEY_SCHEMA: &str = r#"
extend schema
  @source(name: "users", url: "http://127.0.0.1:1")
  @source(name: "orders", url: "http://127.0.0.1:1")
type Query {
  orders(userId: ID!): [Order!]!
    @rest(source: "orders", path: "/orders", query: {userId: "{$args.userId}", limit: "5"}, select: "items")
}
type User @key(fields: "id") @rest(source: "users", path: "/users/{$key}") { id: ID! name: String! }
type Order { id: ID! userId: ID! user: User! @join(key: "userId") }
"#;

#[tokio::test]
async fn without_a_batch_endpoint_joins_make_one_call_per_distinct_key() {
    let stack = Stack::builder().schema(PER_KEY_SCHEMA).start().await;
    let reply = stack
        .query("{ orders(userId: 9) { id user { id name } } }")
        .await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    let orders = reply.body["data"]["orders"].as_array().expect("orders");
    assert!(orders.len() > 1, "user 9 has several orders");
    assert!(orders.iter().all(|o| o["user"]["id"] == "9"));
    let stats = stack.services.stats(ServiceKind::Users).await;
    assert_eq!(
        stats["routes"],
        json!({"GET /users/{id}": 1}),
        "the joins to one user are one call"
    );
}

#[tokio::test]
async fn concurrent_requests_each_keep_one_call_per_level() {
    // Many requests at once, each its own caller: every request still sends each level as
    // one batched call, however its resolvers interleave with the others' (without
    // coalescing, which merges the requests' batches: engine_coalesce).
    let stack = Stack::builder().without_coalescing().start().await;
    let requests = (0..16).map(|i| {
        let stack = &stack;
        async move {
            let body = json!({
                "query": "query($o: Int!) { users(first: 50, offset: $o) { orders(first: 5) { payment { status } user { name } } } }",
                "variables": { "o": i * 50 },
            });
            let caller = format!("Bearer caller-{i}");
            let reply = stack.graphql_with(body, &[("authorization", &caller)]).await;
            assert!(reply.body.get("errors").is_none(), "{}", reply.text);
        }
    });
    futures_util::future::join_all(requests).await;
    assert_eq!(stack.upstream_counts().await, [16, 16, 16, 0]);
}

#[tokio::test]
async fn a_skipped_field_costs_no_call() {
    // Batched fields are loaded ahead for a whole level; @skip / @include still decide.
    let stack = Stack::start().await;
    let body = json!({
        "query": "query($with: Boolean!) { users(first: 5) { name orders(first: 2) @include(if: $with) { id } notifications @skip(if: true) { id } } }",
        "variables": { "with": false },
    });
    let reply = stack.graphql_with(body, &[]).await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    assert!(
        reply.body["data"]["users"][0].get("orders").is_none(),
        "{}",
        reply.text
    );
    assert_eq!(stack.upstream_counts().await, [1, 0, 0, 0]);
}

#[tokio::test]
async fn the_same_batched_field_twice_with_different_selections() {
    // Loaded ahead, a call's answer keeps only what the selection reads: two aliases of
    // one field reading different things must each get theirs.
    let stack = Stack::start().await;
    let reply = stack
        .query("{ users(first: 3) { a: orders(first: 2) { id } b: orders(first: 2) { id total items { sku } payment { status } } } }")
        .await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    for user in reply.body["data"]["users"].as_array().expect("users") {
        let (a, b) = (&user["a"], &user["b"]);
        assert_eq!(
            a.as_array().map(Vec::len),
            b.as_array().map(Vec::len),
            "{user}"
        );
        for (a, b) in a
            .as_array()
            .expect("a")
            .iter()
            .zip(b.as_array().expect("b"))
        {
            assert_eq!(a["id"], b["id"]);
            assert!(b["total"].is_number(), "{b}");
            assert!(b["items"][0]["sku"].is_string(), "{b}");
        }
    }
}
