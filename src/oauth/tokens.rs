//! RFC 9068 JWT access tokens and the RFC 6749 §5.1 token response.

use serde::{Deserialize, Serialize};

use super::OAuthError;
use crate::crypto::random;
use crate::model::{Client, Resource, Scope};
use crate::service::Core;

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// RFC 9068 §2.2 claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The same claims borrowed, so that issuing a token copies no strings.
#[derive(Serialize)]
struct ClaimsRef<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

/// RFC 6749 §5.1.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Signs an access token for `subject` with the resource's algorithm and lifetime (the
/// client's lifetime when it has one). RFC 9068 §3: `aud` is always the resource.
pub fn issue_access_token(
    core: &Core,
    client: &Client,
    resource: &Resource,
    subject: &str,
    scope: &Scope,
) -> Result<TokenResponse, OAuthError> {
    let signer = core
        .keys
        .current()
        .signer(resource.signing_alg)
        .ok_or_else(|| {
            OAuthError::internal(format!("no active {} key", resource.signing_alg.as_str()))
        })?;
    let now = core.now();
    let ttl = client.access_token_ttl.unwrap_or(resource.access_token_ttl);
    let scope = (!scope.is_empty()).then(|| scope.to_string());
    let jti = random::token::<16>();
    let claims = ClaimsRef {
        iss: core.issuer(),
        sub: subject,
        aud: &resource.identifier,
        exp: now + ttl,
        iat: now,
        jti: &jti,
        client_id: &client.client_id.0,
        scope: scope.as_deref(),
    };
    let access_token = signer.sign(ACCESS_TOKEN_TYP, &claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope,
    })
}
