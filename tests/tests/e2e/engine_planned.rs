//! The planned executor answers byte for byte as async-graphql's executor does: the same
//! values, the same errors at the same paths, the same nulls, for the queries it plans and
//! for those it leaves to async-graphql.

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard::RunningGateway;
use switchyard_tests::{DASHBOARD, Reply, Stack, client, recorder::Recorder, reply};

async fn post(gateway: &RunningGateway, body: &Value, headers: &[(&str, &str)]) -> Reply {
    let mut request = client()
        .post(format!("{}/graphql", gateway.url()))
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    reply(request.send().await.expect("the gateway answers")).await
}

/// The demo shop served twice over the same services: planned, and not.
async fn both() -> (Stack, RunningGateway) {
    let planned = Stack::start().await;
    let mut config = switchyard::config::Config::default();
    config.graphql.planned_execution = false;
    let unplanned = planned
        .services
        .gateway(switchyard_schema::SHOP_SCHEMA, config)
        .await;
    (planned, unplanned)
}

#[tokio::test]
async fn shop_queries_answer_byte_for_byte_alike() {
    let (planned, unplanned) = both().await;
    let cases = [
        // One call, many leaves (the `wide` shape), a custom scalar and an enum.
        json!({"query": "query($o: Int!) { users(first: 40, offset: $o) { __typename id name email country tier createdAt } }", "variables": {"o": 120}}),
        // Batches below batches, and a fallback-guarded count.
        json!({"query": DASHBOARD}),
        // Nested projections (line items) below a batch.
        json!({"query": "{ users(first: 4) { id name orders(first: 3) { id status total currency createdAt items { sku name quantity unitPrice } } } }"}),
        // Aliases, a named fragment, an inline fragment, a leaf selected twice.
        json!({"query": "query Q { a: user(id: 3) { ...U n: name name } } fragment U on User { id name email ... on User { tier } }"}),
        // One field selected twice, its sub-selections merged.
        json!({"query": "{ user(id: 3) { orders(first: 2) { id } orders(first: 2) { total payment { status } } } }"}),
        // Declared argument defaults, a variable default, an omitted nullable variable.
        json!({"query": "query($first: Int = 2, $o: Int) { products(first: $first, offset: $o) { sku name unitPrice } }"}),
        json!({"query": "{ users { id } }"}),
        // A missing record: the service's 404 as a field error.
        json!({"query": "{ user(id: 999999) { id name } }"}),
        // A field that needs a token, asked without one.
        json!({"query": "{ me { id name } }"}),
        // Entity joins: fetched, reused from a page the request holds (the users of a
        // page, joined again from their orders), and a join below a join.
        json!({"query": "{ order(id: 2) { id user { name } } }"}),
        json!({"query": "query($o: Int!) { users(first: 20, offset: $o) { id name orders(first: 3) { id total payment { status order { id user { name email } } } user { name } } } }", "variables": {"o": 40}}),
        json!({"query": "{ users(first: 5) { name orders(first: 2) { user { tier orders(first: 1) { id } } } } }"}),
        // Left to async-graphql: a directive, introspection.
        json!({"query": "query($x: Boolean!) { user(id: 1) { name email @include(if: $x) } }", "variables": {"x": false}}),
        json!({"query": "{ __type(name: \"User\") { name } user(id: 1) { name } }"}),
        // Malformed and invalid queries keep async-graphql's errors.
        json!({"query": "{ user(id: 1) { nope } }"}),
        json!({"query": "query($o: Int!) { users(first: 2, offset: $o) { id } }"}),
        json!({"query": "{ user(id: 1) { name "}),
    ];
    for case in &cases {
        let with = post(&planned.gateway, case, &[]).await;
        let without = post(&unplanned, case, &[]).await;
        assert_eq!(with.status, without.status, "{case}");
        assert_eq!(with.text, without.text, "{case}");
    }
    // A plan is made once per query text: later requests reuse it with their own
    // variables (and a literal argument's plan is not shared with another text).
    for offset in [7, 300, 7] {
        let case = json!({"query": "query($o: Int!) { users(first: 3, offset: $o) { id name orders(first: 2) { id user { name } } } }", "variables": {"o": offset}});
        let with = post(&planned.gateway, &case, &[]).await;
        let without = post(&unplanned, &case, &[]).await;
        assert_eq!(with.text, without.text, "{case}");
        assert_eq!(
            with.body["data"]["users"][0]["id"],
            (offset + 1).to_string()
        );
    }
    // Several root fields: async-graphql orders them as they finish, the planned executor
    // as the query does (as the spec says); the values are the same.
    let roots = json!({"query": "{ a: user(id: 1) { name } b: user(id: 2) { name } products(first: 1) { sku } }"});
    let with = post(&planned.gateway, &roots, &[]).await;
    let without = post(&unplanned, &roots, &[]).await;
    assert_eq!(with.body, without.body);
    let keys: Vec<&String> = with.body["data"]
        .as_object()
        .expect("an object")
        .keys()
        .collect();
    assert_eq!(keys.len(), 3, "{}", with.text);
    assert!(
        with.text.find("\"a\"") < with.text.find("\"b\""),
        "{}",
        with.text
    );
}

