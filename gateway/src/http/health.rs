//! `/health` (the process is alive) and `/ready` (it should receive traffic, which of
//! its services it can reach, and their circuits).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use super::graphql::Current;
use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Map, Value, json};

/// How long `/ready` waits for a connection to a service.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Whether the gateway wants traffic, and the services it calls. It stops wanting traffic
/// as soon as it starts draining, so a load balancer moves new requests to other replicas
/// while in-flight ones finish here.
pub struct Readiness {
    draining: AtomicBool,
    /// The version whose sources are probed, and whose circuits are reported.
    current: Current,
}

impl Readiness {
    pub fn new(current: Current) -> Readiness {
        Readiness {
            draining: AtomicBool::new(false),
            current,
        }
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// Always 200 while the process serves HTTP: cheap, no dependency checked.
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Whether a TCP connection to the URL's host and port opens within [`PROBE_TIMEOUT`],
/// and how long it took.
async fn probe(url: &str) -> Value {
    let Some((host, port)) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| Some((u.host_str()?.to_owned(), u.port_or_known_default()?)))
    else {
        return json!({"reachable": false, "error": "not a URL with a host"});
    };
    let started = Instant::now();
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    match tokio::time::timeout(PROBE_TIMEOUT, connect).await {
        Ok(Ok(_)) => json!({
            "reachable": true,
            "connect_ms": (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        }),
        Ok(Err(_)) => json!({"reachable": false, "error": "connection refused or failed"}),
        Err(_) => json!({"reachable": false, "error": "connection timed out"}),
    }
}

/// 503 while draining; otherwise 200 with each source's reachability. An unreachable
/// source does not make the gateway unready: every replica would see the same, and the
/// gateway still answers the fields that do not need it (with typed errors for those that
/// do).
pub async fn ready(State(readiness): State<Arc<Readiness>>) -> (StatusCode, Json<Value>) {
    let engine = readiness.current.get().engine.clone();
    let circuits = engine.fetcher().circuits();
    let mut sources = Vec::new();
    for (name, spec) in &engine.graph().sources {
        let circuit = circuits
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("closed", |(_, state)| state.as_str());
        sources.push((name.as_str().to_owned(), spec.url.clone(), circuit));
    }
    let probes = sources.into_iter().map(|(name, url, circuit)| async move {
        let mut report = probe(&url).await;
        report["circuit"] = json!(circuit);
        (name, report)
    });
    let sources: Map<String, Value> = futures_util::future::join_all(probes)
        .await
        .into_iter()
        .collect();
    if readiness.is_draining() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining", "sources": sources})),
        )
    } else {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "sources": sources})),
        )
    }
}
