//! A join to a record the request already holds reads it, but only when the held record
//! carries every field the selection reads; otherwise the record is fetched.

use axum::http::StatusCode;
use serde_json::json;
use switchyard_tests::recorder::Recorder;

/// People come in two shapes: the list gives ids only, the batch lookup whole records.
const SCHEMA: &str = r#"
extend schema @source(name: "svc", url: "RECORDER")
type Query { people: [Person!]! @rest(source: "svc", path: "/people") }
type Person @key(fields: "id") @rest(source: "svc", path: "/people-by-id", query: {ids: "{$keys}"}) {
  id: ID!
  name: String
  pets: [Pet!]! @rest(source: "svc", path: "/pets", query: {owner: "{$parent.id}"})
}
type Pet { id: ID! ownerId: ID! owner: Person @join(key: "ownerId") }
"#;

async fn people_service() -> Recorder {
    Recorder::start(|uri| {
        let body = if uri.starts_with("/people-by-id") {
            json!([{"id": "1", "name": "Ann"}])
        } else if uri.starts_with("/people") {
            json!([{"id": "1"}])
        } else {
            json!([{"id": "p1", "ownerId": "1"}])
        };
        (StatusCode::OK, body)
    })
    .await
}

fn lookups(recorder: &Recorder) -> usize {
    recorder
        .requests()
        .iter()
        .filter(|r| r.uri.starts_with("/people-by-id"))
        .count()
}

#[tokio::test]
async fn a_held_record_that_has_the_selected_fields_is_not_fetched_again() {
    let recorder = people_service().await;
    let gateway = recorder.gateway(SCHEMA).await;
    let body = json!({"query": "{ people { id pets { owner { id } } } }"});
    let reply = Recorder::post(&gateway, &body).await;
    assert_eq!(
        reply.body["data"]["people"][0]["pets"][0]["owner"]["id"], "1",
        "{}",
        reply.text
    );
    assert_eq!(lookups(&recorder), 0);
}

#[tokio::test]
async fn a_held_record_missing_a_selected_field_is_fetched() {
    let recorder = people_service().await;
    let gateway = recorder.gateway(SCHEMA).await;
    let body = json!({"query": "{ people { id pets { owner { id name } } } }"});
    let reply = Recorder::post(&gateway, &body).await;
    assert_eq!(
        reply.body["data"]["people"][0]["pets"][0]["owner"]["name"], "Ann",
        "{}",
        reply.text
    );
    assert_eq!(lookups(&recorder), 1);
}
