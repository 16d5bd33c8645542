//! Request and query limits, and cross-site request refusal: each crafted request is
//! refused with its own code and costs no service call.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{Reply, Stack, reply};

fn code(reply: &Reply) -> &str {
    reply.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn attack_queries_are_refused_before_any_service_call() {
    let stack = Stack::start().await;
    let nested = format!(
        "{{ user(id: 1) {{ {} id {} }} }}",
        "orders { user { ".repeat(8),
        "} } ".repeat(8)
    );
    let aliases: String = (0..100).map(|i| format!("a{i}: name ")).collect();
    let alias_bomb = format!("{{ user(id: 1) {{ {aliases} }} }}");
    let wide: String = (0..25)
        .map(|i| format!("u{i}: user(id: {i}) {{ id }} "))
        .collect();
    let wide_root = format!("{{ {wide} }}");
    let many_tokens = format!("{{ user(id: 1) {{ {} }} }}", "name ".repeat(6_000));
    let costly = "{ users(first: 1000) { orders(first: 100) { id payment { status } } } }";
    let long = format!("{{ __typename }} # {}", "x".repeat(40_000));
    let fragment_bomb = "{ ...A } fragment A on Query { a1: users(first: 50) { ...B } a2: users(first: 50) { ...B } }
        fragment B on User { orders(first: 50) { user { orders(first: 50) { id } } } }";
    for (query, expected) in [
        (nested.as_str(), "QUERY_TOO_DEEP"),
        (&alias_bomb, "TOO_MANY_ALIASES"),
        (&wide_root, "TOO_MANY_ROOT_FIELDS"),
        (&many_tokens, "TOO_MANY_TOKENS"),
        (costly, "QUERY_TOO_COSTLY"),
        (&long, "QUERY_TOO_LARGE"),
        (fragment_bomb, "QUERY_TOO_COSTLY"),
    ] {
        let refused = stack.query(query).await;
        assert_eq!(code(&refused), expected, "{}", refused.text);
        assert!(refused.body["data"].is_null(), "{}", refused.text);
        assert!(refused.body["errors"][0]["extensions"]["limit"].is_number());
    }
    assert_eq!(
        stack.upstream_counts().await,
        [0; 4],
        "no service was called"
    );

    // The shapes real clients send stay well inside the defaults.
    let n_plus_one =
        "{ users(first: 50) { orders(first: 5) { payment { status } user { name } } } }";
    let reply = stack.query(n_plus_one).await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    let reply = stack.query(INTROSPECTION).await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    assert!(reply.body["data"]["__schema"]["types"].is_array());
}

#[tokio::test]
async fn limits_follow_the_config() {
    let stack = Stack::builder()
        .config(|config| {
            config.limits.max_depth = 2;
            config.limits.max_cost = 50;
        })
        .start()
        .await;
    let refused = stack.query("{ user(id: 1) { orders { id } } }").await;
    assert_eq!(code(&refused), "QUERY_TOO_DEEP", "{}", refused.text);
    let refused = stack.query("{ users(first: 51) { id } }").await;
    assert_eq!(code(&refused), "QUERY_TOO_COSTLY", "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["extensions"]["actual"], 51);
    let allowed = stack.query("{ users(first: 50) { id } }").await;
    assert!(allowed.body.get("errors").is_none(), "{}", allowed.text);
}

#[tokio::test]
async fn oversized_bodies_and_batches() {
    let stack = Stack::start().await;
    let padding = "x".repeat(2 * 1024 * 1024);
    let huge = json!({"query": "{ __typename }", "variables": {"pad": padding}});
    let refused = stack.graphql_with(huge, &[]).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&refused), "REQUEST_TOO_LARGE", "{}", refused.text);

    // Streamed without a length, the limit holds too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = stack
        .client
        .post(stack.graphql_url())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answers");
    let streamed = reply(response).await;
    assert_eq!(
        streamed.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        streamed.text
    );

    let one = json!({"query": "{ user(id: 1) { id } }"});
    let batch = Value::Array(vec![one.clone(); 2]);
    let answered = stack.graphql_with(batch, &[]).await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(
        answered.body[1]["data"]["user"]["id"], "1",
        "{}",
        answered.text
    );
    let refused = stack.graphql_with(Value::Array(vec![one; 11]), &[]).await;
    assert_eq!(code(&refused), "BATCH_TOO_LARGE", "{}", refused.text);
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    for garbage in [
        json!({"querry": "{ a }"}),
        json!({"query": 5}),
        json!([1]),
        json!("q"),
    ] {
        let refused = stack.graphql_with(garbage, &[]).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&refused), "BAD_REQUEST", "{}", refused.text);
    }
}

#[tokio::test]
async fn requests_a_cross_site_page_could_send_are_refused() {
    let stack = Stack::start().await;
    let form = stack
        .client
        .post(stack.graphql_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=mutation%20%7B%20markNotificationRead(id%3A%201)%20%7B%20id%20%7D%20%7D");
    let form = reply(form.send().await.expect("answers")).await;
    assert_eq!(
        form.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        form.text
    );
    assert_eq!(code(&form), "UNSUPPORTED_MEDIA_TYPE");
    let text = stack
        .client
        .post(stack.graphql_url())
        .header("content-type", "text/plain")
        .body(r#"{"query": "{ __typename }"}"#);
    let text = reply(text.send().await.expect("answers")).await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let get = stack
        .client
        .get(stack.graphql_url())
        .query(&[("query", "{ user(id: 1) { id } }")]);
    let get = reply(get.send().await.expect("answers")).await;
    assert_eq!(get.status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&get), "CSRF_SUSPECTED", "{}", get.text);
    assert_eq!(stack.upstream_counts().await, [0; 4]);
}

/// GraphiQL's introspection query (graphql-js `getIntrospectionQuery`), nine `ofType` deep.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType {
    kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;
