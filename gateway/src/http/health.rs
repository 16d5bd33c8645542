//! `/health` (the process is alive) and `/ready` (it should receive traffic).

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

/// Whether the gateway wants traffic. It stops wanting it as soon as it starts draining, so
/// a load balancer moves new requests to other replicas while in-flight ones finish here.
#[derive(Debug, Default)]
pub struct Readiness {
    draining: AtomicBool,
}

impl Readiness {
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

/// 200 when serving, 503 while draining.
pub async fn ready(State(readiness): State<Arc<Readiness>>) -> (StatusCode, Json<Value>) {
    if readiness.is_draining() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        )
    } else {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    }
}
