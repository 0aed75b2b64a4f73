//! One info-level access-log line per request, inside a span carrying the request id, plus the
//! hidden cause of any 5xx answer. Query strings are never logged: they may carry codes.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::AppState;

/// The real cause of a 500, attached by the error renderer and logged here, never sent.
#[derive(Clone, Debug)]
pub struct ErrorCause(pub String);

const REQUEST_ID: &str = "x-request-id";

/// Accepts a caller's request id only when it is short and harmless to log.
fn incoming_id(req: &Request) -> Option<String> {
    let v = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    (v.len() <= 64
        && !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| v.to_owned())
}

pub async fn access_log(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let id = incoming_id(&req).unwrap_or_else(|| state.request_ids.next());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = start.elapsed();
    let micros = elapsed.as_micros();
    state.metrics.http(&route, method.as_str(), status, elapsed);
    span.in_scope(|| {
        if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
            tracing::error!(%method, %path, status, cause = %cause, "request failed");
        }
        tracing::info!(%method, %path, status, micros, "request");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}
