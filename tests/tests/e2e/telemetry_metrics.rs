//! `/metrics`: valid Prometheus text whose counters agree with what the services counted,
//! with label sets that stay bounded whatever clients send.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::json;
use switchyard_tests::{DASHBOARD, ServiceKind, Stack};

/// One sample: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the text exposition, failing on any line that is not a comment or a sample.
fn parse(text: &str) -> Vec<Sample> {
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("a number in {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closed labels");
                let labels = body
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, value) = pair.split_once("=\"").expect("key=\"value\"");
                        (key.to_owned(), value.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name}"
        );
        samples.push((name.to_owned(), labels, value));
    }
    samples
}

fn sum(samples: &[Sample], name: &str, filter: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && filter
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, value)| value)
        .sum()
}

async fn scrape(stack: &Stack) -> Vec<Sample> {
    let response = stack
        .client
        .get(format!("{}/metrics", stack.gateway.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    parse(&response.text().await.expect("text"))
}

#[tokio::test]
async fn counters_match_what_the_services_saw() {
    let stack = Stack::start().await;
    stack.services.reset_stats().await;
    let named = format!("query Dashboard {}", DASHBOARD);
    for _ in 0..3 {
        let reply = stack.query(&named).await;
        assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    }
    let n_plus_one = "{ users(first: 20) { orders(first: 3) { payment { status } } } }";
    assert!(stack.query(n_plus_one).await.body.get("errors").is_none());
    let deep = format!(
        "{{ user(id: 1) {{ {} id {} }} }}",
        "orders { user { ".repeat(8),
        "} } ".repeat(8)
    );
    assert_eq!(
        stack.query(&deep).await.body["errors"][0]["extensions"]["code"],
        "QUERY_TOO_DEEP"
    );

    let samples = scrape(&stack).await;
    let seen = stack.upstream_counts().await;
    for (kind, seen) in ServiceKind::ALL.into_iter().zip(seen) {
        let counted = sum(
            &samples,
            "switchyard_upstream_requests_total",
            &[("source", kind.name())],
        );
        assert_eq!(
            counted,
            seen as f64,
            "{}: gateway {counted}, service {seen}",
            kind.name()
        );
    }
    let dashboards = sum(
        &samples,
        "switchyard_graphql_requests_total",
        &[
            ("operation_name", "Dashboard"),
            ("operation_type", "query"),
            ("outcome", "ok"),
        ],
    );
    assert_eq!(dashboards, 3.0);
    assert_eq!(
        sum(
            &samples,
            "switchyard_graphql_request_duration_seconds_count",
            &[("operation_name", "Dashboard")]
        ),
        3.0
    );
    assert_eq!(
        sum(
            &samples,
            "switchyard_query_limit_rejections_total",
            &[("rule", "QUERY_TOO_DEEP")]
        ),
        1.0
    );
    assert!(
        sum(
            &samples,
            "switchyard_upstream_batch_size_count",
            &[("source", "payments")]
        ) >= 1.0
    );
    // The repeated dashboards found User in the cache.
    assert!(sum(&samples, "switchyard_cache_hits_total", &[]) >= 1.0);
    assert!(sum(&samples, "switchyard_cache_size_bytes", &[]) > 0.0);
    assert_eq!(sum(&samples, "switchyard_build_info", &[]), 1.0);
    // The scrape itself is no GraphQL request in flight.
    assert_eq!(
        sum(&samples, "switchyard_http_requests_in_flight", &[]),
        0.0
    );
}

#[tokio::test]
async fn labels_stay_bounded_under_many_distinct_operations() {
    let stack = Stack::builder()
        .config(|config| config.rate_limit.enabled = false)
        .start()
        .await;
    for i in 0..1_000 {
        // Distinct anonymous operations: each text differs.
        let reply = stack.query(&format!("{{ a{i}: __typename }}")).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    for i in 0..150 {
        let reply = stack.query(&format!("query Op{i} {{ __typename }}")).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let bad_token = stack
        .graphql_with(
            json!({"query": "{ __typename }"}),
            &[("authorization", "Bearer x.y.z")],
        )
        .await;
    assert_eq!(
        bad_token.status,
        StatusCode::OK,
        "no issuers: tokens are not inspected"
    );

    let samples = scrape(&stack).await;
    let names: BTreeSet<&str> = samples
        .iter()
        .filter(|(n, _, _)| n == "switchyard_graphql_requests_total")
        .filter_map(|(_, labels, _)| labels.get("operation_name").map(String::as_str))
        .collect();
    assert!(
        names.len() <= 102,
        "{} operation names: {names:?}",
        names.len()
    );
    assert!(
        names.contains("anonymous") && names.contains("other"),
        "{names:?}"
    );
    assert_eq!(
        sum(
            &samples,
            "switchyard_graphql_requests_total",
            &[("operation_name", "anonymous")]
        ),
        1_001.0
    );
    // At most 102 names, each a counter and a histogram (16 buckets, +Inf, sum, count),
    // beside a fixed rest: bounded, whatever the clients send.
    let series = samples.len();
    assert!(series <= 102 * 20 + 100, "{series} series");
}
