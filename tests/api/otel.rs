//! OpenTelemetry: the built binary runs with `TESSERA_OTEL__ENDPOINT` pointed at a small
//! OTLP/HTTP receiver on 127.0.0.1:0 in the test; a request with a known W3C `traceparent`
//! must come back with a `traceparent` of the same trace, and its span must reach the receiver
//! (decoded with the OTLP protobuf types) with the caller's span as parent. An https receiver
//! is trusted through the system CA store (here `SSL_CERT_FILE`). Without the setting no
//! `traceparent` is answered.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;

use axum_server::tls_rustls::RustlsConfig;

use crate::helpers::basic;
use crate::helpers::process::Server;
use crate::logs::Scratch;
use crate::tls::{Ca, Leaf};

const API: &str = "https://api.example.com/traced";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// What the receiver got: the content types of the exports and every span with its
/// resource's attributes.
#[derive(Default)]
struct Received {
    content_types: Vec<String>,
    spans: Vec<(Vec<KeyValue>, Span)>,
}

/// An OTLP/HTTP traces receiver (OTLP specification, "OTLP/HTTP Request" with binary
/// protobuf), over https with `tls`: decodes each export and answers an empty
/// `ExportTraceServiceResponse`.
async fn receiver(tls: Option<&Leaf>) -> (String, Arc<Mutex<Received>>) {
    let received = Arc::new(Mutex::new(Received::default()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                let Ok(export) = ExportTraceServiceRequest::decode(body) else {
                    return (StatusCode::BAD_REQUEST, Vec::new());
                };
                let mut got = sink.lock().expect("lock");
                got.content_types.push(
                    headers
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned(),
                );
                for rs in export.resource_spans {
                    let resource = rs.resource.map(|r| r.attributes).unwrap_or_default();
                    for ss in rs.scope_spans {
                        for span in ss.spans {
                            got.spans.push((resource.clone(), span));
                        }
                    }
                }
                (StatusCode::OK, Vec::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let Some(leaf) = tls else {
        tokio::spawn(async move { axum::serve(listener, app).await });
        return (format!("http://{addr}"), received);
    };
    tessera::crypto::install_providers();
    let config = RustlsConfig::from_pem(leaf.cert.clone().into(), leaf.key.clone().into())
        .await
        .expect("receiver TLS");
    let listener = listener.into_std().expect("std listener");
    let server = axum_server::from_tcp_rustls(listener, config).expect("TLS receiver");
    tokio::spawn(async move { server.serve(app.into_make_service()).await });
    (format!("https://{addr}"), received)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn string_attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .and_then(|v| match v {
            AnyValue::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

fn int_attr(attributes: &[KeyValue], key: &str) -> Option<i64> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .and_then(|v| match v {
            AnyValue::IntValue(i) => Some(*i),
            _ => None,
        })
}

/// A migrated scratch database with one resource and one client: (scratch, Basic header).
fn registered_client(s: &Scratch) -> String {
    let mut log = Vec::new();
    s.run(&["migrate"], &[], &mut log);
    s.run(
        &["resources", "create", API, "--scope", "read=Read"],
        &[],
        &mut log,
    );
    let (id, secret) = s.create_client(&["--name", "svc", "--resource", API], &mut log);
    basic(&id, &secret)
}

async fn token_with_traceparent(base: &str, auth: &str, traceparent: &str) -> reqwest::Response {
    let r = reqwest::Client::new()
        .post(format!("{base}/token"))
        .header("authorization", auth)
        .header("traceparent", traceparent)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("POST /token");
    assert_eq!(r.status(), 200);
    r
}

/// W3C Trace Context §3.2.2: version-traceid-parentid-flags.
fn parse_traceparent(r: &reqwest::Response) -> (String, String, String) {
    let value = r
        .headers()
        .get("traceparent")
        .expect("a traceparent on the response")
        .to_str()
        .expect("ascii");
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    assert_eq!(parts[0], "00", "{value}");
    (parts[1].into(), parts[2].into(), parts[3].into())
}

// The receiver must answer while the test thread waits for the server to exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_continue_the_callers_trace_and_reach_the_collector() {
    let (endpoint, received) = receiver(None).await;
    let s = Scratch::on_test_database().await;
    let auth = registered_client(&s);
    let mut cmd = s.command(&["serve"]);
    cmd.env("RUST_LOG", "info")
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_OTEL__ENDPOINT", &endpoint)
        .env("TESSERA_OTEL__SERVICE_NAME", "tessera-under-test")
        // The caller's sampled flag decides, whatever the ratio for new traces.
        .env("TESSERA_OTEL__SAMPLING_RATIO", "0");
    let mut server = Server::start_all_output(cmd);
    let base = format!("http://{}", server.wait_for_address());

    let r = token_with_traceparent(&base, &auth, &format!("00-{TRACE_ID}-{PARENT_ID}-01")).await;
    let (trace_id, span_id, flags) = parse_traceparent(&r);
    assert_eq!(trace_id, TRACE_ID, "the caller's trace continues");
    assert_ne!(span_id, PARENT_ID, "the server's own span");
    assert_eq!(flags, "01", "sampled, as the caller asked");
    // A malformed traceparent starts a new trace (here unsampled: the ratio is 0).
    let r = token_with_traceparent(&base, &auth, "00-not-a-trace-01").await;
    let (other_trace, _, flags) = parse_traceparent(&r);
    assert_ne!(other_trace, TRACE_ID);
    assert_eq!(other_trace.len(), 32);
    assert_eq!(flags, "00");

    // Graceful shutdown flushes the batch of spans to the receiver before the process exits.
    server.stop();
    let got = received.lock().expect("lock");
    assert!(
        got.content_types
            .iter()
            .all(|c| c == "application/x-protobuf"),
        "{:?}",
        got.content_types
    );
    let ours: Vec<&(Vec<KeyValue>, Span)> = got
        .spans
        .iter()
        .filter(|(_, span)| hex(&span.trace_id) == TRACE_ID)
        .collect();
    let (resource, span) = ours
        .iter()
        .copied()
        .find(|(_, span)| span.name == "POST /token")
        .unwrap_or_else(|| {
            let names: Vec<_> = got.spans.iter().map(|(_, s)| &s.name).collect();
            panic!("no POST /token span in trace {TRACE_ID}; received spans: {names:?}")
        });
    assert_eq!(hex(&span.parent_span_id), PARENT_ID);
    assert_eq!(hex(&span.span_id), span_id);
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(string_attr(&span.attributes, "http.route"), Some("/token"));
    assert_eq!(
        string_attr(&span.attributes, "http.request.method"),
        Some("POST")
    );
    assert_eq!(
        int_attr(&span.attributes, "http.response.status_code"),
        Some(200)
    );
    assert_eq!(string_attr(&span.attributes, "tessera.outcome"), Some("ok"));
    assert_eq!(
        string_attr(resource, "service.name"),
        Some("tessera-under-test")
    );
    // The unsampled trace was not exported.
    assert!(
        got.spans
            .iter()
            .all(|(_, s)| hex(&s.trace_id) != other_trace),
        "an unsampled trace reached the collector"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_collector_is_trusted_through_the_system_ca_store() {
    let ca = Ca::new("collector CA");
    let (endpoint, received) = receiver(Some(&ca.server())).await;
    let s = Scratch::on_test_database().await;
    let auth = registered_client(&s);
    let roots = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(roots.path(), ca.pem()).expect("write CA");
    let mut cmd = s.command(&["serve"]);
    cmd.env("RUST_LOG", "info")
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_OTEL__ENDPOINT", &endpoint)
        // rustls-native-certs reads the system store from here when it is set (OpenSSL's
        // convention), so the test CA is the only one trusted.
        .env("SSL_CERT_FILE", roots.path());
    let mut server = Server::start_all_output(cmd);
    let base = format!("http://{}", server.wait_for_address());
    let r = token_with_traceparent(&base, &auth, &format!("00-{TRACE_ID}-{PARENT_ID}-01")).await;
    let (trace_id, _, _) = parse_traceparent(&r);
    assert_eq!(trace_id, TRACE_ID);
    let lines = server.stop();
    let got = received.lock().expect("lock");
    assert!(
        got.spans
            .iter()
            .any(|(_, s)| hex(&s.trace_id) == TRACE_ID && s.name == "POST /token"),
        "no span over https; server output:\n{}",
        lines.join("\n")
    );
}

#[tokio::test]
async fn without_an_endpoint_no_traceparent_is_answered() {
    let s = Scratch::on_test_database().await;
    let auth = registered_client(&s);
    let mut cmd = s.command(&["serve"]);
    cmd.env("RUST_LOG", "info")
        .env("TESSERA_BIND", "127.0.0.1:0");
    let mut server = Server::start_all_output(cmd);
    let base = format!("http://{}", server.wait_for_address());
    let r = token_with_traceparent(&base, &auth, &format!("00-{TRACE_ID}-{PARENT_ID}-01")).await;
    assert!(
        r.headers().get("x-request-id").is_some(),
        "the access log ran"
    );
    assert!(
        r.headers().get("traceparent").is_none(),
        "{:?}",
        r.headers().get("traceparent")
    );
    server.stop();
}
