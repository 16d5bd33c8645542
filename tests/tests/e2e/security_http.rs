//! HTTP hygiene: CORS from the config, security headers on the GraphiQL page, and no
//! upstream detail (bodies, URLs, credentials) in what clients see.

use reqwest::{Method, StatusCode};
use serde_json::json;
use switchyard_tests::{Stack, recorder::Recorder, reply};

#[tokio::test]
async fn cors_lets_in_configured_origins_only() {
    let stack = Stack::builder()
        .config(|config| {
            config.cors.allow_origins = vec!["https://app.example.com".to_owned()];
        })
        .start()
        .await;
    let preflight = |origin: &'static str| {
        stack
            .client
            .request(Method::OPTIONS, stack.graphql_url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com").await.expect("answers");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");

    let other = preflight("https://evil.example").await.expect("answers");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let actual = stack
        .client
        .post(stack.graphql_url())
        .header("origin", "https://app.example.com")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(
        actual.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let exposed = actual.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(exposed.contains("retry-after"), "{exposed}");

    // Without [cors], no origin is let in.
    let closed = Stack::start().await;
    let response = closed
        .client
        .post(closed.graphql_url())
        .header("origin", "https://app.example.com")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("answers");
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn browsers_get_graphiql_with_security_headers() {
    let stack = Stack::start().await;
    let page = stack
        .client
        .get(stack.graphql_url())
        .header("accept", "text/html")
        .send()
        .await
        .expect("answers");
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    let policy = headers["content-security-policy"].to_str().expect("ascii");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let scripts = policy
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .expect("a script-src");
    assert!(!scripts.contains("unsafe-inline"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let html = page.text().await.expect("a page");
    assert!(
        !html.contains("<script>"),
        "no inline script: the policy forbids it"
    );
    let script = stack
        .client
        .get(format!("{}/graphiql.js", stack.gateway.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script
            .text()
            .await
            .expect("a script")
            .contains("createFetcher")
    );
}

#[tokio::test]
async fn upstream_bodies_urls_and_credentials_stay_inside() {
    let recorder = Recorder::start(|path| {
        if path.starts_with("/garbage") {
            (StatusCode::OK, json!("SECRET-BODY-TEXT"))
        } else {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "SECRET-BODY-TEXT at db://admin:hunter2@10.0.0.1"}),
            )
        }
    })
    .await;
    let schema = r#"
        extend schema @source(name: "svc", url: "http://robot:s3cr3t-pass@RECORDER_HOST")
        type Query {
          failing: Thing @rest(source: "svc", path: "/fail")
          garbage: Thing @rest(source: "svc", path: "/garbage")
        }
        type Thing { id: ID! }
    "#
    .replace("RECORDER_HOST", &recorder.addr.to_string());
    let gateway = recorder.gateway(&schema).await;
    let response = switchyard_tests::client()
        .post(format!("{}/graphql", gateway.url()))
        .json(&json!({"query": "{ failing { id } garbage { id } }"}))
        .send()
        .await
        .expect("answers");
    let answer = reply(response).await;
    assert_eq!(
        answer.body["errors"].as_array().map(Vec::len),
        Some(2),
        "{}",
        answer.text
    );
    for secret in [
        "SECRET-BODY-TEXT",
        "s3cr3t-pass",
        "robot",
        "hunter2",
        "127.0.0.1",
        "/fail",
    ] {
        assert!(
            !answer.text.contains(secret),
            "{secret} leaked: {}",
            answer.text
        );
    }
    let codes: Vec<&str> = answer.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["extensions"]["code"].as_str())
        .collect();
    assert!(codes.contains(&"UPSTREAM_ERROR"), "{codes:?}");
    assert!(codes.contains(&"UPSTREAM_BAD_RESPONSE"), "{codes:?}");
}
