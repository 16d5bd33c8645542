//! The notifications service: lists, unread counts, marking read, and the event stream.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{
    ServiceKind::{Notifications, Orders},
    Services,
};

#[tokio::test]
async fn a_users_notifications_unread_only_and_counts_agree() {
    let services = Services::start().await;
    let all = services
        .get(Notifications, "/notifications?userId=2&limit=500")
        .await;
    assert_eq!(all.status, StatusCode::OK);
    let items = all.body["items"].as_array().expect("items");
    assert!(items.iter().all(|n| n["userId"] == 2));
    let unread = services
        .get(
            Notifications,
            "/notifications?userId=2&unreadOnly=true&limit=500",
        )
        .await;
    let unread_items = unread.body["items"].as_array().expect("items");
    assert!(unread_items.iter().all(|n| n["read"] == false));
    let expected = items.iter().filter(|n| n["read"] == false).count();
    assert_eq!(unread_items.len(), expected);

    let count = services.get(Notifications, "/users/2/unread-count").await;
    assert_eq!(count.body, json!({"userId": 2, "unread": expected}));
    let counts = services
        .get(Notifications, "/unread-counts?userIds=2,1")
        .await;
    assert_eq!(counts.body[0]["userId"], 2);
    assert_eq!(counts.body[0]["unread"], expected);
    assert_eq!(counts.body[1]["userId"], 1);

    let bad = services
        .get(Notifications, "/notifications?userId=2&unreadOnly=maybe")
        .await;
    assert_eq!(bad.body["error"]["parameter"], "unreadOnly");
    let none = services.get(Notifications, "/notifications").await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn marking_read_lowers_the_unread_count() {
    let services = Services::start().await;
    let unread = services
        .get(Notifications, "/notifications?userId=2&unreadOnly=true")
        .await;
    let first = unread.body["items"][0]["id"]
        .as_u64()
        .expect("user 2 has an unread notification");
    let before = services
        .get(Notifications, "/users/2/unread-count")
        .await
        .body["unread"]
        .as_u64()
        .unwrap_or(0);
    let marked = services
        .post(
            Notifications,
            &format!("/notifications/{first}/read"),
            json!({}),
        )
        .await;
    assert_eq!(marked.status, StatusCode::OK);
    assert_eq!(marked.body["read"], true);
    let after = services
        .get(Notifications, "/users/2/unread-count")
        .await
        .body["unread"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(after, before - 1);
    let missing = services
        .post(Notifications, "/notifications/99999999/read", json!({}))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// Reads server-sent events from `response` until one `data:` line arrives or `wait` passes.
async fn next_event(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    wait: Duration,
) -> Option<Value> {
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .ok()??
            .ok()?;
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(line) = buffer.lines().find(|line| line.starts_with("data:")) {
            return serde_json::from_str(line.trim_start_matches("data:").trim()).ok();
        }
    }
}

#[tokio::test]
async fn placing_an_order_streams_one_event_to_that_user_only() {
    let services = Services::start().await;
    let open = |user: u64| {
        services
            .client
            .get(format!(
                "{}/users/{user}/notifications/stream",
                services.url(Notifications)
            ))
            .header("accept", "text/event-stream")
            .send()
    };
    let alice = open(21).await.expect("stream opens");
    assert_eq!(alice.status(), StatusCode::OK);
    assert!(
        alice.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/event-stream")
    );
    let bob = open(22).await.expect("stream opens");
    let mut alice = alice.bytes_stream();
    let mut bob = bob.bytes_stream();

    let placed = services
        .post(
            Orders,
            "/orders",
            json!({"userId": 21, "items": [{"sku": "SKU-0004", "quantity": 1}]}),
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED);

    let event = next_event(&mut alice, Duration::from_secs(5))
        .await
        .expect("alice gets an event");
    assert_eq!(event["userId"], 21);
    assert!(
        event["message"]
            .as_str()
            .unwrap_or("")
            .contains(&placed.body["id"].to_string())
    );
    assert_eq!(
        next_event(&mut bob, Duration::from_millis(300)).await,
        None,
        "bob gets nothing"
    );

    let direct = services
        .post(
            Notifications,
            "/notifications",
            json!({"userId": 22, "message": "hello bob"}),
        )
        .await;
    assert_eq!(direct.status, StatusCode::CREATED);
    let event = next_event(&mut bob, Duration::from_secs(5))
        .await
        .expect("bob gets his");
    assert_eq!(event["message"], "hello bob");
}

#[tokio::test]
async fn a_stream_ends_when_the_service_stops() {
    let mut services = Services::start().await;
    let response = services
        .client
        .get(format!(
            "{}/users/3/notifications/stream",
            services.url(Notifications)
        ))
        .send()
        .await
        .expect("stream opens");
    let mut stream = response.bytes_stream();
    services.cluster.stop_service(Notifications).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream closed with the service");
}
