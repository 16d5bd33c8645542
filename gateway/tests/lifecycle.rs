//! The process's life under load: SIGTERM drains in-flight requests and exits 0.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Gateway, TempDir, shop_schema, sources_toml};
use switchyard_mock::{ClusterConfig, MockCluster, ServiceKind};

#[tokio::test]
async fn sigterm_under_load_finishes_every_accepted_request_and_exits_zero() {
    let services = MockCluster::start(ClusterConfig::ephemeral())
        .await
        .expect("the services start");
    let dir = TempDir::new("drain");
    let config = format!(
        "[schema]\npath = \"{}\"\n[rate_limit]\nenabled = false\n{}",
        shop_schema().display(),
        sources_toml(&services)
    );
    let mut gateway = Gateway::start(dir.path(), &config, &[]).await;
    // Slow orders, so requests are in flight when the signal comes.
    let orders = services.url(ServiceKind::Orders).expect("running");
    let client = reqwest::Client::new();
    client
        .post(format!("{orders}/__faults"))
        .json(&json!({"latencyMs": 400}))
        .send()
        .await
        .expect("faults set");

    let url = format!("{}/graphql", gateway.url);
    let requests: Vec<_> = (0..24)
        .map(|i| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let query = format!(
                    "{{ user(id: {}) {{ name orders(first: 2) {{ id }} }} }}",
                    i + 1
                );
                let response = client
                    .post(url)
                    .json(&json!({ "query": query }))
                    .send()
                    .await?;
                let status = response.status();
                let body: serde_json::Value = response.json().await?;
                Ok::<_, reqwest::Error>((status, body))
            })
        })
        .collect();
    // Let every request reach the gateway and wait on orders, then ask it to stop.
    tokio::time::sleep(Duration::from_millis(150)).await;
    gateway.signal("TERM");
    for request in requests {
        let (status, body) = request
            .await
            .expect("the task ends")
            .expect("an accepted request is answered");
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        assert!(body["data"]["user"]["orders"].is_array(), "{body}");
    }
    let exit = tokio::task::spawn_blocking(move || {
        let status = gateway.child.wait().expect("waits");
        (status, gateway.logs())
    })
    .await
    .expect("joins");
    assert_eq!(exit.0.code(), Some(0), "{}", exit.1);
    assert!(exit.1.contains("draining"), "{}", exit.1);
}
