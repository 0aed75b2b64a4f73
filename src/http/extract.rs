//! Extractors for protocol endpoints: rejections become RFC 6749 JSON errors, never axum's
//! plain-text ones.

use axum::body::to_bytes;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::client_ip::ClientIp;
use super::oauth::error::no_credentials;
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

/// Whether the body is declared `application/x-www-form-urlencoded` (parameters aside), as
/// RFC 6749 §3.2 and HTML forms send it.
pub fn is_form(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl FromRequest<AppState> for OAuthForm {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(&mut parts, state).await;
        let req = Request::from_parts(parts, body);
        if !is_form(&req) {
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

/// RFC 6750 §2.1: the bearer token of a request, from `Authorization: Bearer <token>` (the
/// scheme is case-insensitive). As `BearerToken` a request without one is refused with the bare
/// challenge; as `Option<BearerToken>` only a header of another scheme is, so the endpoint may
/// look for the token elsewhere (RFC 6750 §2.2).
pub struct BearerToken(pub String);

/// A bearer secret: never printed.
impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

/// Why a request has no usable bearer token.
#[derive(Debug)]
pub enum BearerRejection {
    /// RFC 6750 §3.1: no credentials (no `Authorization` header, another scheme, an empty
    /// token): 401 with the bare challenge and no error code.
    Missing,
    /// A token in the URL or an unreadable header: 400 `invalid_request`.
    Malformed(OAuthError),
}

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        match self {
            BearerRejection::Missing => no_credentials(),
            BearerRejection::Malformed(error) => error.into_response(),
        }
    }
}

impl BearerToken {
    /// The token of the `Authorization` header: `Ok(None)` without the header.
    fn from_parts(parts: &Parts) -> Result<Option<Self>, BearerRejection> {
        // RFC 6750 §2.3 would allow the query, but RFC 9700 §2.5 says tokens must not travel
        // in URLs.
        if let Some(q) = parts.uri.query()
            && Params::parse(q.as_bytes()).is_ok_and(|p| p.get("access_token").is_some())
        {
            return Err(BearerRejection::Malformed(OAuthError::invalid_request(
                "access tokens are not accepted in the URL query",
            )));
        }
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let value = value.to_str().map_err(|_| {
            BearerRejection::Malformed(OAuthError::invalid_request(
                "malformed Authorization header",
            ))
        })?;
        match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Ok(Some(Self(token.trim().to_owned())))
            }
            _ => Err(BearerRejection::Missing),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, BearerRejection> {
        Self::from_parts(parts)?.ok_or(BearerRejection::Missing)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for BearerToken {
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, BearerRejection> {
        Self::from_parts(parts)
    }
}

/// RFC 6750 §2.2: the `access_token` of a form-encoded POST body; other requests carry none.
pub struct FormBodyToken(pub Option<String>);

impl<S: Send + Sync> FromRequest<S> for FormBodyToken {
    type Rejection = OAuthError;

    async fn from_request(req: Request, _: &S) -> Result<Self, OAuthError> {
        if req.method() != Method::POST {
            return Ok(Self(None));
        }
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = to_bytes(req.into_body(), BODY_LIMIT).await.map_err(|e| {
            let failure = BodyFailure::of(&e);
            OAuthError::invalid_request(failure.message()).with_status(failure.status())
        })?;
        if !is_form {
            return Ok(Self(None));
        }
        let token = Params::parse(&body)?.get("access_token").map(str::to_owned);
        Ok(Self(token))
    }
}

/// A NUL byte (`%00`) in the path or the query is never part of a valid request, and
/// PostgreSQL refuses it in text: such a request is answered 400 before any handler runs, as
/// the admin API's JSON error, a readable page on browser routes, or an RFC 6749 §5.2
/// `invalid_request` elsewhere.
pub async fn refuse_nul(req: Request, next: axum::middleware::Next) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, authorization: Option<&str>) -> Parts {
        let mut request = axum::http::Request::builder().uri(uri);
        if let Some(a) = authorization {
            request = request.header(header::AUTHORIZATION, a);
        }
        request.body(()).expect("request").into_parts().0
    }

    fn token(uri: &str, authorization: Option<&str>) -> Result<Option<String>, BearerRejection> {
        BearerToken::from_parts(&parts(uri, authorization)).map(|t| t.map(|BearerToken(t)| t))
    }

    /// RFC 6750 §2.1: the scheme is case-insensitive; another scheme or an empty token is a
    /// request without credentials (§3.1); RFC 9700 §2.5: never from the query.
    #[test]
    fn bearer_tokens_come_from_the_authorization_header_only() {
        assert_eq!(
            token("/x", Some("Bearer abc")).ok(),
            Some(Some("abc".into()))
        );
        assert_eq!(
            token("/x", Some("bearer  abc ")).ok(),
            Some(Some("abc".into()))
        );
        assert_eq!(token("/x", None).ok(), Some(None));
        for other in ["Basic abc", "Bearer", "Bearer  ", "abc"] {
            assert!(
                matches!(token("/x", Some(other)), Err(BearerRejection::Missing)),
                "{other}"
            );
        }
        assert!(matches!(
            token("/x?access_token=abc", None),
            Err(BearerRejection::Malformed(_))
        ));
        assert!(matches!(
            token("/x?access_token=abc", Some("Bearer abc")),
            Err(BearerRejection::Malformed(_))
        ));
        assert_eq!(
            token("/x?other=1", Some("Bearer abc")).ok(),
            Some(Some("abc".into()))
        );
    }
}
