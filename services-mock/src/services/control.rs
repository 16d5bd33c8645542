//! Routes for operators and tests, served by every service: health, counters, fault knobs.

use axum::{
    Json,
    http::Method,
    routing::{get, post},
};
use serde_json::{Value, json};

use super::ServiceState;
use crate::{
    http::{faults, stats},
    openapi::{Endpoint, Returns},
};

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub fn endpoints() -> Vec<Endpoint<ServiceState>> {
    let control = |method: Method, path, summary, body, handler| Endpoint {
        method,
        path,
        summary,
        params: vec![],
        body,
        returns: Returns::Object,
        status: 200,
        handler,
    };
    vec![
        control(
            Method::GET,
            "/health",
            "Liveness; not counted, no faults",
            None,
            get(health),
        ),
        control(
            Method::GET,
            "/__stats",
            "Request counters per route",
            None,
            get(stats::get_stats),
        ),
        control(
            Method::POST,
            "/__stats/reset",
            "Zero the request counters",
            None,
            post(stats::reset_stats),
        ),
        control(
            Method::GET,
            "/__faults",
            "The faults in force",
            None,
            get(faults::get_faults),
        ),
        control(
            Method::POST,
            "/__faults",
            "Change some fault knobs; others keep their value",
            Some("Faults"),
            post(faults::update_faults),
        ),
        control(
            Method::POST,
            "/__faults/reset",
            "Remove every fault",
            None,
            post(faults::reset_faults),
        ),
    ]
}
