//! The gateway process: health, readiness, and the drain on shutdown.

use reqwest::StatusCode;
use switchyard::config::Config;
use switchyard_tests::client;

fn ephemeral() -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("an address");
    config.schema.path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schema/examples/shop.graphql");
    config
}

#[tokio::test]
async fn health_and_ready_answer_then_shutdown_completes() {
    let gateway = switchyard::start(&ephemeral()).await.expect("starts");
    let client = client();
    let health = client
        .get(format!("{}/health", gateway.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(health.status(), StatusCode::OK);
    let ready = client
        .get(format!("{}/ready", gateway.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(ready.status(), StatusCode::OK);
    let url = gateway.url();
    gateway.shutdown();
    gateway.wait().await.expect("drains cleanly");
    assert!(
        client.get(format!("{url}/health")).send().await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn binding_a_taken_port_is_a_clear_error() {
    let first = switchyard::start(&ephemeral()).await.expect("starts");
    let mut config = ephemeral();
    config.server.listen = first.addr();
    let error = switchyard::start(&config)
        .await
        .expect_err("the port is taken");
    assert!(
        error.to_string().contains(&first.addr().to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn ready_reports_each_source() {
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let stack = switchyard_tests::Stack::builder()
        .services(switchyard_tests::Services::builder().only(&[
            switchyard_tests::ServiceKind::Users,
            switchyard_tests::ServiceKind::Orders,
            switchyard_tests::ServiceKind::Payments,
        ]))
        .config(move |config| {
            config
                .sources
                .entry("notifications".to_owned())
                .or_default()
                .url = Some(format!("http://{closed}"));
        })
        .start()
        .await;
    let ready = stack
        .client
        .get(format!("{}/ready", stack.gateway.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(
        ready.status(),
        StatusCode::OK,
        "a missing service does not unready"
    );
    let body: serde_json::Value = ready.json().await.expect("JSON");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["sources"]["users"]["reachable"], true, "{body}");
    assert_eq!(body["sources"]["payments"]["reachable"], true, "{body}");
    assert_eq!(
        body["sources"]["notifications"]["reachable"], false,
        "{body}"
    );
}
