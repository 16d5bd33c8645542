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

#[tokio::test]
async fn a_schema_edit_is_served_after_reload_and_a_broken_one_is_refused() {
    let services = MockCluster::start(ClusterConfig::ephemeral())
        .await
        .expect("the services start");
    let dir = TempDir::new("reload");
    let schema_file = dir.path().join("schema.graphql");
    let original = std::fs::read_to_string(shop_schema()).expect("the shop schema");
    std::fs::write(&schema_file, &original).expect("written");
    let config = format!(
        "[schema]\npath = \"schema.graphql\"\n[rate_limit]\nenabled = false\n[log]\nformat = \"json\"\n{}",
        sources_toml(&services)
    );
    let gateway = Gateway::start(dir.path(), &config, &[]).await;
    let url = format!("{}/graphql", gateway.url);
    let client = reqwest::Client::new();

    // Load throughout: no request may fail while versions are swapped.
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, running) = (client.clone(), url.clone(), running.clone());
            tokio::spawn(async move {
                let (mut served, mut failed) = (0u32, Vec::new());
                while running.load(std::sync::atomic::Ordering::Relaxed) {
                    let reply = client
                        .post(&url)
                        .json(&json!({"query": "{ user(id: 1) { name } }"}))
                        .send()
                        .await;
                    match reply {
                        Ok(r) if r.status() == 200 => {
                            let body: serde_json::Value = r.json().await.unwrap_or_default();
                            if body["data"]["user"]["name"].is_string() {
                                served += 1;
                            } else {
                                failed.push(body.to_string());
                            }
                        }
                        Ok(r) => failed.push(format!("HTTP {}", r.status())),
                        Err(e) => failed.push(e.to_string()),
                    }
                }
                (served, failed)
            })
        })
        .collect();

    let ask = |query: &'static str| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let response = client
                .post(url)
                .json(&json!({ "query": query }))
                .send()
                .await
                .expect("answers");
            response.json::<serde_json::Value>().await.expect("JSON")
        }
    };
    let added = original.replacen(
        "  name: String!\n",
        "  name: String!\n  displayName: String @map(path: \"name\")\n",
        1,
    );
    assert_ne!(added, original, "the edit applies");
    std::fs::write(&schema_file, &added).expect("written");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let body = ask("{ user(id: 1) { displayName } }").await;
        if body["data"]["user"]["displayName"].is_string() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not reloaded: {body}\n{}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    std::fs::write(&schema_file, format!("{added}\ntype Broken {{")).expect("written");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let body = ask("{ user(id: 1) { displayName } }").await;
    assert!(
        body["data"]["user"]["displayName"].is_string(),
        "the old version serves: {body}"
    );
    assert!(
        gateway.logs().contains("reload rejected"),
        "the rejection is logged: {}",
        gateway.logs()
    );

    // SIGHUP asks for a reload too (here of the still broken file: rejected again).
    gateway.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gateway.logs().contains("SIGHUP") {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload on SIGHUP: {}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut served = 0;
    for task in load {
        let (ok, failed) = task.await.expect("the load ends");
        assert!(failed.is_empty(), "failed during reloads: {failed:?}");
        served += ok;
    }
    assert!(served > 20, "the load ran: {served} requests");
}
