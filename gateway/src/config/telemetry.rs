//! `[telemetry]`: traces exported over OTLP, and the `/metrics` endpoint.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `service.name` of the gateway's spans.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// More resource attributes, such as `deployment.environment = "prod"`.
    #[serde(default)]
    pub resource_attributes: BTreeMap<String, String>,
    /// Serve Prometheus metrics at `/metrics`.
    #[serde(default = "default_true")]
    pub metrics: bool,
    #[serde(default)]
    pub traces: TracesConfig,
}

/// `[telemetry.traces]`: where spans go. Without an `endpoint` no span is exported (and a
/// client's `traceparent` is passed on to the services as it came).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracesConfig {
    /// The OTLP collector: `http://collector:4318` for `http/protobuf` (the
    /// `/v1/traces` path is added), `http://collector:4317` for `grpc`.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub protocol: OtlpProtocol,
    /// The share of new traces recorded, 0.0 to 1.0. A request that arrives with a sampled
    /// `traceparent` is recorded whatever this says.
    #[serde(default = "default_ratio")]
    pub sampling_ratio: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OtlpProtocol {
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    #[serde(rename = "grpc")]
    Grpc,
}

fn default_service_name() -> String {
    "switchyard".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_ratio() -> f64 {
    1.0
}

impl Default for TracesConfig {
    fn default() -> Self {
        TracesConfig {
            endpoint: None,
            protocol: OtlpProtocol::default(),
            sampling_ratio: default_ratio(),
        }
    }
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            service_name: default_service_name(),
            resource_attributes: BTreeMap::new(),
            metrics: true,
            traces: TracesConfig::default(),
        }
    }
}
