use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::AppState;
use super::extract::{BearerRejection, BearerToken};
use super::oauth::error::no_credentials;

/// Liveness: the process answers.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

/// Readiness: the database answers; 503 otherwise so a load balancer stops sending traffic.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.ready().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Prometheus text exposition, for callers presenting `metrics.token` as a bearer token
/// (RFC 6750 §2.1; 404 when no token is configured: metrics are off, not public). It is a
/// configured secret, not an access token: anything but that exact token gets the bare
/// challenge (RFC 6750 §3.1).
pub async fn metrics(
    State(state): State<AppState>,
    presented: Result<BearerToken, BearerRejection>,
) -> axum::response::Response {
    use axum::http::header;
    let Some(expected) = &state.config.metrics.token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = presented.map(|BearerToken(t)| t).unwrap_or_default();
    if !crate::crypto::constant_time_eq(presented.as_bytes(), expected.0.as_bytes()) {
        return no_credentials();
    }
    match state.metrics_exposition() {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
