//! GraphiQL in a real headless Chromium, with no network but loopback: the page loads
//! from the gateway alone (no CDN), runs the dashboard query with the demo's token in its
//! headers, and renders the answer. The screenshot is saved to
//! `target/graphiql-dashboard.png`.

use std::{path::PathBuf, process::Command, time::Duration};

use switchyard_tests::ServiceKind;

fn chromium() -> &'static str {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name).arg("--version").output().is_ok() {
            return name;
        }
    }
    panic!("no Chromium found: ./scripts/test installs Debian's chromium");
}

/// Runs headless Chromium on `url` with `args`, offline but for loopback.
fn headless(url: &str, args: &[&str], profile: &std::path::Path) -> String {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            // Containers often have a tiny /dev/shm, where Chromium crashes.
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--virtual-time-budget=20000",
            "--window-size=1400,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_the_dashboard_query_offline() {
    let demo = switchyard::demo::start("127.0.0.1:0".parse().expect("an address"), 42)
        .await
        .expect("the demo starts");
    let users = demo.services().url(ServiceKind::Users).expect("users run");
    let name = reqwest::get(format!("{users}/users/7"))
        .await
        .expect("answers")
        .json::<serde_json::Value>()
        .await
        .expect("JSON")["name"]
        .as_str()
        .expect("a name")
        .to_owned();
    let page = format!("{}/graphql#run", demo.gateway().url());
    let profile = std::env::temp_dir().join(format!("switchyard-chromium-{}", std::process::id()));
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    std::fs::create_dir_all(&target).expect("target exists");
    let screenshot = target.join("graphiql-dashboard.png");

    let (dom, _) = tokio::task::spawn_blocking({
        let (page, profile, screenshot) = (page.clone(), profile.clone(), screenshot.clone());
        move || {
            let dom = headless(&page, &["--dump-dom"], &profile);
            let shot = headless(
                &page,
                &[&format!("--screenshot={}", screenshot.display())],
                &profile,
            );
            (dom, shot)
        }
    })
    .await
    .expect("chromium finishes");
    let _ = std::fs::remove_dir_all(&profile);

    assert!(
        dom.contains("graphiql-container"),
        "GraphiQL rendered: {}",
        &dom[..dom.len().min(2_000)]
    );
    assert!(
        dom.contains(&name),
        "the answer shows user 7's name ({name}) in the result pane"
    );
    assert!(
        dom.contains("unreadNotificationCount"),
        "the dashboard query is in the editor"
    );
    assert!(
        dom.contains("authorization"),
        "the demo token is in the headers editor"
    );
    let png = std::fs::metadata(&screenshot).expect("a screenshot was saved");
    assert!(png.len() > 10_000, "the screenshot has content");
    tokio::time::sleep(Duration::from_millis(10)).await;
    demo.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_a_subscription_over_its_websocket() {
    let demo = switchyard::demo::start("127.0.0.1:0".parse().expect("an address"), 42)
        .await
        .expect("the demo starts");
    let gateway = demo.gateway().url();
    let page = format!("{gateway}/graphql#live-run");
    let profile =
        std::env::temp_dir().join(format!("switchyard-chromium-live-{}", std::process::id()));
    let dom = tokio::task::spawn_blocking({
        let profile = profile.clone();
        move || headless(&page, &["--dump-dom"], &profile)
    })
    .await
    .expect("chromium finishes");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        dom.contains("cm-keyword\">subscription<"),
        "the live example is in the editor"
    );

    // The page subscribed over the WebSocket (past the origin check and the CSP), signed in
    // with the demo token: the gateway counted one subscription that ended without errors
    // when Chromium closed the socket.
    let series = "switchyard_graphql_requests_total{operation_name=\"Live\",operation_type=\"subscription\",outcome=\"ok\"}";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = reqwest::get(format!("{gateway}/metrics"))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("a body");
        if switchyard_tests::metric_value(&metrics, series) == Some(1.0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no subscription from the page: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    demo.stop().await.expect("stops");
}
