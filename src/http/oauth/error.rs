//! Rendering protocol errors: RFC 6749 §5.2 JSON with the status and headers each code calls for.

use std::any::Any;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::super::log::{ErrorCause, RequestOutcome};
use crate::oauth::{ErrorCode, OAuthError};

#[derive(Serialize)]
struct Body<'a> {
    error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'a str>,
}

/// RFC 6749 §5.2 and RFC 6750 §3.1: `invalid_client` is always 401 with a Basic challenge,
/// `invalid_token` 401 with a Bearer challenge, `insufficient_scope` 403; server errors 500,
/// `temporarily_unavailable` 503; everything else 400.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// RFC 6749 §5.1: token responses and errors must not be cached.
pub fn no_store(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = self
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or_else(|| status_of(self.code));
        let body = Body {
            error: self.code.as_str(),
            error_description: self.description.as_deref(),
        };
        let mut response = (status, Json(body)).into_response();
        no_store(&mut response);
        let challenge = match self.code {
            ErrorCode::InvalidClient => Some("Basic realm=\"tessera\""),
            ErrorCode::InvalidToken => Some("Bearer realm=\"tessera\", error=\"invalid_token\""),
            ErrorCode::InsufficientScope => {
                Some("Bearer realm=\"tessera\", error=\"insufficient_scope\"")
            }
            _ => None,
        };
        if let Some(c) = challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(ErrorCause(cause));
        }
        let outcome = if status == StatusCode::TOO_MANY_REQUESTS {
            RequestOutcome::RATE_LIMITED
        } else {
            RequestOutcome(self.code.as_str())
        };
        response.extensions_mut().insert(outcome);
        response
    }
}

pub async fn method_not_allowed() -> OAuthError {
    OAuthError::invalid_request("method not allowed").with_status(405)
}

pub async fn not_found() -> OAuthError {
    OAuthError::invalid_request("no such endpoint").with_status(404)
}

/// A panic is a bug; the client gets a generic 500 and the server keeps answering.
pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    OAuthError::internal("handler panicked").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        use ErrorCode::*;
        let cases = [
            (InvalidRequest, 400),
            (InvalidClient, 401),
            (InvalidGrant, 400),
            (UnauthorizedClient, 400),
            (UnsupportedGrantType, 400),
            (UnsupportedTokenType, 400),
            (InvalidScope, 400),
            (InvalidTarget, 400),
            (InvalidToken, 401),
            (InsufficientScope, 403),
            (ServerError, 500),
            (TemporarilyUnavailable, 503),
        ];
        for (code, status) in cases {
            assert_eq!(status_of(code).as_u16(), status, "{code:?}");
        }
    }

    #[test]
    fn invalid_client_has_basic_challenge_and_no_store() {
        let r = OAuthError::invalid_client().into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Basic realm=\"tessera\""
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[header::PRAGMA], "no-cache");
    }

    #[test]
    fn the_access_log_outcome_is_the_error_code_or_rate_limited() {
        let outcome = |e: OAuthError| {
            e.into_response()
                .extensions()
                .get::<RequestOutcome>()
                .copied()
        };
        assert_eq!(
            outcome(OAuthError::new(ErrorCode::InvalidGrant, "x")),
            Some(RequestOutcome("invalid_grant"))
        );
        assert_eq!(
            outcome(OAuthError::invalid_client()),
            Some(RequestOutcome("invalid_client"))
        );
        assert_eq!(
            outcome(OAuthError::rate_limited(3)),
            Some(RequestOutcome::RATE_LIMITED)
        );
        assert_eq!(
            outcome(OAuthError::internal("x")),
            Some(RequestOutcome::SERVER_ERROR)
        );
    }

    #[test]
    fn internal_cause_is_not_sent() {
        let r = OAuthError::internal("db password=hunter2").into_response();
        assert_eq!(r.status(), 500);
        assert!(r.extensions().get::<ErrorCause>().is_some());
    }
}
