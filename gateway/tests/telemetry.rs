//! Traces and logs of the real `switchyard serve` process: an OTLP/HTTP receiver on
//! loopback decodes the exported spans with the official protobuf types; the process's
//! stderr is read for its access lines and searched for tokens.
//!
//! A process of its own, because tracing's subscriber is global to a process.

mod support;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::{AnyValue, any_value},
    trace::v1::Span,
};
use prost::Message;
use serde_json::{Value, json};
use support::{Gateway, TempDir, shop_schema, sources_toml, succeeds, switchyard};
use switchyard_mock::{ClusterConfig, MockCluster, ServiceKind};

const SECRET: &str = "telemetry-test-secret";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn text(span: &Span, key: &str) -> Option<String> {
    match attribute(span, key)? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// Spans received by the collector, and how many exports carried them.
#[derive(Default)]
struct Received {
    spans: Vec<Span>,
}

async fn start_collector() -> (String, Arc<Mutex<Received>>, tokio::task::JoinHandle<()>) {
    let received: Arc<Mutex<Received>> = Arc::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut received = sink.lock().expect("not poisoned");
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        received.spans.extend(scope.spans);
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, received, task)
}

async fn start_gateway(
    services: &MockCluster,
    collector: &str,
    protocol: &str,
    dir: &std::path::Path,
) -> Gateway {
    let config = format!(
        "[schema]\npath = \"{}\"\n\
         [log]\nformat = \"json\"\n\
         [telemetry.traces]\nendpoint = \"{collector}\"\nprotocol = \"{protocol}\"\n\
         [[auth.issuers]]\nsecret = \"{SECRET}\"\n{}",
        shop_schema().display(),
        sources_toml(services),
    );
    Gateway::start(
        dir,
        &config,
        &[
            // Everything, to prove that not even debug output carries a token.
            ("RUST_LOG", "debug,switchyard=trace,switchyard_schema=trace"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await
}

/// A token from `switchyard token`, signed with the test issuer's secret.
fn token(sub: &str) -> String {
    let dir = TempDir::new("token");
    let file = dir.path().join("auth.toml");
    std::fs::write(&file, format!("[[auth.issuers]]\nsecret = \"{SECRET}\"\n")).expect("written");
    let output = succeeds(
        switchyard()
            .args(["token", "--sub", sub, "--scope", "users:email", "--config"])
            .arg(&file),
    );
    String::from_utf8(output.stdout)
        .expect("text")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn one_trace_from_the_client_through_the_services_and_no_token_in_the_logs() {
    let services = MockCluster::start(ClusterConfig::ephemeral())
        .await
        .expect("the services start");
    let (collector, received, _collector_task) = start_collector().await;
    let dir = TempDir::new("telemetry");
    let gateway = start_gateway(&services, &collector, "http/protobuf", dir.path()).await;
    let token = token("7");

    let client = reqwest::Client::new();
    let dashboard = "query Dashboard { user(id: 7) { name orders(first: 10) { total payment { status } } unreadNotificationCount notifications(first: 5) { message } } }";
    let response = client
        .post(format!("{}/graphql", gateway.url))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN}-01"))
        .bearer_auth(&token)
        .json(&json!({ "query": dashboard }))
        .send()
        .await
        .expect("answers");
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.expect("JSON");
    assert!(body.get("errors").is_none(), "{body}");
    let refused = client
        .post(format!("{}/graphql", gateway.url))
        .header("authorization", "Bearer not.a-valid.token-at-all")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 401);

    // Spans arrive within the exporter's schedule (100 ms here).
    let deadline = Instant::now() + Duration::from_secs(15);
    let spans = loop {
        let spans: Vec<Span> = received
            .lock()
            .expect("not poisoned")
            .spans
            .iter()
            .filter(|s| hex(&s.trace_id) == TRACE_ID)
            .cloned()
            .collect();
        let upstream = spans
            .iter()
            .filter(|s| text(s, "url.template").is_some() && s.name != "batch")
            .count();
        if upstream >= 5 {
            break spans;
        }
        assert!(
            Instant::now() < deadline,
            "spans: {:?}\n{}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>(),
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let by_id: HashMap<String, &Span> = spans.iter().map(|s| (hex(&s.span_id), s)).collect();
    let root = spans
        .iter()
        .find(|s| s.name == "POST /graphql")
        .expect("the request's span");
    assert_eq!(
        hex(&root.parent_span_id),
        PARENT_SPAN,
        "continues the caller's span"
    );
    for name in ["parse", "validate", "query Dashboard"] {
        assert!(
            spans.iter().any(|s| s.name == name),
            "a {name} span among {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
    }
    // The dashboard runs on the planned executor, and says so.
    let execute = spans
        .iter()
        .find(|s| s.name == "query Dashboard")
        .expect("the execute span");
    assert_eq!(
        text(execute, "switchyard.executor").as_deref(),
        Some("planned")
    );
    let calls: Vec<&Span> = spans
        .iter()
        .filter(|s| text(s, "switchyard.source").is_some() && s.name != "batch")
        .collect();
    // The dashboard's five calls: a user, orders, payments, notifications, unread counts.
    assert_eq!(
        calls.len(),
        5,
        "{:?}",
        calls.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for call in &calls {
        assert_eq!(text(call, "http.request.method").as_deref(), Some("GET"));
        assert_eq!(
            text(call, "http.response.status_code").as_deref(),
            Some("200"),
            "{}",
            call.name
        );
        assert!(text(call, "url.template").is_some_and(|t| t.starts_with('/')));
        assert!(text(call, "switchyard.cache").is_some());
        assert_eq!(text(call, "switchyard.retries").as_deref(), Some("0"));
        // Every call's ancestry leads to the request's span.
        let mut at = *call;
        while let Some(parent) = by_id.get(&hex(&at.parent_span_id)) {
            at = parent;
        }
        assert_eq!(
            at.span_id, root.span_id,
            "{} hangs under the request",
            call.name
        );
    }
    assert!(
        spans
            .iter()
            .any(|s| s.name == "batch" && text(s, "switchyard.batch.size").is_some()),
        "a batch span with its size"
    );

    // Each service saw the trace id, with one of the gateway's call spans as parent.
    let call_ids: Vec<String> = calls.iter().map(|s| hex(&s.span_id)).collect();
    for kind in ServiceKind::ALL {
        let url = services.url(kind).expect("running");
        let stats: Value = client
            .get(format!("{url}/__stats"))
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
        let seen = stats["recentTraceparents"].as_array().expect("a list");
        assert!(
            seen.iter().filter_map(Value::as_str).any(|tp| {
                let parts: Vec<&str> = tp.split('-').collect();
                parts[1] == TRACE_ID && call_ids.iter().any(|id| id == parts[2])
            }),
            "{}: {seen:?}",
            kind.name()
        );
    }

    let logs = gateway.logs();
    let access: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "switchyard::access")
        .collect();
    let line = access
        .iter()
        .find(|l| l["operation"] == "Dashboard")
        .unwrap_or_else(|| panic!("an access line for Dashboard in {logs}"));
    assert_eq!(line["status"], 200);
    assert_eq!(line["operation_type"], "query");
    assert_eq!(line["client"], "sub:7");
    assert_eq!(line["upstream_calls"], 5);
    assert!(line["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(line["latency_ms"].is_number());
    assert!(
        access
            .iter()
            .any(|l| l["status"] == 401 && l["error_codes"] == "UNAUTHENTICATED"),
        "the refused request is logged too"
    );
    assert!(!logs.contains(&token), "a token was logged");
    assert!(
        !logs.contains("not.a-valid.token-at-all"),
        "a bad token was logged"
    );
    let signature = token.rsplit('.').next().expect("a signature");
    assert!(!logs.contains(signature), "a token's signature was logged");
    assert!(
        !logs.to_lowercase().contains("bearer "),
        "an Authorization header was logged"
    );
}

/// A gRPC OTLP collector on loopback.
struct GrpcCollector(Arc<Mutex<Received>>);

#[tonic::async_trait]
impl TraceService for GrpcCollector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().expect("not poisoned");
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                received.spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test]
async fn spans_go_over_grpc_too() {
    let services = MockCluster::start(ClusterConfig::ephemeral())
        .await
        .expect("the services start");
    let received: Arc<Mutex<Received>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let collector = format!("http://{}", listener.local_addr().expect("an address"));
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(GrpcCollector(received.clone())))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    let _server = tokio::spawn(server);
    let dir = TempDir::new("grpc");
    let gateway = start_gateway(&services, &collector, "grpc", dir.path()).await;

    let response = reqwest::Client::new()
        .post(format!("{}/graphql", gateway.url))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN}-01"))
        .json(&json!({ "query": "{ user(id: 3) { name orders(first: 2) { id } } }" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let names: Vec<String> = received
            .lock()
            .expect("not poisoned")
            .spans
            .iter()
            .filter(|s| hex(&s.trace_id) == TRACE_ID)
            .map(|s| s.name.clone())
            .collect();
        if names.iter().any(|n| n == "POST /graphql")
            && names.iter().filter(|n| n.starts_with("GET /")).count() >= 2
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "spans: {names:?}\n{}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
