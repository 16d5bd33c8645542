//! Request counters, fault knobs and trace context, as tests and demos use them.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use switchyard_mock::FaultConfig;
use switchyard_tests::{
    ServiceKind::{Orders, Payments, Users},
    Services,
};

#[tokio::test]
async fn counters_count_per_route_and_reset() {
    let services = Services::start().await;
    services.get(Users, "/users?ids=1,2,3").await;
    services.get(Users, "/users/1").await;
    services.get(Users, "/users/2").await;
    services.get(Users, "/health").await;
    let stats = services.stats(Users).await;
    assert_eq!(
        stats["total"], 3,
        "health and /__ routes are not counted: {stats}"
    );
    assert_eq!(stats["routes"]["GET /users"], 1);
    assert_eq!(stats["routes"]["GET /users/{id}"], 2);
    assert_eq!(
        services.total_requests(Orders).await,
        0,
        "each service counts its own"
    );

    services.reset_stats().await;
    assert_eq!(services.total_requests(Users).await, 0);
    assert_eq!(services.stats(Users).await["routes"], json!({}));
}

#[tokio::test]
async fn latency_and_jitter_delay_answers() {
    let services = Services::start().await;
    let set = services
        .set_faults(Users, json!({"latencyMs": 150, "jitterMs": 50}))
        .await;
    assert_eq!(set.body["latencyMs"], 150);
    let started = Instant::now();
    assert_eq!(services.get(Users, "/users/1").await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn error_rate_answers_500_and_counts_the_attempt() {
    let services = Services::start().await;
    services
        .set_faults(Payments, json!({"errorRate": 1.0}))
        .await;
    for _ in 0..3 {
        let reply = services.get(Payments, "/payments/1").await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(reply.body["error"]["code"], "INJECTED_FAULT");
    }
    assert_eq!(services.total_requests(Payments).await, 3);
    services.post(Payments, "/__faults/reset", json!({})).await;
    assert_eq!(
        services.get(Payments, "/payments/1").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_rate_breaks_the_body() {
    let services = Services::start().await;
    services
        .set_faults(Users, json!({"malformedRate": 1.0}))
        .await;
    let reply = services.get(Users, "/users/1").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        serde_json::from_str::<serde_json::Value>(&reply.text).is_err(),
        "{}",
        reply.text
    );
    // Control routes are never faulted.
    assert_eq!(
        services.get(Users, "/__faults").await.body["malformedRate"],
        1.0
    );
}

#[tokio::test]
async fn hang_is_cut_by_the_clients_timeout_and_reset_ends_it() {
    let services = Services::start().await;
    services.set_faults(Orders, json!({"hang": true})).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let result = impatient
        .get(format!("{}/orders/1", services.url(Orders)))
        .send()
        .await;
    let error = result.expect_err("a hung request never answers");
    assert!(error.is_timeout(), "{error}");
    let reset = services.post(Orders, "/__faults/reset", json!({})).await;
    assert_eq!(reset.body, json!(FaultConfig::default()));
    assert_eq!(
        services.get(Orders, "/orders/1").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn faults_from_start_up_flags_apply() {
    let services = Services::builder()
        .faults(FaultConfig {
            error_rate: 1.0,
            ..FaultConfig::default()
        })
        .start()
        .await;
    assert_eq!(
        services.get(Users, "/users/1").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn bad_fault_settings_are_refused_by_name() {
    let services = Services::start().await;
    let reply = services.set_faults(Users, json!({"errorRate": 1.5})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["parameter"], "errorRate");
    let unknown = services.set_faults(Users, json!({"explode": true})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        services.get(Users, "/__faults").await.body["errorRate"],
        0.0
    );
}

#[tokio::test]
async fn a_w3c_traceparent_is_recorded_and_junk_is_not() {
    let services = Services::start().await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for value in [traceparent, "not-a-traceparent"] {
        services
            .client
            .get(format!("{}/users/1", services.url(Users)))
            .header("traceparent", value)
            .send()
            .await
            .expect("answers");
    }
    let stats = services.stats(Users).await;
    assert_eq!(stats["recentTraceparents"], json!([traceparent]));
}
