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
/// `temporarily_unavailable` 503; everything else 400. The authorization endpoint's codes
/// (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) travel in a redirect, where the status is the
/// redirect's; sent as JSON they are 400.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidClient | InvalidToken => StatusCode::UNAUTHORIZED,
        InsufficientScope => StatusCode::FORBIDDEN,
        ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        InvalidRequest
        | InvalidGrant
        | UnauthorizedClient
        | UnsupportedGrantType
        | UnsupportedTokenType
        | InvalidScope
        | InvalidTarget
        | AccessDenied
        | UnsupportedResponseType
        | InteractionRequired
        | LoginRequired
        | AccountSelectionRequired
        | ConsentRequired
        | InvalidRequestUri
        | InvalidRequestObject
        | RequestNotSupported
        | RequestUriNotSupported
        | RegistrationNotSupported => StatusCode::BAD_REQUEST,
    }
}

/// RFC 6750 §3: the one `WWW-Authenticate` challenge of every endpoint that takes a bearer
/// token. A request without credentials gets the bare `Bearer realm="tessera"` (§3.1: no error
/// code then); a refused token adds its `error`, and `insufficient_scope` the `scope` the
/// request needs when one scope would do.
pub fn bearer_challenge(error: Option<ErrorCode>, scope: Option<&str>) -> HeaderValue {
    const BARE: &str = "Bearer realm=\"tessera\"";
    let mut value = String::from(BARE);
    if let Some(code) = error {
        value.push_str(", error=\"");
        value.push_str(code.as_str());
        value.push('"');
    }
    // RFC 6750 §3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), space-separated, so the
    // value needs no escaping; one with any other byte is left out rather than sent broken.
    let scope_char = |b: u8| b == b' ' || matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E);
    if let Some(scope) = scope.filter(|s| s.bytes().all(scope_char)) {
        value.push_str(", scope=\"");
        value.push_str(scope);
        value.push('"');
    }
    // Only visible ASCII went in, which a header value always accepts.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(BARE))
}

/// RFC 6750 §3.1: a request to a resource endpoint without credentials: 401 with the bare
/// challenge, no body, not cached.
pub fn no_credentials() -> Response {
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, bearer_challenge(None, None));
    no_store(&mut response);
    response
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
            ErrorCode::InvalidClient => Some(HeaderValue::from_static("Basic realm=\"tessera\"")),
            ErrorCode::InvalidToken | ErrorCode::InsufficientScope => {
                Some(bearer_challenge(Some(self.code), self.scope))
            }
            _ => None,
        };
        if let Some(c) = challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, c);
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

    use ErrorCode::*;

    const BASIC: &str = "Basic realm=\"tessera\"";

    /// Every code: its wire string, status and challenge.
    const TABLE: [(ErrorCode, &str, u16, Option<&str>); 23] = [
        (InvalidRequest, "invalid_request", 400, None),
        (InvalidClient, "invalid_client", 401, Some(BASIC)),
        (InvalidGrant, "invalid_grant", 400, None),
        (UnauthorizedClient, "unauthorized_client", 400, None),
        (UnsupportedGrantType, "unsupported_grant_type", 400, None),
        (UnsupportedTokenType, "unsupported_token_type", 400, None),
        (InvalidScope, "invalid_scope", 400, None),
        (InvalidTarget, "invalid_target", 400, None),
        (
            InvalidToken,
            "invalid_token",
            401,
            Some("Bearer realm=\"tessera\", error=\"invalid_token\""),
        ),
        (
            InsufficientScope,
            "insufficient_scope",
            403,
            Some("Bearer realm=\"tessera\", error=\"insufficient_scope\""),
        ),
        (AccessDenied, "access_denied", 400, None),
        (
            UnsupportedResponseType,
            "unsupported_response_type",
            400,
            None,
        ),
        (ServerError, "server_error", 500, None),
        (TemporarilyUnavailable, "temporarily_unavailable", 503, None),
        (InteractionRequired, "interaction_required", 400, None),
        (LoginRequired, "login_required", 400, None),
        (
            AccountSelectionRequired,
            "account_selection_required",
            400,
            None,
        ),
        (ConsentRequired, "consent_required", 400, None),
        (InvalidRequestUri, "invalid_request_uri", 400, None),
        (InvalidRequestObject, "invalid_request_object", 400, None),
        (RequestNotSupported, "request_not_supported", 400, None),
        (
            RequestUriNotSupported,
            "request_uri_not_supported",
            400,
            None,
        ),
        (
            RegistrationNotSupported,
            "registration_not_supported",
            400,
            None,
        ),
    ];

    /// The whole table, as rendered.
    #[test]
    fn error_table() {
        let cases = TABLE;
        assert_eq!(
            cases.len(),
            ErrorCode::ALL.len(),
            "every code is in the table"
        );
        for (code, wire, status, challenge) in cases {
            assert!(ErrorCode::ALL.contains(&code), "{code:?}");
            assert_eq!(code.as_str(), wire);
            assert_eq!(status_of(code).as_u16(), status, "{code:?}");
            let r = OAuthError::new(code, "x").into_response();
            assert_eq!(r.status().as_u16(), status, "{code:?}");
            assert_eq!(
                r.headers()
                    .get(header::WWW_AUTHENTICATE)
                    .map(|v| v.to_str().expect("ascii")),
                challenge,
                "{code:?}"
            );
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store", "{code:?}");
            assert_eq!(r.headers()[header::PRAGMA], "no-cache", "{code:?}");
        }
        let mut wires: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        wires.sort_unstable();
        wires.dedup();
        assert_eq!(wires.len(), ErrorCode::ALL.len(), "wire strings are unique");
    }

    /// RFC 6750 §3 and §3.1: the bare challenge without credentials, the error for a refused
    /// token, and the scope an `insufficient_scope` needs.
    #[test]
    fn bearer_challenges() {
        assert_eq!(bearer_challenge(None, None), "Bearer realm=\"tessera\"");
        let r = no_credentials();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"tessera\""
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        let r = OAuthError::insufficient_scope("x", "tessera:admin").into_response();
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"tessera:admin\""
        );
        assert_eq!(
            bearer_challenge(Some(ErrorCode::InsufficientScope), Some("a\"b")),
            "Bearer realm=\"tessera\", error=\"insufficient_scope\"",
            "a scope that would need escaping is left out"
        );
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
