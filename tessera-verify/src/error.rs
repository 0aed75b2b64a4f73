//! Refusals as RFC 6750 §3 challenges (and RFC 9449 §7.1 for DPoP).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

/// The algorithms a DPoP proof may use, advertised in `DPoP` challenges (RFC 9449 §7.1 `algs`).
pub(crate) const DPOP_ALGS: &str = "ES256 EdDSA RS256 PS256";

/// The authorization scheme a request used, which is the scheme its challenge answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RFC 6750 `Authorization: Bearer <token>`.
    Bearer,
    /// RFC 9449 §7.1 `Authorization: DPoP <token>` with a `DPoP` proof header.
    DPoP,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Bearer => "Bearer",
            Scheme::DPoP => "DPoP",
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// RFC 6750 §3.1: no credentials at all: a bare challenge without an error code.
    #[error("no access token")]
    Missing,
    /// RFC 6750 §3.1 `invalid_request` (400): a malformed request, e.g. two tokens.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// RFC 6750 §3.1 `invalid_token` (401): expired, badly signed, for another audience, …
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// RFC 9449 §7.1 `invalid_dpop_proof` (401): the proof is missing, malformed or wrong.
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(String),
    /// RFC 6750 §3.1 `insufficient_scope` (403), naming the scopes the route needs.
    #[error("insufficient scope: {0}")]
    InsufficientScope(String),
    /// The signing keys could never be fetched: the token cannot be judged (503).
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
    /// A [`VerifiedToken`](crate::VerifiedToken) extractor ran without the layer or a
    /// [`Verifier`](crate::Verifier) extension in front of it: a wiring mistake (500).
    #[error("no verifier configured for this route")]
    NotConfigured,
}

impl VerifyError {
    fn status(&self) -> StatusCode {
        match self {
            VerifyError::Missing
            | VerifyError::InvalidToken(_)
            | VerifyError::InvalidDpopProof(_) => StatusCode::UNAUTHORIZED,
            VerifyError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            VerifyError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            VerifyError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            VerifyError::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The RFC 6750 §3.1 / RFC 9449 §7.1 error code, if the answer carries one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            VerifyError::Missing => None,
            VerifyError::InvalidRequest(_) => Some("invalid_request"),
            VerifyError::InvalidToken(_) => Some("invalid_token"),
            VerifyError::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            VerifyError::InsufficientScope(_) => Some("insufficient_scope"),
            VerifyError::KeysUnavailable(_) => Some("temporarily_unavailable"),
            VerifyError::NotConfigured => Some("server_error"),
        }
    }

    /// The same refusal, to be answered in `scheme`.
    pub fn in_scheme(self, scheme: Scheme) -> Rejection {
        Rejection {
            error: self,
            scheme,
        }
    }
}

/// A refusal ready to be answered: the error and the scheme its challenge uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub error: VerifyError,
    pub scheme: Scheme,
}

impl Rejection {
    /// The `WWW-Authenticate` value: RFC 6750 §3 (`Bearer`) or RFC 9449 §7.1 (`DPoP`, with the
    /// accepted proof algorithms). None for answers that are not about the credentials.
    pub fn challenge(&self) -> Option<String> {
        if matches!(
            self.error,
            VerifyError::KeysUnavailable(_) | VerifyError::NotConfigured
        ) {
            return None;
        }
        // A proof problem is answered in the DPoP scheme whatever the request used.
        let scheme = match self.error {
            VerifyError::InvalidDpopProof(_) => Scheme::DPoP,
            _ => self.scheme,
        };
        let mut params = Vec::new();
        if scheme == Scheme::DPoP {
            params.push(format!("algs=\"{DPOP_ALGS}\""));
        }
        if let Some(code) = self.error.code() {
            params.push(format!("error=\"{code}\""));
            params.push(format!(
                "error_description=\"{}\"",
                quotable(&description(&self.error))
            ));
        }
        if let VerifyError::InsufficientScope(scope) = &self.error {
            params.push(format!("scope=\"{}\"", quotable(scope)));
        }
        Some(match params.is_empty() {
            true => scheme.name().to_owned(),
            false => format!("{} {}", scheme.name(), params.join(", ")),
        })
    }
}

fn description(error: &VerifyError) -> String {
    match error {
        VerifyError::InsufficientScope(scope) => format!("the route requires scope {scope}"),
        VerifyError::InvalidRequest(why)
        | VerifyError::InvalidToken(why)
        | VerifyError::InvalidDpopProof(why)
        | VerifyError::KeysUnavailable(why) => why.clone(),
        VerifyError::Missing | VerifyError::NotConfigured => error.to_string(),
    }
}

/// RFC 6750 §3: error_description and scope are quoted strings of %x20-21 / %x23-5B / %x5D-7E.
fn quotable(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
        .collect()
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.error.status();
        let challenge = self.challenge();
        let body = match self.error.code() {
            Some(code) => serde_json::json!({
                "error": code,
                "error_description": description(&self.error),
            }),
            None => serde_json::json!({}),
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(error: VerifyError, scheme: Scheme) -> Option<String> {
        error.in_scheme(scheme).challenge()
    }

    /// RFC 6750 §3: the status and challenge of each refusal.
    #[test]
    fn each_refusal_has_its_status_and_challenge() {
        assert_eq!(
            challenge(VerifyError::Missing, Scheme::Bearer).as_deref(),
            Some("Bearer")
        );
        let expired = challenge(VerifyError::InvalidToken("expired".into()), Scheme::Bearer);
        assert_eq!(
            expired.as_deref(),
            Some("Bearer error=\"invalid_token\", error_description=\"expired\"")
        );
        let scope = challenge(VerifyError::InsufficientScope("a b".into()), Scheme::Bearer);
        assert!(
            scope
                .as_deref()
                .is_some_and(|c| c.ends_with("scope=\"a b\""))
        );
        let proof = challenge(VerifyError::InvalidDpopProof("x".into()), Scheme::Bearer);
        assert!(proof.as_deref().is_some_and(|c| {
            c.starts_with("DPoP algs=\"ES256 EdDSA RS256 PS256\", error=\"invalid_dpop_proof\"")
        }));
        assert_eq!(
            challenge(VerifyError::KeysUnavailable("down".into()), Scheme::Bearer),
            None
        );
        let statuses: Vec<u16> = [
            VerifyError::Missing,
            VerifyError::InvalidRequest(String::new()),
            VerifyError::InvalidToken(String::new()),
            VerifyError::InvalidDpopProof(String::new()),
            VerifyError::InsufficientScope(String::new()),
            VerifyError::KeysUnavailable(String::new()),
            VerifyError::NotConfigured,
        ]
        .iter()
        .map(|e| e.status().as_u16())
        .collect();
        assert_eq!(statuses, [401, 400, 401, 401, 403, 503, 500]);
    }

    /// A description cannot break out of its quoted string.
    #[test]
    fn descriptions_are_quotable() {
        assert_eq!(quotable("a \"b\" \\c\u{e9}\n"), "a b c");
    }
}
