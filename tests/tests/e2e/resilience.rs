//! Failing services, seen through the services' fault knobs and counters: retries within a
//! budget, the circuit breaker, the concurrency limit, bad answers.

use std::{sync::Arc, time::Duration};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{DASHBOARD, ServiceKind, Stack, recorder::Recorder};

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            e["extensions"]["code"]
                .as_str()
                .unwrap_or("NONE")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn flaky_service_retries_stay_within_the_budget() {
    let stack = Stack::builder()
        .config(|config| config.rate_limit.enabled = false)
        .start()
        .await;
    let set = stack
        .services
        .set_faults(ServiceKind::Orders, json!({"errorRate": 0.3}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    stack.services.reset_stats().await;
    let stack = Arc::new(stack);
    let started = std::time::Instant::now();
    let queries = 2_000;
    let workers: Vec<_> = (0..16)
        .map(|worker| {
            let stack = stack.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for _ in (worker..queries).step_by(16) {
                    let reply = stack.query(DASHBOARD).await;
                    outcomes.push((reply.status, codes(&reply.body)));
                }
                outcomes
            })
        })
        .collect();
    let mut failed = 0;
    let mut total = 0;
    for worker in workers {
        for (status, codes) in worker.await.expect("the worker finishes") {
            total += 1;
            assert_eq!(status, StatusCode::OK, "never a gateway 5xx");
            assert!(
                codes.iter().all(|c| c != "NONE"),
                "every error typed: {codes:?}"
            );
            if !codes.is_empty() {
                assert!(codes.iter().all(|c| c == "UPSTREAM_ERROR"), "{codes:?}");
                failed += 1;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(total, queries);
    // About 600 first attempts fail (30 %); the budget lets about 400 of them retry (20 %
    // of the calls, plus 10 a second), so retries must have saved a good share.
    assert!(
        failed < queries * 3 / 10 * 2 / 3,
        "{failed} of {queries} dashboards had errors"
    );
    // What the services counted is the gateway's first attempts plus its retries; the
    // retries stay within the budget: 20 % of the calls plus a reserve of 10 a second
    // over its 10 s window (renewed as the window slides).
    let attempts = stack.services.total_requests(ServiceKind::Orders).await as f64;
    let retries = stack
        .metric("switchyard_upstream_retries_total{source=\"orders\"}")
        .await
        .unwrap_or(0.0);
    let first = attempts - retries;
    let windows = (elapsed / 10.0).ceil().max(1.0);
    let bound = first * 0.2 + 100.0 * windows;
    assert!(retries > 0.0, "retries happened");
    assert!(
        retries <= bound,
        "{retries} retries for {first} calls (bound {bound:.0})"
    );
}

#[tokio::test]
async fn the_breaker_opens_half_opens_and_closes() {
    let stack = Stack::builder()
        .config(|config| {
            let payments = config.sources.entry("payments".into()).or_default();
            payments.breaker_failures = Some(3);
            payments.breaker_open_for = Some(Duration::from_millis(800));
            payments.retries = Some(0);
        })
        .start()
        .await;
    let set = stack
        .services
        .set_faults(ServiceKind::Payments, json!({"errorRate": 1.0}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    stack.services.reset_stats().await;
    for _ in 0..3 {
        let reply = stack.query(DASHBOARD).await;
        assert!(
            codes(&reply.body).contains(&"UPSTREAM_ERROR".to_owned()),
            "{}",
            reply.text
        );
    }
    assert_eq!(
        stack.services.total_requests(ServiceKind::Payments).await,
        3
    );
    for _ in 0..5 {
        let reply = stack.query(DASHBOARD).await;
        let codes = codes(&reply.body);
        assert!(
            codes.iter().all(|c| c == "CIRCUIT_OPEN") && !codes.is_empty(),
            "{codes:?}"
        );
        assert!(
            reply.body["data"]["user"]["name"].is_string(),
            "the rest still arrives"
        );
    }
    assert_eq!(
        stack.services.total_requests(ServiceKind::Payments).await,
        3,
        "an open circuit calls nobody"
    );
    let ready = stack.get_json("/ready").await;
    assert_eq!(ready["sources"]["payments"]["circuit"], "open", "{ready}");
    assert_eq!(ready["sources"]["orders"]["circuit"], "closed", "{ready}");
    let metrics = stack.get_text("/metrics").await;
    assert!(
        metrics.contains("switchyard_circuit_state{source=\"payments\"} 1"),
        "{metrics}"
    );

    // The service recovers; after the open time one probe goes through and closes it.
    let set = stack
        .services
        .set_faults(ServiceKind::Payments, json!({"errorRate": 0.0}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    tokio::time::sleep(Duration::from_millis(900)).await;
    let reply = stack.query(DASHBOARD).await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    assert_eq!(
        stack.services.total_requests(ServiceKind::Payments).await,
        4
    );
    let ready = stack.get_json("/ready").await;
    assert_eq!(ready["sources"]["payments"]["circuit"], "closed", "{ready}");
}

#[tokio::test]
async fn a_full_service_fails_fast() {
    let stack = Stack::builder()
        .config(|config| {
            config
                .sources
                .entry("payments".into())
                .or_default()
                .max_concurrency = Some(1);
            // Two requests' payment batches must be two calls to meet the limit.
            config
                .sources
                .entry("payments".into())
                .or_default()
                .coalesce = Some(false);
        })
        .start()
        .await;
    let set = stack
        .services
        .set_faults(ServiceKind::Payments, json!({"latencyMs": 400}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let first = stack.query("{ user(id: 5) { orders(first: 3) { payment { status } } } }");
    let second = stack.query("{ user(id: 6) { orders(first: 3) { payment { status } } } }");
    let (first, second) = tokio::join!(first, second);
    let all: Vec<String> = codes(&first.body)
        .into_iter()
        .chain(codes(&second.body))
        .collect();
    assert!(all.contains(&"UPSTREAM_OVERLOADED".to_owned()), "{all:?}");
    let served = [&first, &second]
        .iter()
        .filter(|r| r.body.get("errors").is_none())
        .count();
    assert_eq!(served, 1, "one got the slot");
}

#[tokio::test]
async fn wrong_types_and_oversized_bodies_are_bad_responses() {
    let recorder = Recorder::start(|path| {
        if path.starts_with("/big") {
            (
                StatusCode::OK,
                json!({"id": "1", "name": "x".repeat(5_000)}),
            )
        } else {
            (
                StatusCode::OK,
                json!({"id": "1", "name": {"first": "not", "a": "string"}}),
            )
        }
    })
    .await;
    let schema = r#"
        extend schema @source(name: "svc", url: "RECORDER")
        type Query {
          thing: Thing @rest(source: "svc", path: "/thing")
          big: Thing @rest(source: "svc", path: "/big")
        }
        type Thing { id: ID! name: String }
    "#;
    let gateway = recorder
        .gateway_with(schema, |config| {
            config
                .sources
                .entry("svc".into())
                .or_default()
                .max_response_bytes = Some(1_000);
        })
        .await;
    for field in ["thing", "big"] {
        let reply = Recorder::post(
            &gateway,
            &json!({"query": format!("{{ {field} {{ id name }} }}")}),
        )
        .await;
        assert_eq!(
            codes(&reply.body),
            vec!["UPSTREAM_BAD_RESPONSE"],
            "{field}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn stale_answers_cover_a_dead_service_within_the_window_only() {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let switch = healthy.clone();
    let recorder = Recorder::start(move |_| {
        if switch.load(std::sync::atomic::Ordering::SeqCst) {
            (
                StatusCode::OK,
                json!({"id": "1", "name": "fresh from the service"}),
            )
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, json!({"error": "down"}))
        }
    })
    .await;
    let schema = r#"
        extend schema @source(name: "svc", url: "RECORDER")
        type Query { thing: Thing @rest(source: "svc", path: "/thing") @cacheControl(maxAge: 1) }
        type Thing { id: ID! name: String }
    "#;
    let gateway = recorder
        .gateway_with(schema, |config| {
            let svc = config.sources.entry("svc".into()).or_default();
            svc.stale_if_error = Some(Duration::from_secs(2));
            svc.retries = Some(0);
        })
        .await;
    let query = json!({"query": "{ thing { name } }"});
    let cached_at = std::time::Instant::now();
    let first = Recorder::post(&gateway, &query).await;
    assert_eq!(
        first.body["data"]["thing"]["name"],
        "fresh from the service"
    );
    assert!(first.body.get("extensions").is_none(), "{}", first.text);

    healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let stale = Recorder::post(&gateway, &query).await;
    assert!(stale.body.get("errors").is_none(), "{}", stale.text);
    assert_eq!(
        stale.body["data"]["thing"]["name"],
        "fresh from the service"
    );
    assert_eq!(
        stale.body["extensions"]["stale"],
        json!(["svc"]),
        "{}",
        stale.text
    );
    assert_eq!(
        recorder.requests().len(),
        2,
        "the stale answer was refreshed first"
    );

    // Past freshness (1 s) plus the window (2 s), nothing covers the failure.
    tokio::time::sleep(Duration::from_millis(3_300).saturating_sub(cached_at.elapsed())).await;
    let expired = Recorder::post(&gateway, &query).await;
    assert!(expired.body["data"]["thing"].is_null(), "{}", expired.text);
    assert_eq!(codes(&expired.body), vec!["UPSTREAM_ERROR"]);
}

#[tokio::test]
async fn a_non_critical_field_answers_its_declared_fallback() {
    let stack = Stack::start().await;
    let set = stack
        .services
        .set_faults(ServiceKind::Notifications, json!({"errorRate": 1.0}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let reply = stack
        .query("{ user(id: 7) { name unreadNotificationCount orders(first: 2) { id } } }")
        .await;
    // unreadNotificationCount declares @fallback(value: 0): the dashboard keeps its user.
    let user = &reply.body["data"]["user"];
    assert_eq!(user["unreadNotificationCount"], 0, "{}", reply.text);
    assert!(
        user["name"].is_string() && user["orders"].is_array(),
        "{}",
        reply.text
    );
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    assert_eq!(
        reply.body["extensions"]["fallback"],
        json!(["User.unreadNotificationCount"]),
        "{}",
        reply.text
    );
    // A field without a fallback still reports the failure.
    let reply = stack
        .query("{ user(id: 7) { notifications(first: 2) { message } } }")
        .await;
    assert_eq!(codes(&reply.body), vec!["UPSTREAM_ERROR"], "{}", reply.text);
}
