//! Each service publishes an OpenAPI 3 document that lists exactly the routes it serves.

use reqwest::{Method, StatusCode};
use serde_json::json;
use switchyard_tests::{ServiceKind, Services};

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let services = Services::start().await;
    for kind in ServiceKind::ALL {
        let document = services.get(kind, "/openapi.json").await;
        assert_eq!(document.status, StatusCode::OK);
        assert_eq!(document.body["openapi"], "3.0.3");
        let paths = document.body["paths"].as_object().expect("paths");
        assert!(paths.len() >= 4, "{kind}: {paths:?}");
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("path item") {
                assert!(operation["responses"].is_object(), "{kind} {method} {path}");
                let concrete = path.replace("{id}", "1");
                let method =
                    Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
                let body = (method == Method::POST).then(|| json!({}));
                let reply = if concrete.ends_with("/stream") {
                    // A stream never ends: the headers are the answer.
                    let response = services
                        .client
                        .get(format!("{}{concrete}", services.url(kind)))
                        .send()
                        .await
                        .expect("answers");
                    assert_eq!(response.status(), StatusCode::OK, "{kind} {path}");
                    continue;
                } else {
                    services.call(kind, method.clone(), &concrete, body).await
                };
                assert_ne!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{kind} {method} {path}"
                );
                let unrouted = reply.status == StatusCode::NOT_FOUND
                    && reply.body["error"]["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("route"));
                assert!(
                    !unrouted,
                    "{kind} {method} {path} is documented but not served"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_documents_name_the_batch_and_filter_parameters() {
    let services = Services::start().await;
    let orders = services
        .get(ServiceKind::Orders, "/openapi.json")
        .await
        .body;
    let names: Vec<&str> = orders["paths"]["/orders"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["ids", "userId", "userIds", "status", "limit", "offset"]
    );
    assert!(orders["paths"]["/orders"]["post"]["requestBody"].is_object());
    assert!(orders["components"]["schemas"]["Order"].is_object());
    let notifications = services
        .get(ServiceKind::Notifications, "/openapi.json")
        .await
        .body;
    assert!(notifications["paths"]["/users/{id}/notifications/stream"]["get"]["responses"]["200"]["content"]["text/event-stream"].is_object());
}
