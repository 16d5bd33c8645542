//! Coalescing across requests: concurrent requests' batches to one endpoint merge their
//! keys into shared calls, and identical calls become one; never where the service could
//! tell the callers apart (a forwarded identity), and with answers identical to those
//! without it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard::config::{AuthConfig, IssuerConfig};
use switchyard_tests::{ServiceKind, Stack, StackBuilder};

const PAGE: &str = "query($o: Int!) { users(first: 20, offset: $o) { id name orders(first: 3) { id total payment { status } user { name } } } }";

/// `count` concurrent requests of page `i * 20`, each from its own caller.
async fn pages(stack: &Stack, count: usize) -> Vec<Value> {
    let runs = (0..count).map(|i| async move {
        let body = json!({"query": PAGE, "variables": {"o": i * 20}});
        let caller = format!("Bearer caller-{i}");
        let reply = stack
            .graphql_with(body, &[("authorization", &caller)])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert!(reply.body.get("errors").is_none(), "{}", reply.text);
        reply.body
    });
    futures_util::future::join_all(runs).await
}

/// Services slow enough that concurrent requests are in flight together.
async fn slowly(builder: StackBuilder) -> Stack {
    let stack = builder.start().await;
    for kind in [
        ServiceKind::Users,
        ServiceKind::Orders,
        ServiceKind::Payments,
    ] {
        let set = stack
            .services
            .set_faults(kind, json!({"latencyMs": 50}))
            .await;
        assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    }
    stack.services.reset_stats().await;
    stack
}

#[tokio::test]
async fn concurrent_requests_share_calls_and_answer_as_without_coalescing() {
    let on = slowly(Stack::builder()).await;
    let shared = pages(&on, 16).await;
    let calls_on = on.upstream_counts().await;

    let off = slowly(Stack::builder().without_coalescing()).await;
    let alone = pages(&off, 16).await;
    let calls_off = off.upstream_counts().await;

    // Each request alone sends one call per level: users, orders, payments.
    assert_eq!(calls_off, [16, 16, 16, 0]);
    let total = |calls: [u64; 4]| calls.iter().sum::<u64>();
    assert!(
        total(calls_on) * 2 <= total(calls_off),
        "coalesced {calls_on:?} against {calls_off:?}"
    );
    // Byte for byte the same answers: each request gets exactly its own keys.
    for (with, without) in shared.iter().zip(&alone) {
        assert_eq!(with.to_string(), without.to_string());
    }
}

const SECRET: &str = "a-coalescing-test-secret";

fn token(sub: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 600;
    let claims = json!({"sub": sub, "exp": exp, "nonce": rand_suffix()});
    let key = EncodingKey::from_secret(SECRET.as_bytes()).expect("a secret");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("signs")
}

/// Makes two tokens of one subject differ (different credentials, same identity).
fn rand_suffix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos() as u64
}

#[tokio::test]
async fn callers_the_service_can_tell_apart_never_share_a_call() {
    // With tokens, the gateway forwards the subject to the services (x-user-id): calls of
    // different subjects differ and are never shared; two tokens of one subject are the
    // same identity to the service, and may share.
    let builder = Stack::builder().config(|config| {
        config.auth = AuthConfig {
            issuers: vec![IssuerConfig {
                secret: Some(SECRET.to_owned()),
                ..IssuerConfig::default()
            }],
            ..AuthConfig::default()
        };
    });
    let stack = slowly(builder).await;
    let query = json!({"query": "{ user(id: 5) { name } }"});
    let ask = |sub: &'static str| {
        let body = query.clone();
        let stack = &stack;
        async move {
            let bearer = format!("Bearer {}", token(sub));
            let reply = stack
                .graphql_with(body, &[("authorization", &bearer)])
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            reply.body
        }
    };
    let answers = futures_util::future::join_all([ask("1"), ask("2"), ask("3")]).await;
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(stack.services.total_requests(ServiceKind::Users).await, 3);

    stack.services.reset_stats().await;
    futures_util::future::join_all([ask("4"), ask("4"), ask("4")]).await;
    assert_eq!(stack.services.total_requests(ServiceKind::Users).await, 1);
}

