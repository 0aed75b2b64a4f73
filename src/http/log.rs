//! One info-level access-log line per request, carrying the request id, plus the
//! hidden cause of any 5xx answer. Query strings are never logged: they may carry codes.
//!
//! Handlers and error renderers say who a request was for ([`ClientTag`]) and how it ended
//! ([`RequestOutcome`]) through response extensions, so the line carries `client_id` and `outcome`
//! without anything being parsed twice. With OpenTelemetry configured, the span is also the
//! request's server span (see [`crate::telemetry`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::Status;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::AppState;
use crate::model::ClientId;

/// The real cause of a 500, attached by the error renderer and logged here, never sent.
#[derive(Clone, Debug)]
pub struct ErrorCause(pub String);

/// The registered client a request authenticated as or named; never a secret, never an
/// unknown id (that would be the caller's free text).
#[derive(Clone, Debug)]
pub struct ClientTag(pub ClientId);

/// How a request ended, for the log: `ok`, an OAuth error code (`invalid_client`,
/// `invalid_grant`, …), `rate_limited`, `login_failed`, `server_error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestOutcome(pub &'static str);

impl RequestOutcome {
    pub const OK: RequestOutcome = RequestOutcome("ok");
    pub const RATE_LIMITED: RequestOutcome = RequestOutcome("rate_limited");
    pub const SERVER_ERROR: RequestOutcome = RequestOutcome("server_error");

    /// What a response says without a tag of its own (a plain 404, an extractor's rejection).
    fn of_status(status: StatusCode) -> RequestOutcome {
        match status.as_u16() {
            ..400 => RequestOutcome::OK,
            429 => RequestOutcome::RATE_LIMITED,
            500.. => RequestOutcome::SERVER_ERROR,
            _ => RequestOutcome("invalid_request"),
        }
    }
}

/// Tags `response` with the client it was for, when one is known.
pub fn tag_client(mut response: Response, client_id: Option<ClientId>) -> Response {
    if let Some(id) = client_id {
        response.extensions_mut().insert(ClientTag(id));
    }
    response
}

/// Tags `response` with how it ended.
pub fn tag_outcome(mut response: Response, outcome: RequestOutcome) -> Response {
    response.extensions_mut().insert(outcome);
    response
}

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
    let traced = state.config.otel.enabled();
    // At full load a span per request cost more than the access line itself, so the line
    // carries the request id as a field, and the span exists only where it earns its keep: as
    // the server span of an exported trace, or at debug level, where a handler's own events
    // then carry the request id too. The otel.* fields stay empty, and out of the log, unless
    // traces are exported.
    let span = if traced {
        tracing::info_span!("request", request_id = %id, otel.name = Empty, otel.kind = Empty)
    } else {
        tracing::debug_span!("request", request_id = %id)
    };
    if traced {
        span.record("otel.name", format!("{method} {route}"));
        span.record("otel.kind", "server");
        span.set_attribute("http.request.method", method.to_string());
        span.set_attribute("http.route", route.clone());
        span.set_attribute("url.path", path.clone());
        crate::telemetry::continue_trace(&span, req.headers());
    }
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    let elapsed = start.elapsed();
    let micros = elapsed.as_micros();
    state
        .metrics
        .http(&route, method.as_str(), status.as_u16(), elapsed);
    let client_id = response
        .extensions()
        .get::<ClientTag>()
        .map(|ClientTag(id)| id.0.as_str());
    let RequestOutcome(outcome) = response
        .extensions()
        .get::<RequestOutcome>()
        .copied()
        .unwrap_or_else(|| RequestOutcome::of_status(status));
    span.in_scope(|| {
        if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
            tracing::error!(request_id = %id, %method, %path, status = status.as_u16(), cause = %cause, "request failed");
        }
        tracing::info!(
            request_id = %id,
            %method,
            %path,
            status = status.as_u16(),
            micros,
            client_id,
            outcome,
            "request"
        );
    });
    if traced {
        span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
        span.set_attribute("tessera.outcome", outcome);
        if let Some(client_id) = client_id {
            span.set_attribute("tessera.client_id", client_id.to_owned());
        }
        // OTel HTTP semantic conventions: only 5xx make a server span an error.
        if status.is_server_error() {
            span.set_status(Status::error(outcome));
        }
        crate::telemetry::answer_trace(&span, response.headers_mut());
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_responses_get_an_outcome_from_their_status() {
        for (status, outcome) in [
            (200, "ok"),
            (303, "ok"),
            (400, "invalid_request"),
            (404, "invalid_request"),
            (429, "rate_limited"),
            (500, "server_error"),
            (503, "server_error"),
        ] {
            let status = StatusCode::from_u16(status).expect("status");
            assert_eq!(
                RequestOutcome::of_status(status),
                RequestOutcome(outcome),
                "{status}"
            );
        }
    }
}
