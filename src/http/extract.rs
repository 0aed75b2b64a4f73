//! Extractors for protocol endpoints: rejections become RFC 6749 JSON errors, never axum's
//! plain-text ones.

use axum::body::to_bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;

use super::AppState;
use super::client_ip::ClientIp;
use crate::oauth::OAuthError;
use crate::oauth::params::Params;

/// Protocol request bodies are small; anything larger is refused before parsing.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Why a request body could not be read: too large (413), not sent within
/// `TESSERA_SERVER__BODY_TIMEOUT_MS` (408, RFC 9110 §15.5.9), or cut off (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFailure {
    TooLarge,
    TooSlow,
    Broken,
}

impl BodyFailure {
    pub fn of(e: &axum::Error) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(c) = cause {
            if c.is::<http_body_util::LengthLimitError>() {
                return Self::TooLarge;
            }
            if c.is::<crate::server::BodyTimeout>() {
                return Self::TooSlow;
            }
            cause = c.source();
        }
        Self::Broken
    }

    pub fn status(self) -> u16 {
        match self {
            Self::TooLarge => 413,
            Self::TooSlow => 408,
            Self::Broken => 400,
        }
    }

    pub fn message(self) -> String {
        match self {
            Self::TooLarge => format!("the body is larger than {BODY_LIMIT} bytes"),
            Self::TooSlow => "the body was not received in time".to_owned(),
            Self::Broken => "the body could not be read".to_owned(),
        }
    }
}

/// A form-encoded body (RFC 6749 §3.2) plus the `Authorization` header.
pub struct OAuthForm {
    pub params: Params,
    pub authorization: Option<String>,
    /// The browser origin, for CORS answers.
    pub origin: Option<String>,
    /// The caller's IP, for rate limits.
    pub ip: String,
}

impl FromRequest<AppState> for OAuthForm {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(&mut parts, state).await;
        let req = Request::from_parts(parts, body);
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let authorization = match req.headers().get(header::AUTHORIZATION) {
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| OAuthError::invalid_client())?
                    .to_owned(),
            ),
            None => None,
        };
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = to_bytes(req.into_body(), BODY_LIMIT).await.map_err(|e| {
            let failure = BodyFailure::of(&e);
            OAuthError::invalid_request(failure.message()).with_status(failure.status())
        })?;
        Ok(Self {
            params: Params::parse(&body)?,
            authorization,
            origin,
            ip,
        })
    }
}

/// A NUL byte (`%00`) in the path or the query is never part of a valid request, and
/// PostgreSQL refuses it in text: such a request is answered 400 before any handler runs, as
/// the admin API's JSON error, a readable page on browser routes, or an RFC 6749 §5.2
/// `invalid_request` elsewhere.
pub async fn refuse_nul(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let uri = req.uri();
    if !uri
        .path_and_query()
        .is_some_and(|pq| pq.as_str().contains("%00"))
    {
        return next.run(req).await;
    }
    const WHY: &str = "NUL bytes are not allowed in the path or the query";
    let path = uri.path();
    let status = axum::http::StatusCode::BAD_REQUEST;
    if path.starts_with("/admin/api/") {
        super::admin_api::error::ApiError::bad_request(status, WHY).into_response()
    } else if super::ui::error::is_page_path(path) {
        super::ui::PageError::bad_request(WHY).into_response()
    } else {
        OAuthError::invalid_request(WHY).into_response()
    }
}
