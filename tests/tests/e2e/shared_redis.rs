//! Several gateways sharing one real Redis: one rate limit across replicas, one replica's
//! cached answer served by the other, Redis dying and coming back, a replica dying.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard::{RunningGateway, config::Config};
use switchyard_tests::{Reply, ServiceKind, Services, metric_value, redis::RedisServer, reply};

fn config(redis: &RedisServer, per_minute: u32) -> Config {
    let mut config = Config::default();
    config.redis.url = Some(redis.url());
    config.redis.cache = true;
    config.rate_limit.anonymous.requests = per_minute;
    config.rate_limit.anonymous.per = Duration::from_secs(60);
    config
}

async fn ask(client: &reqwest::Client, gateway: &RunningGateway, query: &str) -> Reply {
    let response = client
        .post(format!("{}/graphql", gateway.url()))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("answers");
    reply(response).await
}

async fn metric(client: &reqwest::Client, gateway: &RunningGateway, name: &str) -> f64 {
    let text = client
        .get(format!("{}/metrics", gateway.url()))
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    metric_value(&text, name).unwrap_or_else(|| panic!("{name} in {text}"))
}

#[tokio::test]
async fn two_replicas_share_one_limit_and_one_cache() {
    let redis = RedisServer::start();
    let services = Services::start().await;
    let schema = switchyard_schema::SHOP_SCHEMA;
    let a = services.gateway(schema, config(&redis, 20)).await;
    let b = services.gateway(schema, config(&redis, 20)).await;
    let client = switchyard_tests::client();

    // A limit of 20 a minute for this address lets 20 through, whichever replica serves.
    let mut served = 0;
    for i in 0..40 {
        let gateway = if i % 2 == 0 { &a } else { &b };
        let reply = ask(&client, gateway, "{ __typename }").await;
        match reply.status {
            StatusCode::OK => served += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}: {}", reply.text),
        }
    }
    assert_eq!(served, 20, "one limit across both replicas");

    // One replica's cacheable answer is the other's: no second call to the users service.
    let a = services.gateway(schema, config(&redis, 1_000)).await;
    let b = services.gateway(schema, config(&redis, 1_000)).await;
    services.reset_stats().await;
    let first = ask(&client, &a, "{ user(id: 3) { name } }").await;
    assert!(
        first.body["data"]["user"]["name"].is_string(),
        "{}",
        first.text
    );
    assert_eq!(services.total_requests(ServiceKind::Users).await, 1);
    // The write to Redis is in the background; give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = ask(&client, &b, "{ user(id: 3) { name } }").await;
    assert_eq!(second.body, first.body);
    assert_eq!(
        services.total_requests(ServiceKind::Users).await,
        1,
        "served from the shared cache"
    );
}

#[tokio::test]
async fn redis_dying_fails_open_and_shared_limits_resume_when_it_is_back() {
    let mut redis = RedisServer::start();
    let services = Services::start().await;
    let schema = switchyard_schema::SHOP_SCHEMA;
    let a = services.gateway(schema, config(&redis, 30)).await;
    let b = services.gateway(schema, config(&redis, 30)).await;
    let client = switchyard_tests::client();
    assert_eq!(
        ask(&client, &a, "{ __typename }").await.status,
        StatusCode::OK
    );

    redis.kill();
    for _ in 0..10 {
        let reply = ask(&client, &a, "{ user(id: 4) { name } }").await;
        assert_eq!(reply.status, StatusCode::OK, "fail-open: {}", reply.text);
        assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    }
    assert_eq!(metric(&client, &a, "switchyard_redis_up").await, 0.0);
    assert!(metric(&client, &a, "switchyard_redis_outages_total").await >= 1.0);

    redis.restart();
    // The connection comes back on its own.
    let mut back = false;
    for _ in 0..50 {
        let _ = ask(&client, &a, "{ __typename }").await;
        let _ = ask(&client, &b, "{ __typename }").await;
        if metric(&client, &a, "switchyard_redis_up").await == 1.0
            && metric(&client, &b, "switchyard_redis_up").await == 1.0
        {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "Redis is used again");
    // A fresh Redis: the shared count starts over, and holds across both replicas again
    // (each replica's own fallback counters would let more through).
    let mut served = 0;
    for i in 0..60 {
        let gateway = if i % 2 == 0 { &a } else { &b };
        if ask(&client, gateway, "{ __typename }").await.status == StatusCode::OK {
            served += 1;
        }
    }
    assert!(
        served <= 30,
        "{served} served: the shared limit holds again"
    );
}

#[tokio::test]
async fn when_one_replica_dies_the_other_serves_every_request() {
    let redis = RedisServer::start();
    let services = Services::start().await;
    let schema = switchyard_schema::SHOP_SCHEMA;
    let replicas = vec![
        services.gateway(schema, config(&redis, 10_000)).await,
        services.gateway(schema, config(&redis, 10_000)).await,
    ];
    let urls: Vec<String> = replicas
        .iter()
        .map(|g| format!("{}/graphql", g.url()))
        .collect();
    let client = switchyard_tests::client();
    // A round-robin client that moves on to the next replica when one does not answer.
    let send = |turn: usize| {
        let (client, urls) = (client.clone(), urls.clone());
        async move {
            for attempt in 0..urls.len() {
                let url = &urls[(turn + attempt) % urls.len()];
                let sent = client
                    .post(url)
                    .json(&json!({"query": "{ user(id: 9) { name orders(first: 2) { id } } }"}))
                    .send()
                    .await;
                if let Ok(response) = sent {
                    let status = response.status();
                    let body: Value = response.json().await.unwrap_or_default();
                    return (status, body);
                }
            }
            panic!("no replica answered");
        }
    };
    for turn in 0..20 {
        let (status, body) = send(turn).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let mut replicas = replicas.into_iter();
    let first = replicas.next().expect("two replicas");
    first.shutdown();
    first.wait().await.expect("stops cleanly");
    for turn in 0..20 {
        let (status, body) = send(turn).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["data"]["user"]["orders"].is_array(), "{body}");
    }
}

#[tokio::test]
async fn fail_closed_refuses_while_redis_is_away() {
    let mut redis = RedisServer::start();
    let services = Services::start().await;
    let mut closed = config(&redis, 1_000);
    closed.redis.on_failure = switchyard::config::FailurePolicy::Closed;
    let gateway = services
        .gateway(switchyard_schema::SHOP_SCHEMA, closed)
        .await;
    let client = switchyard_tests::client();
    assert_eq!(
        ask(&client, &gateway, "{ __typename }").await.status,
        StatusCode::OK
    );

    redis.kill();
    services.reset_stats().await;
    let refused = ask(&client, &gateway, "{ user(id: 2) { name } }").await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["errors"][0]["extensions"]["code"],
        "RATE_LIMITED"
    );
    assert_eq!(services.total_requests(ServiceKind::Users).await, 0);

    redis.restart();
    let mut served = false;
    for _ in 0..50 {
        if ask(&client, &gateway, "{ __typename }").await.status == StatusCode::OK {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "requests pass again once Redis is back");
}