#[tokio::test]
async fn a_failing_service_fails_alike_and_its_fallback_still_serves() {
    let (planned, unplanned) = both().await;
    // Notifications down: the unread count serves its `@fallback`, the list fails.
    let faulted = planned
        .services
        .set_faults(
            switchyard_tests::ServiceKind::Notifications,
            json!({"errorRate": 1.0}),
        )
        .await;
    assert_eq!(faulted.status, StatusCode::OK, "{}", faulted.text);
    let count = json!({"query": "{ user(id: 7) { name unreadNotificationCount } }"});
    let list = json!({"query": "{ user(id: 7) { name notifications(first: 2) { message } } }"});
    for case in [&count, &list] {
        let with = post(&planned.gateway, case, &[]).await;
        let without = post(&unplanned, case, &[]).await;
        assert_eq!(with.text, without.text, "{case}");
    }
    let with = post(&planned.gateway, &count, &[]).await;
    assert_eq!(
        with.body["data"]["user"]["unreadNotificationCount"], 0,
        "{}",
        with.text
    );
    assert_eq!(
        with.body["extensions"]["fallback"],
        json!(["User.unreadNotificationCount"])
    );
    // The list is non-null: its failure nulls the user, with the error at the list.
    let with = post(&planned.gateway, &list, &[]).await;
    assert_eq!(with.body["data"]["user"], Value::Null, "{}", with.text);
    assert_eq!(
        with.body["errors"][0]["path"],
        json!(["user", "notifications"])
    );
    // By now the service's breaker may have opened on the failures before.
    let code = &with.body["errors"][0]["extensions"]["code"];
    assert!(
        code == "UPSTREAM_ERROR" || code == "CIRCUIT_OPEN",
        "{}",
        with.text
    );
}

const ODD: &str = r#"
extend schema @source(name: "svc", url: "RECORDER")
type Query {
  items: [Item!]! @rest(source: "svc", path: "/items")
  maybe: [Item] @rest(source: "svc", path: "/maybe")
  one(id: String!): Item @rest(source: "svc", path: "/one/{$args.id}")
}
type Item { id: ID! count: Int name: String! tags: [String!] kind: Kind meta: Meta }
type Meta { size: Int! label: String }
enum Kind { A B }
"#;

#[tokio::test]
async fn values_that_do_not_fit_fail_alike_with_nulls_propagated() {
    let recorder = Recorder::start(|uri| {
        let body = match uri {
            "/items" => json!([{"id": 1, "name": "a"}, {"id": 2, "name": null}]),
            "/maybe" => json!([
                {"id": 1, "count": "seven", "name": "a"},
                {"id": 2, "name": null},
                {"id": 3, "name": "c", "tags": ["x", null]},
                {"id": 4, "name": "d", "kind": "Z"},
                {"id": 5, "name": "e", "meta": {"size": null, "label": "l"}},
                {"id": 6, "name": "f", "meta": 7},
                null,
                {"id": 8, "name": "h", "kind": "B", "tags": ["y"], "meta": {"size": 3}},
            ]),
            "/one/list" => json!([1, 2]),
            "/one/deep" => json!({"id": "d", "name": "n", "meta": {"size": 1.5}}),
            _ => json!({"id": "ok", "name": "fine", "count": 3}),
        };
        (StatusCode::OK, body)
    })
    .await;
    let planned = recorder.gateway(ODD).await;
    let unplanned = recorder
        .gateway_with(ODD, |config| config.graphql.planned_execution = false)
        .await;
    let cases = [
        "{ maybe { id count name tags kind meta { size label } } }",
        "{ items { id name } }",
        "{ one(id: \"list\") { id } }",
        "{ one(id: \"deep\") { id meta { size label } } }",
        "{ one(id: \"fine\") { __typename id name count } }",
    ];
    for query in cases {
        let body = json!({"query": query});
        let with = post(&planned, &body, &[]).await;
        let without = post(&unplanned, &body, &[]).await;
        assert_eq!(with.text, without.text, "{query}");
    }
    // What a client sees, spelled out once: each unfit value is null with its error, a
    // null in a non-null field nulls its nearest nullable parent.
    let maybe = post(&planned, &json!({"query": cases[0]}), &[]).await;
    let items = &maybe.body["data"]["maybe"];
    assert_eq!(items[0]["count"], Value::Null);
    assert_eq!(items[1], Value::Null);
    assert_eq!(items[2]["tags"], Value::Null);
    assert_eq!(items[3]["kind"], Value::Null);
    assert_eq!(items[4]["meta"], Value::Null);
    assert_eq!(items[7]["meta"], json!({"size": 3, "label": null}));
    let paths: Vec<&Value> = maybe.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| &e["path"])
        .collect();
    assert!(
        paths.contains(&&json!(["maybe", 1, "name"])),
        "{}",
        maybe.text
    );
    assert!(
        paths.contains(&&json!(["maybe", 4, "meta", "size"])),
        "{}",
        maybe.text
    );
    let all = post(&planned, &json!({"query": cases[1]}), &[]).await;
    assert_eq!(all.body["data"], Value::Null, "{}", all.text);
}
