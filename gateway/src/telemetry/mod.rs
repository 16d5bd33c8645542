//! Logs, traces and metrics.
//!
//! - logs: `tracing` events to stderr, human or JSON, filtered like `RUST_LOG`;
//! - [`otel`]: spans exported over OTLP, trace context continued and passed on;
//! - [`metrics`]: Prometheus counters and histograms at `/metrics`.

pub mod metrics;
pub mod otel;

use std::sync::Arc;

use opentelemetry_sdk::trace::SdkTracerProvider;
use switchyard_schema::observe::{CallReport, Observer};
use tracing_subscriber::{EnvFilter, Layer, fmt, layer::SubscriberExt, util::SubscriberInitExt};

pub use metrics::Metrics;

use crate::config::{LogConfig, LogFormat, TelemetryConfig};

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes the spans still
/// buffered.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "flushing the last spans failed");
        }
    }
}

/// Installs the global subscriber: logs, and spans to OTLP when configured. `RUST_LOG`
/// wins over the configured filter. A second call (tests) keeps the first subscriber.
pub fn init(log: &LogConfig, telemetry: &TelemetryConfig) -> Result<Telemetry, otel::TracesError> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match log.format {
        LogFormat::Pretty => fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let provider = otel::provider(telemetry)?;
    let spans = provider.as_ref().map(otel::layer);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(spans)
        .try_init();
    if let Some(endpoint) = &telemetry.traces.endpoint {
        tracing::info!(%endpoint, protocol = ?telemetry.traces.protocol, "exporting traces");
    }
    Ok(Telemetry { provider })
}

/// What the gateway does with the engine's reports: count them, and pass the trace
/// context on to the services.
#[derive(Debug)]
pub struct GatewayObserver {
    pub metrics: Arc<Metrics>,
}

impl Observer for GatewayObserver {
    fn upstream_call(&self, call: &CallReport<'_>) {
        self.metrics.upstream_call(call);
    }

    fn retry(&self, source: &str) {
        self.metrics.retry(source);
    }

    fn batch(&self, source: &str, size: usize) {
        self.metrics.batch(source, size);
    }

    fn cache_lookup(&self, hit: bool) {
        self.metrics.cache_lookup(hit);
    }

    fn cache_eviction(&self) {
        self.metrics.cache_eviction();
    }

    fn stream(&self, source: &str, open: bool) {
        self.metrics.stream(source, open);
    }

    fn stream_reconnect(&self, source: &str) {
        self.metrics.stream_reconnect(source);
    }

    fn inject_trace(&self, headers: &mut reqwest::header::HeaderMap) {
        otel::inject_current(headers);
    }
}
