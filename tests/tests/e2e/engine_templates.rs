//! Template values reach the service encoded: one path segment or one query value, never a
//! new segment, parameter or host; and upstream values are type-checked.

use axum::http::StatusCode;
use serde_json::json;
use switchyard_tests::recorder::Recorder;

const SCHEMA: &str = r#"
extend schema @source(name: "svc", url: "RECORDER")
type Query {
  item(id: String!): Item @rest(source: "svc", path: "/items/{$args.id}")
  search(q: String, tag: String): [Item!]! @rest(source: "svc", path: "/items", query: {q: "{$args.q}", tag: "{$args.tag}"})
}
type Item { id: String! count: Int }
"#;

#[tokio::test]
async fn injection_strings_stay_one_segment_or_one_value() {
    let recorder = Recorder::start(|_| (StatusCode::OK, json!({"id": "x", "count": 1}))).await;
    let gateway = recorder.gateway(SCHEMA).await;
    let cases = [
        ("../admin", "/items/..%2Fadmin"),
        ("%2F", "/items/%252F"),
        ("1?admin=true", "/items/1%3Fadmin%3Dtrue"),
        ("1#frag", "/items/1%23frag"),
        ("a&b=c", "/items/a%26b%3Dc"),
        ("x\r\nHost: evil", "/items/x%0D%0AHost%3A%20evil"),
        ("zoë/☃", "/items/zo%C3%AB%2F%E2%98%83"),
        ("@evil.example", "/items/%40evil.example"),
    ];
    for (value, _) in &cases {
        let body = json!({"query": "query($id: String!) { item(id: $id) { id } }", "variables": {"id": value}});
        let reply = Recorder::post(&gateway, &body).await;
        assert!(
            reply.body["data"]["item"].is_object(),
            "{value}: {}",
            reply.text
        );
    }
    let seen: Vec<String> = recorder.requests().into_iter().map(|r| r.uri).collect();
    let expected: Vec<&str> = cases.iter().map(|(_, uri)| *uri).collect();
    assert_eq!(seen, expected);

    let body = json!({"query": "{ search(q: \"a&tag=admin#x\") { id } }"});
    Recorder::post(&gateway, &body).await;
    let last = recorder.requests().pop().expect("a request").uri;
    assert_eq!(
        last, "/items?q=a%26tag%3Dadmin%23x",
        "the absent `tag` is left out"
    );
}

#[tokio::test]
async fn dot_segments_are_refused_before_any_call() {
    let recorder = Recorder::start(|_| (StatusCode::OK, json!({"id": "x"}))).await;
    let gateway = recorder.gateway(SCHEMA).await;
    for value in ["..", ".", ""] {
        let body = json!({"query": "query($id: String!) { item(id: $id) { id } }", "variables": {"id": value}});
        let reply = Recorder::post(&gateway, &body).await;
        assert_eq!(reply.body["data"]["item"], json!(null));
        assert_eq!(
            reply.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{value:?}: {}",
            reply.text
        );
    }
    assert!(recorder.requests().is_empty());
}

#[tokio::test]
async fn wrong_types_from_a_service_are_bad_responses_not_wrong_values() {
    let recorder = Recorder::start(|uri| {
        let body = match uri {
            "/items/string-count" => json!({"id": "a", "count": "seven"}),
            "/items/huge-count" => json!({"id": "a", "count": 9_999_999_999_i64}),
            "/items/number-id" => json!({"id": 5, "count": 1}),
            "/items/list" => json!([1, 2]),
            _ => json!({"id": "ok", "count": 3}),
        };
        (StatusCode::OK, body)
    })
    .await;
    let gateway = recorder.gateway(SCHEMA).await;
    for id in ["string-count", "huge-count", "number-id", "list"] {
        let body = json!({"query": format!("{{ item(id: \"{id}\") {{ id count }} }}")});
        let reply = Recorder::post(&gateway, &body).await;
        assert_eq!(
            reply.body["errors"][0]["extensions"]["code"], "UPSTREAM_BAD_RESPONSE",
            "{id}: {}",
            reply.text
        );
        assert_eq!(reply.body["errors"][0]["extensions"]["service"], "svc");
    }
}
