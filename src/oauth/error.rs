//! The protocol error: an RFC 6749 §5.2 code with an optional safe description. Rendering to
//! HTTP (status, headers, JSON) lives in `http::oauth::error`.

use std::borrow::Cow;

use crate::error::AppError;

/// Every error code the server sends, in one table: RFC 6749 §4.1.2.1 (authorization
/// endpoint) and §5.2 (token endpoint), RFC 6750 §3.1 (resource endpoints), RFC 7009 §2.2.1
/// (revocation), RFC 8707 §2 (resource indicators) and OIDC Core §3.1.2.6 (authentication
/// errors). The wire strings live here and nowhere else; statuses and challenges are in
/// `http::oauth::error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6749 §4.1.2.1, §5.2.
    InvalidRequest,
    /// RFC 6749 §5.2.
    InvalidClient,
    /// RFC 6749 §5.2.
    InvalidGrant,
    /// RFC 6749 §4.1.2.1, §5.2.
    UnauthorizedClient,
    /// RFC 6749 §5.2.
    UnsupportedGrantType,
    /// RFC 7009 §2.2.1.
    UnsupportedTokenType,
    /// RFC 6749 §4.1.2.1, §5.2.
    InvalidScope,
    /// RFC 8707 §2.
    InvalidTarget,
    /// RFC 6750 §3.1.
    InvalidToken,
    /// RFC 6750 §3.1.
    InsufficientScope,
    /// RFC 6749 §4.1.2.1: the resource owner or the server denied the request.
    AccessDenied,
    /// RFC 6749 §4.1.2.1.
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1 (and as a token endpoint answer for an internal failure).
    ServerError,
    /// RFC 6749 §4.1.2.1 (and 429/503 elsewhere).
    TemporarilyUnavailable,
    /// OIDC Core §3.1.2.6: `prompt=none`, but the user must interact.
    InteractionRequired,
    /// OIDC Core §3.1.2.6: `prompt=none`, but the user must sign in.
    LoginRequired,
    /// OIDC Core §3.1.2.6: `prompt=none`, but the user must choose an account.
    AccountSelectionRequired,
    /// OIDC Core §3.1.2.6: `prompt=none`, but the user must consent.
    ConsentRequired,
    /// OIDC Core §3.1.2.6.
    InvalidRequestUri,
    /// OIDC Core §3.1.2.6.
    InvalidRequestObject,
    /// OIDC Core §3.1.2.6 and §6: request objects are not supported.
    RequestNotSupported,
    /// OIDC Core §3.1.2.6 and §6: `request_uri` is not supported.
    RequestUriNotSupported,
    /// OIDC Core §3.1.2.6 and §7.2.1: the `registration` parameter is not supported.
    RegistrationNotSupported,
}

impl ErrorCode {
    /// Every code, for the tests of the table.
    pub const ALL: [ErrorCode; 23] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::UnsupportedTokenType,
        ErrorCode::InvalidScope,
        ErrorCode::InvalidTarget,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientScope,
        ErrorCode::AccessDenied,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::ServerError,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::InteractionRequired,
        ErrorCode::LoginRequired,
        ErrorCode::AccountSelectionRequired,
        ErrorCode::ConsentRequired,
        ErrorCode::InvalidRequestUri,
        ErrorCode::InvalidRequestObject,
        ErrorCode::RequestNotSupported,
        ErrorCode::RequestUriNotSupported,
        ErrorCode::RegistrationNotSupported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::AccountSelectionRequired => "account_selection_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::RegistrationNotSupported => "registration_not_supported",
        }
    }
}

#[derive(Debug)]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Shown to the client: must never contain secrets or internal details.
    pub description: Option<Cow<'static, str>>,
    /// Overrides the status derived from the code (413 for a large body, 405, 404, 415).
    pub status: Option<u16>,
    /// The internal cause of a `server_error`: logged, never sent.
    pub cause: Option<String>,
    /// Seconds for `Retry-After` on a 429.
    pub retry_after: Option<u64>,
    /// The scope an `insufficient_scope` refusal names in its challenge (RFC 6750 §3).
    pub scope: Option<&'static str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: Some(description.into()),
            status: None,
            cause: None,
            retry_after: None,
            scope: None,
        }
    }

    /// Over a rate limit: 429 with `Retry-After`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::TemporarilyUnavailable, "rate limit exceeded").with_status(429)
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// RFC 6749 §5.2: the same answer whatever went wrong with client authentication, so it
    /// tells an attacker nothing about which part was wrong.
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    /// RFC 6750 §3.1: the token is good but does not grant `scope`, which the request needs
    /// (403, and the challenge names the scope).
    pub fn insufficient_scope(
        description: impl Into<Cow<'static, str>>,
        scope: &'static str,
    ) -> Self {
        Self {
            scope: Some(scope),
            ..Self::new(ErrorCode::InsufficientScope, description)
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            code: ErrorCode::ServerError,
            description: None,
            status: None,
            cause: Some(cause.to_string()),
            retry_after: None,
            scope: None,
        }
    }
}

impl From<AppError> for OAuthError {
    fn from(e: AppError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::crypto::CryptoError> for OAuthError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Self::internal(e)
    }
}
