//! OpenTelemetry traces: the OTLP exporter (HTTP/protobuf or gRPC), the `tracing` layer
//! that turns spans into OpenTelemetry spans, and W3C trace-context propagation in and
//! out.

use std::time::Duration;

use axum::http::HeaderMap;
use opentelemetry::{KeyValue, global, trace::TracerProvider as _};
use opentelemetry_http::{
    Bytes, HeaderExtractor, HeaderInjector, HttpClient, HttpError, Request, Response,
};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::config::{OtlpProtocol, TelemetryConfig};

const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TracesError {
    #[error("telemetry.traces.sampling_ratio must be between 0 and 1, not {0}")]
    Ratio(f64),
    #[error("telemetry.traces.endpoint `{endpoint}`: {reason}")]
    Endpoint { endpoint: String, reason: String },
}

/// The OTLP/HTTP exporter's client: the gateway's own reqwest (one TLS stack, one HTTP
/// client crate), not the one opentelemetry-otlp would bring.
#[derive(Debug)]
struct Client(reqwest::Client);

#[async_graphql::async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let response = self
            .0
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .timeout(EXPORT_TIMEOUT)
            .send()
            .await?;
        let mut builder = Response::builder().status(response.status());
        if let Some(headers) = builder.headers_mut() {
            *headers = response.headers().clone();
        }
        Ok(builder.body(response.bytes().await?)?)
    }
}

/// An exporter run on the gateway's tokio runtime. The SDK's batch processor calls
/// exporters on a thread of its own, outside tokio, where the HTTP and gRPC clients find
/// no reactor; this wrapper drives each export on the runtime and waits for it there (the
/// processor's thread exists to wait).
#[derive(Debug)]
struct OnRuntime<E> {
    inner: E,
    runtime: tokio::runtime::Handle,
}

impl<E: SpanExporter> SpanExporter for OnRuntime<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.runtime.block_on(self.inner.export(batch)))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The tracer provider `config` asks for, or `None` when no endpoint is set. Call it
/// within the gateway's tokio runtime.
pub fn provider(config: &TelemetryConfig) -> Result<Option<SdkTracerProvider>, TracesError> {
    let traces = &config.traces;
    let Some(endpoint) = &traces.endpoint else {
        return Ok(None);
    };
    if !(0.0..=1.0).contains(&traces.sampling_ratio) {
        return Err(TracesError::Ratio(traces.sampling_ratio));
    }
    let bad = |reason: String| TracesError::Endpoint {
        endpoint: endpoint.clone(),
        reason,
    };
    let exporter = match traces.protocol {
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(Client(reqwest::Client::new()))
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
        OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
    }
    .map_err(|e| bad(e.to_string()))?;
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let runtime =
        tokio::runtime::Handle::try_current().map_err(|_| bad("no async runtime".to_owned()))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(OnRuntime {
            inner: exporter,
            runtime,
        })
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            traces.sampling_ratio,
        ))))
        .with_resource(resource)
        .build();
    global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(Some(provider))
}

/// The `tracing` layer that records spans into `provider`.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("switchyard"))
}

/// Makes `span` continue the trace of an incoming `traceparent`, if any.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let context = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    // Fails only when the span is already closed or has no OpenTelemetry layer.
    let _ = span.set_parent(context);
}

/// Writes the current span's trace context into `headers` (replacing any there).
pub fn inject_current(headers: &mut HeaderMap) {
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut HeaderInjector(headers)));
}