#[tokio::test]
async fn a_shared_call_fails_for_every_waiter_and_survives_a_caller_leaving() {
    let stack = slowly(Stack::builder()).await;
    let set = stack
        .services
        .set_faults(
            ServiceKind::Users,
            json!({"latencyMs": 300, "errorRate": 1.0}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    stack.services.reset_stats().await;
    let answers = failing_calls(&stack, 4).await;
    for answer in &answers {
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "UPSTREAM_ERROR",
            "every waiter gets the error: {answer}"
        );
    }
    // One shared call with the retries its budget allowed, not one per request.
    assert!(stack.services.total_requests(ServiceKind::Users).await <= 3);

    // A caller that goes away does not cancel the call the others wait on.
    let set = stack
        .services
        .set_faults(
            ServiceKind::Users,
            json!({"latencyMs": 300, "errorRate": 0.0}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    stack.services.reset_stats().await;
    let ask = |caller: &'static str| {
        let url = stack.graphql_url();
        async move {
            reqwest::Client::new()
                .post(url)
                .header("authorization", caller)
                .json(&json!({"query": "{ user(id: 9) { name } }"}))
                .send()
                .await
                .expect("answers")
                .json::<Value>()
                .await
                .expect("JSON")
        }
    };
    let leaving = tokio::spawn(ask("Bearer a"));
    let staying = tokio::spawn(ask("Bearer b"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    leaving.abort();
    let answer = staying.await.expect("the request ran");
    assert!(answer["data"]["user"]["name"].is_string(), "{answer}");
    assert_eq!(stack.services.total_requests(ServiceKind::Users).await, 1);
}

async fn failing_calls(stack: &Stack, count: usize) -> Vec<Value> {
    let runs = (0..count).map(|i| async move {
        // One user for all: identical calls, from different callers.
        let body = json!({"query": "{ user(id: 5) { name } }"});
        let caller = format!("Bearer caller-{i}");
        stack
            .graphql_with(body, &[("authorization", &caller)])
            .await
            .body
    });
    futures_util::future::join_all(runs).await
}

#[tokio::test]
async fn every_request_sharing_a_stale_answer_is_told_so() {
    // Whether the requests share one execution (deduplication) or one upstream call
    // (coalescing), each answer says the service was covered by a stale answer.
    let schema = r#"
        extend schema @source(name: "users", url: "http://127.0.0.1:9")
        type Query { user(id: ID!): User @rest(source: "users", path: "/users/{$args.id}") @cacheControl(maxAge: 1) }
        type User { id: ID! name: String! }
    "#;
    for dedup in [true, false] {
        let stack = Stack::builder()
            .schema(schema)
            .config(|config| {
                config.graphql.dedup = dedup;
                let users = config.sources.entry("users".into()).or_default();
                users.stale_if_error = Some(Duration::from_secs(5));
                users.retries = Some(0);
            })
            .start()
            .await;
        let query = json!({"query": "{ user(id: 5) { name } }"});
        let ask = || stack.graphql_with(query.clone(), &[("authorization", "Bearer same")]);
        let fresh = ask().await;
        assert!(fresh.body.get("extensions").is_none(), "{}", fresh.text);

        let set = stack
            .services
            .set_faults(
                ServiceKind::Users,
                json!({"latencyMs": 300, "errorRate": 1.0}),
            )
            .await;
        assert_eq!(set.status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        stack.services.reset_stats().await;
        let answers = futures_util::future::join_all([ask(), ask(), ask()]).await;
        for answer in &answers {
            assert_eq!(answer.body["data"], fresh.body["data"], "{}", answer.text);
            assert_eq!(
                answer.body["extensions"]["stale"],
                json!(["users"]),
                "dedup {dedup}: {}",
                answer.text
            );
        }
        assert_eq!(stack.services.total_requests(ServiceKind::Users).await, 1);
    }
}
