//! OpenTelemetry traces, built only when `[otel] endpoint` is set: the access log's `request`
//! span becomes an OTel server span exported over OTLP/HTTP (protobuf), continuing the caller's
//! W3C Trace Context and answering with the span's own `traceparent`. Without an endpoint there
//! is no layer, no exporter and no thread.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::connect::HttpConnector;
use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{Bytes, HeaderExtractor, HeaderInjector, HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::registry::LookupSpan;

use crate::config::OtelConfig;

/// How long one export may take, connection included (the default of
/// `OTEL_EXPORTER_OTLP_TIMEOUT`, OpenTelemetry Protocol Exporter specification).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for the last spans to reach the collector.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The tracer provider; its batch processor exports from a thread of its own.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Builds the OTLP/HTTP exporter and the tracer provider. Exports run on `runtime`.
    pub fn start(config: &OtelConfig, runtime: tokio::runtime::Handle) -> Result<Self, String> {
        let url = config
            .traces_url()
            .ok_or("TESSERA_OTEL__ENDPOINT is not set")?;
        let transport = Transport::new(url.starts_with("https://"), runtime)
            .map_err(|e| format!("TESSERA_OTEL__ENDPOINT: {e}"))?;
        // Headers for the collector (an API key, say) come from the standard
        // OTEL_EXPORTER_OTLP_HEADERS, which the exporter reads itself.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(transport)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| format!("TESSERA_OTEL__ENDPOINT: {e}"))?;
        let resource = Resource::builder()
            .with_service_name(config.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        // A caller's sampling decision (the traceparent's sampled flag) is followed, so a
        // trace is either whole or absent; the ratio applies to traces that start here.
        let sampler =
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sampling_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(resource)
            .build();
        Ok(Self { provider })
    }

    /// The tracing layer that turns spans into OTel spans. Info level and above only: the
    /// request spans and what the handlers log, not every debug span of the libraries.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("tessera"))
            .with_filter(LevelFilter::INFO)
    }

    /// Exports what is still buffered and stops the exporter. Blocks the calling thread while
    /// the export runs on the runtime: call it from a blocking thread before the runtime ends.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown_with_timeout(FLUSH_TIMEOUT) {
            tracing::warn!(error = %e, "flushing traces at shutdown failed");
        }
    }
}

/// W3C Trace Context §3.2 (`traceparent`) and §4 (processing model): a valid caller
/// `traceparent` (with its `tracestate`) becomes the parent of `span`, which must not have been
/// entered yet; an invalid or missing one leaves `span` the root of a new trace.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Fails only without the OpenTelemetry layer (an app built in-process, with no tracing
    // set up): then there is no trace to continue.
    let _ = span.set_parent(parent);
}

/// `span`'s own `traceparent` (W3C Trace Context §3.2 format) on the response, so the caller
/// can find the server's side of its trace. Nothing when `span` has no OpenTelemetry context.
pub fn answer_trace(span: &tracing::Span, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

/// OTLP over the hyper client the server already links (rustls with the aws-lc provider, the
/// system's CA certificates for https collectors): no second HTTP client or TLS stack. The
/// SDK's batch processor exports from a plain thread, outside any runtime, and hyper needs
/// tokio, so each export is handed to the server's runtime.
#[derive(Debug)]
struct Transport {
    client: HyperClient<HttpsConnector<HttpConnector>>,
    runtime: tokio::runtime::Handle,
}

impl Transport {
    fn new(https: bool, runtime: tokio::runtime::Handle) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        // The system's CA certificates are read only for an https collector: a plain-http
        // endpoint must work on a machine that has none.
        let tls = if https {
            builder
                .with_native_roots()
                .map_err(|e| format!("cannot load the system's CA certificates: {e}"))?
                .with_no_client_auth()
        } else {
            builder
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: HyperClient::new(connector, EXPORT_TIMEOUT, None),
            runtime,
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for Transport {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<Bytes>,
    ) -> Result<opentelemetry_http::Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}
