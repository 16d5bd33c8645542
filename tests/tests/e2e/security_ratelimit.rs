//! Rate limits per client, as clients and services see them: 429 with headers, no upstream
//! call for a refused request, other clients unaffected, service again after the wait.

use std::time::Duration;

use jsonwebtoken::EncodingKey;
use reqwest::StatusCode;
use serde_json::json;
use switchyard::config::{Config, IssuerConfig, QuotaConfig};
use switchyard_tests::{Reply, ServiceKind, Stack};

const SECRET: &str = "rate-limit-test-secret";

fn token(sub: &str) -> String {
    let claims = json!({"sub": sub, "exp": 4_000_000_000u64, "scope": ""});
    let key = EncodingKey::from_secret(SECRET.as_bytes()).expect("a key");
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("signs")
}

fn quota(requests: u32, per: Duration) -> QuotaConfig {
    QuotaConfig {
        requests,
        per,
        burst: None,
    }
}

fn small_quotas(config: &mut Config) {
    config.auth.issuers = vec![IssuerConfig {
        secret: Some(SECRET.to_owned()),
        ..IssuerConfig::default()
    }];
    config.rate_limit.authenticated = quota(3, Duration::from_millis(1500));
    config.rate_limit.anonymous = quota(2, Duration::from_secs(60));
    config.rate_limit.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a CIDR")];
}

async fn ask(stack: &Stack, headers: &[(&str, &str)]) -> Reply {
    stack
        .graphql_with(json!({"query": "{ user(id: 3) { id } }"}), headers)
        .await
}

fn header(reply: &Reply, name: &str) -> u64 {
    reply.headers[name]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a number")
}

#[tokio::test]
async fn a_client_over_its_limit_waits_and_others_go_on() {
    let stack = Stack::builder().config(small_quotas).start().await;
    let (alice, bob) = (
        format!("Bearer {}", token("alice")),
        format!("Bearer {}", token("bob")),
    );
    let alice = [("authorization", alice.as_str())];
    let bob = [("authorization", bob.as_str())];

    for remaining in [2, 1, 0] {
        let reply = ask(&stack, &alice).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(header(&reply, "ratelimit-limit"), 3);
        assert_eq!(header(&reply, "ratelimit-remaining"), remaining);
    }
    stack.services.reset_stats().await;
    let refused = ask(&stack, &alice).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text
    );
    let error = &refused.body["errors"][0];
    assert_eq!(error["extensions"]["code"], "RATE_LIMITED");
    let retry = header(&refused, "retry-after");
    assert!((1..=2).contains(&retry), "retry after {retry} s");
    assert_eq!(error["extensions"]["retryAfter"], retry);
    assert_eq!(header(&refused, "ratelimit-remaining"), 0);
    assert!(refused.headers.contains_key("ratelimit-reset"));
    assert_eq!(
        stack.services.total_requests(ServiceKind::Users).await,
        0,
        "a refused request calls no service"
    );

    // Another client has its own allowance.
    let other = ask(&stack, &bob).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);

    tokio::time::sleep(Duration::from_secs(retry)).await;
    let again = ask(&stack, &alice).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["data"]["user"]["id"], "3");
}

#[tokio::test]
async fn anonymous_clients_are_told_apart_by_address_behind_trusted_proxies() {
    let stack = Stack::builder().config(small_quotas).start().await;
    let first = [("x-forwarded-for", "198.51.100.1")];
    let second = [("x-forwarded-for", "203.0.113.7, 198.51.100.2")];
    for _ in 0..2 {
        assert_eq!(ask(&stack, &first).await.status, StatusCode::OK);
    }
    assert_eq!(
        ask(&stack, &first).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Claiming another address in front of a trusted hop changes nothing.
    let spoofed = [("x-forwarded-for", "10.9.9.9, 198.51.100.1")];
    assert_eq!(
        ask(&stack, &spoofed).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(ask(&stack, &second).await.status, StatusCode::OK);
}

#[tokio::test]
async fn costly_queries_weigh_more_and_a_global_ceiling_holds() {
    let stack = Stack::builder()
        .config(|config| {
            config.rate_limit.anonymous = quota(5, Duration::from_secs(60));
            config.rate_limit.cost_unit = 10;
        })
        .start()
        .await;
    // users(first: 40) costs 40: 1 + 40 / 10 = 5 requests' worth, the whole allowance.
    let heavy = stack.query("{ users(first: 40) { id } }").await;
    assert_eq!(heavy.status, StatusCode::OK, "{}", heavy.text);
    assert_eq!(header(&heavy, "ratelimit-remaining"), 0);
    let light = stack.query("{ user(id: 1) { id } }").await;
    assert_eq!(
        light.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        light.text
    );

    let stack = Stack::builder()
        .config(|config| {
            config.rate_limit.global = Some(quota(4, Duration::from_secs(60)));
            config.rate_limit.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a CIDR")];
        })
        .start()
        .await;
    for i in 0..4 {
        let address = format!("192.0.2.{i}");
        let reply = ask(&stack, &[("x-forwarded-for", &address)]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let over = ask(&stack, &[("x-forwarded-for", "192.0.2.200")]).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.text);
}
