//! Fault knobs: added latency, injected 5xx, malformed bodies and hangs, set by flag at start
//! or at run time through `/__faults`. They make failure paths testable on demand.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use axum::{
    Json,
    body::Body,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{error::ApiError, params::JsonBody, stats::is_control_path};
use crate::shutdown::Shutdown;

/// The faults in force for one service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    /// Added to every response, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// A random extra delay between 0 and this many milliseconds.
    #[serde(default)]
    pub jitter_ms: u64,
    /// Share of requests answered `500` with a JSON error, 0.0 to 1.0.
    #[serde(default)]
    pub error_rate: f64,
    /// Share of responses whose body is replaced by invalid JSON, 0.0 to 1.0.
    #[serde(default)]
    pub malformed_rate: f64,
    /// Never answer: the request waits until the client gives up.
    #[serde(default)]
    pub hang: bool,
}

/// A partial change to [`FaultConfig`]: fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultUpdate {
    pub latency_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    pub error_rate: Option<f64>,
    pub malformed_rate: Option<f64>,
    pub hang: Option<bool>,
}

impl FaultConfig {
    /// Checks the rates are shares; the error names the offending field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (name, rate) in [
            ("errorRate", self.error_rate),
            ("malformedRate", self.malformed_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err((name, format!("{rate} is not between 0.0 and 1.0")));
            }
        }
        Ok(())
    }

    fn apply(&self, update: FaultUpdate) -> FaultConfig {
        FaultConfig {
            latency_ms: update.latency_ms.unwrap_or(self.latency_ms),
            jitter_ms: update.jitter_ms.unwrap_or(self.jitter_ms),
            error_rate: update.error_rate.unwrap_or(self.error_rate),
            malformed_rate: update.malformed_rate.unwrap_or(self.malformed_rate),
            hang: update.hang.unwrap_or(self.hang),
        }
    }
}

/// The live fault settings of one service.
#[derive(Debug, Default)]
pub struct Faults {
    config: RwLock<FaultConfig>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        Faults {
            config: RwLock::new(config),
        }
    }

    pub fn current(&self) -> FaultConfig {
        self.config
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set(&self, config: FaultConfig) {
        *self
            .config
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
    }
}

/// The body served in place of a real one at `malformedRate`: cut off mid-value.
const MALFORMED_BODY: &str = "{\"id\": 1, \"name\": \"trunc";

/// Middleware: applies the faults in force to every client request.
pub async fn inject_faults(
    State((faults, shutdown)): State<(Arc<Faults>, Shutdown)>,
    request: Request,
    next: Next,
) -> Response {
    if is_control_path(request.uri().path()) {
        return next.run(request).await;
    }
    let config = faults.current();
    if config.hang {
        // Hang until the client gives up, or until the service stops (then close quietly).
        shutdown.wait_owned().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let (delay, fail, malform) = {
        let mut rng = rand::rng();
        let jitter = if config.jitter_ms > 0 {
            rng.random_range(0..=config.jitter_ms)
        } else {
            0
        };
        (
            config.latency_ms + jitter,
            config.error_rate > 0.0 && rng.random_bool(config.error_rate),
            config.malformed_rate > 0.0 && rng.random_bool(config.malformed_rate),
        )
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if fail {
        let body =
            json!({"error": {"code": "INJECTED_FAULT", "message": "fault injected by /__faults"}});
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
    }
    let response = next.run(request).await;
    if malform {
        let (mut parts, _) = response.into_parts();
        parts.headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(MALFORMED_BODY));
    }
    response
}

pub async fn get_faults(State(faults): State<Arc<Faults>>) -> Json<FaultConfig> {
    Json(faults.current())
}

/// `POST /__faults`: changes the fields given, keeps the others.
pub async fn update_faults(
    State(faults): State<Arc<Faults>>,
    JsonBody(update): JsonBody<FaultUpdate>,
) -> Result<Json<FaultConfig>, ApiError> {
    let next = faults.current().apply(update);
    next.validate()
        .map_err(|(parameter, message)| ApiError::BadRequest { parameter, message })?;
    faults.set(next.clone());
    Ok(Json(next))
}

/// `POST /__faults/reset`: no faults.
pub async fn reset_faults(State(faults): State<Arc<Faults>>) -> Json<FaultConfig> {
    faults.set(FaultConfig::default());
    Json(FaultConfig::default())
}
