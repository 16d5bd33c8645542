//! The response cache: repeats within the TTL cost nothing upstream; a private type is never
//! served to another caller; public hints are shared; without a hint the service's own
//! `Cache-Control` decides.

use axum::http::StatusCode;
use serde_json::json;
use switchyard_tests::{ServiceKind::Users, Stack, recorder::Recorder};

const USER: &str = "{ user(id: 12) { name email } }";

#[tokio::test]
async fn a_repeat_within_the_ttl_makes_no_upstream_request() {
    let stack = Stack::start().await;
    let first = stack.query(USER).await;
    assert_eq!(stack.services.total_requests(Users).await, 1);
    for _ in 0..3 {
        let again = stack.query(USER).await;
        assert_eq!(again.body, first.body);
    }
    assert_eq!(
        stack.services.total_requests(Users).await,
        1,
        "served from the cache"
    );
}

#[tokio::test]
async fn a_private_type_is_never_served_across_callers() {
    let stack = Stack::start().await;
    let body = json!({ "query": USER });
    let alice = stack
        .graphql_with(body.clone(), &[("authorization", "Bearer alice")])
        .await;
    let bob = stack
        .graphql_with(body.clone(), &[("authorization", "Bearer bob")])
        .await;
    assert_eq!(alice.body, bob.body);
    assert_eq!(
        stack.services.total_requests(Users).await,
        2,
        "one call per caller"
    );
    stack
        .graphql_with(body.clone(), &[("authorization", "Bearer alice")])
        .await;
    assert_eq!(
        stack.services.total_requests(Users).await,
        2,
        "alice's own entry is reused"
    );
}

const PUBLIC_SCHEMA: &str = r#"
extend schema @source(name: "users", url: "http://127.0.0.1:1")
type Query { user(id: ID!): User @rest(source: "users", path: "/users/{$args.id}") }
type User @cacheControl(maxAge: 60, scope: PUBLIC) { id: ID! name: String! }
"#;

#[tokio::test]
async fn a_public_type_is_shared_by_all_callers() {
    let stack = Stack::builder().schema(PUBLIC_SCHEMA).start().await;
    let body = json!({ "query": "{ user(id: 4) { name } }" });
    stack
        .graphql_with(body.clone(), &[("authorization", "Bearer alice")])
        .await;
    let bob = stack
        .graphql_with(body, &[("authorization", "Bearer bob")])
        .await;
    assert!(bob.body["data"]["user"]["name"].is_string(), "{}", bob.text);
    assert_eq!(stack.services.total_requests(Users).await, 1);
}

const UNCACHED_SCHEMA: &str = r#"
extend schema @source(name: "users", url: "http://127.0.0.1:1")
type Query { user(id: ID!): User @rest(source: "users", path: "/users/{$args.id}") }
type User { id: ID! name: String! }
"#;

#[tokio::test]
async fn without_a_hint_nothing_is_cached() {
    let stack = Stack::builder().schema(UNCACHED_SCHEMA).start().await;
    stack.query("{ user(id: 4) { name } }").await;
    stack.query("{ user(id: 4) { name } }").await;
    assert_eq!(stack.services.total_requests(Users).await, 2);
}

const HINTLESS_SCHEMA: &str = r#"
extend schema @source(name: "svc", url: "RECORDER")
type Query { item(id: String!): Item @rest(source: "svc", path: "/items/{$args.id}") }
type Item { id: String! }
"#;

#[tokio::test]
async fn without_a_hint_the_services_own_max_age_is_honoured() {
    let recorder = Recorder::start_with_headers(&[("cache-control", "max-age=60")], |_| {
        (StatusCode::OK, json!({"id": "x"}))
    })
    .await;
    let gateway = recorder.gateway(HINTLESS_SCHEMA).await;
    let body = json!({"query": "{ item(id: \"a\") { id } }"});
    for _ in 0..3 {
        let reply = Recorder::post(&gateway, &body).await;
        assert_eq!(reply.body["data"]["item"]["id"], "x");
    }
    assert_eq!(recorder.requests().len(), 1);

    let no_store = Recorder::start_with_headers(&[("cache-control", "no-store")], |_| {
        (StatusCode::OK, json!({"id": "y"}))
    })
    .await;
    let gateway = no_store.gateway(HINTLESS_SCHEMA).await;
    for _ in 0..2 {
        Recorder::post(&gateway, &body).await;
    }
    assert_eq!(no_store.requests().len(), 2);
}
