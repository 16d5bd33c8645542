//! The users service: one, a batch in request order, pages, and bad input.

use reqwest::StatusCode;
use serde_json::json;
use switchyard_tests::{ServiceKind::Users, Services};

#[tokio::test]
async fn one_user_by_id_and_404_when_absent() {
    let services = Services::start().await;
    let reply = services.get(Users, "/users/7").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["id"], 7);
    assert!(reply.body["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(
        reply.body["email"]
            .as_str()
            .is_some_and(|e| e.contains('@'))
    );

    let missing = services.get(Users, "/users/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn batch_by_ids_keeps_request_order_and_omits_missing() {
    let services = Services::start().await;
    let reply = services.get(Users, "/users?ids=3,1,999999,2").await;
    assert_eq!(reply.status, StatusCode::OK);
    let ids: Vec<u64> = reply
        .body
        .as_array()
        .expect("an array")
        .iter()
        .map(|u| u["id"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(ids, [3, 1, 2]);
}

#[tokio::test]
async fn pages_have_bounds_and_totals() {
    let services = Services::start().await;
    let first = services.get(Users, "/users").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.body["items"].as_array().map(Vec::len),
        Some(20),
        "default limit"
    );
    assert_eq!(first.body["total"], 5000);
    assert_eq!(first.body["items"][0]["id"], 1);

    let page = services.get(Users, "/users?limit=5&offset=10").await;
    let ids: Vec<u64> = page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["id"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(ids, [11, 12, 13, 14, 15]);

    let past_end = services.get(Users, "/users?limit=5&offset=4998").await;
    assert_eq!(past_end.body["items"].as_array().map(Vec::len), Some(2));
    let beyond = services.get(Users, "/users?offset=100000").await;
    assert_eq!(beyond.body["items"], json!([]));

    let largest = services.get(Users, "/users?limit=500").await;
    assert_eq!(largest.body["items"].as_array().map(Vec::len), Some(500));
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_parameter() {
    let services = Services::start().await;
    let ids = (1..=501)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    for (path, parameter) in [
        ("/users/abc", "id"),
        ("/users/-1", "id"),
        ("/users/0", "id"),
        ("/users?ids=1,x,3", "ids"),
        (&format!("/users?ids={ids}")[..], "ids"),
        ("/users?limit=-1", "limit"),
        ("/users?limit=0", "limit"),
        ("/users?limit=501", "limit"),
        ("/users?limit=ten", "limit"),
        ("/users?offset=-5", "offset"),
    ] {
        let reply = services.get(Users, path).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.body["error"]["code"], "BAD_REQUEST", "{path}");
        assert_eq!(
            reply.body["error"]["parameter"], parameter,
            "{path}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let services = Services::start().await;
    let reply = services.get(Users, "/nothing/here").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn same_seed_same_data_other_seed_other_data() {
    let a = Services::builder().seed(9).start().await;
    let b = Services::builder().seed(9).start().await;
    let c = Services::builder().seed(10).start().await;
    let path = "/users?ids=1,2,3,4,5";
    let (a, b, c) = (
        a.get(Users, path).await.body,
        b.get(Users, path).await.body,
        c.get(Users, path).await.body,
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
}
