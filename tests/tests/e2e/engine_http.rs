//! GraphQL over HTTP: POST and GET, GraphiQL for browsers, mutations, the public SDL.

use reqwest::StatusCode;
use serde_json::json;
use switchyard_tests::{ServiceKind, Stack, reply};

#[tokio::test]
async fn get_runs_queries_but_not_mutations() {
    let stack = Stack::start().await;
    let url = format!(
        "{}?query={}",
        stack.graphql_url(),
        "%7B%20user(id%3A%201)%20%7B%20id%20%7D%20%7D"
    );
    let get = stack.client.get(url).header("x-graphql-preflight", "1");
    let get = reply(get.send().await.expect("answers")).await;
    assert_eq!(get.body["data"]["user"]["id"], "1", "{}", get.text);

    let mutation = "mutation { markNotificationRead(id: 1) { id } }";
    let response = stack
        .client
        .get(stack.graphql_url())
        .header("x-graphql-preflight", "1")
        .query(&[("query", mutation)])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        stack
            .services
            .total_requests(ServiceKind::Notifications)
            .await,
        0
    );
}

#[tokio::test]
async fn place_order_is_a_post_to_the_orders_service() {
    let stack = Stack::start().await;
    let body = json!({
        "query": "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status total items { sku quantity } user { id } } }",
        "variables": {"input": {"userId": 31, "items": [{"sku": "SKU-0002", "quantity": 2}]}}
    });
    let placed = stack.graphql_with(body, &[]).await;
    assert!(placed.body.get("errors").is_none(), "{}", placed.text);
    let order = &placed.body["data"]["placeOrder"];
    assert_eq!(order["status"], "PENDING");
    assert_eq!(order["items"], json!([{"sku": "SKU-0002", "quantity": 2}]));
    assert_eq!(order["user"]["id"], "31");
    let direct = stack
        .services
        .get(
            ServiceKind::Orders,
            &format!("/orders/{}", order["id"].as_str().unwrap_or("0")),
        )
        .await;
    assert_eq!(direct.body["userId"], 31);

    let bad = stack
        .graphql_with(
            json!({"query": "mutation { placeOrder(input: {userId: 31, items: [{sku: \"NOPE\", quantity: 1}]}) { id } }"}),
            &[],
        )
        .await;
    assert_eq!(
        bad.body["errors"][0]["extensions"]["code"],
        "UPSTREAM_ERROR"
    );
    assert_eq!(bad.body["errors"][0]["extensions"]["status"], 422);
}

#[tokio::test]
async fn malformed_queries_get_clear_errors() {
    let stack = Stack::start().await;
    let syntax = stack.query("{ user(id: 1) { name ").await;
    assert!(
        syntax.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        syntax.text
    );
    let unknown = stack.query("{ user(id: 1) { nickname } }").await;
    assert!(
        unknown.body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("nickname")
    );
    let not_json = stack
        .client
        .post(stack.graphql_url())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answers");
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(stack.upstream_counts().await, [0, 0, 0, 0]);
}

#[tokio::test]
async fn introspection_shows_the_public_schema_without_routing_directives() {
    let stack = Stack::start().await;
    let reply = stack
        .query("{ __type(name: \"User\") { fields { name } } }")
        .await;
    let fields: Vec<&str> = reply.body["data"]["__type"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(
        fields.contains(&"orders") && fields.contains(&"unreadNotificationCount"),
        "{fields:?}"
    );
    let engine = switchyard::engine_from_sdl(
        &switchyard::config::Config::default(),
        std::path::Path::new("shop.graphql"),
        switchyard_schema::SHOP_SCHEMA,
    )
    .expect("builds");
    let sdl = engine.sdl();
    assert!(sdl.contains("type User"));
    for directive in ["@rest", "@source", "@join", "@key", "@map", "@cacheControl"] {
        assert!(
            !sdl.contains(directive),
            "{directive} leaks into the public SDL"
        );
    }
}
