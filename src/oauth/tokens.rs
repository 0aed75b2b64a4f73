//! RFC 9068 JWT access tokens and the RFC 6749 §5.1 token response.

use serde::{Deserialize, Serialize};

use super::OAuthError;
use crate::crypto::random;
use crate::model::{Client, Resource, Scope};
use crate::oauth::Protocol;

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The `aud` claim: one string, or an array when a token is for a resource and for userinfo
/// (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Audience::One(a) => a == value,
            Audience::Many(all) => all.iter().any(|a| a == value),
        }
    }
}

/// RFC 9068 §2.2 claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
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
    aud: AudienceRef<'a>,
    exp: i64,
    iat: i64,
    jti: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum AudienceRef<'a> {
    One(&'a str),
    Two([&'a str; 2]),
}

/// RFC 6749 §5.1 (and OIDC Core §3.1.3.3 for `id_token`).
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// For a grant with the `openid` scope: the sign-in its ID token describes. The protocol
    /// layer above OAuth (`oidc::token`) signs the ID token from it; never sent.
    #[serde(skip)]
    pub sign_in: Option<SignIn>,
}

/// What an ID token says about the sign-in behind a code or refresh token (OIDC Core §2).
#[derive(Debug, Clone)]
pub struct SignIn {
    pub sub: String,
    pub auth_time: i64,
    pub sid: String,
    /// The authorization request's nonce; none on refresh (OIDC Core §12.2).
    pub nonce: Option<String>,
}

/// The tokens themselves are bearer secrets: only whether each is present.
impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const REDACTED: &str = "[redacted]";
        f.debug_struct("TokenResponse")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| REDACTED),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| REDACTED))
            .finish()
    }
}

/// What an access token is for and about.
pub struct Grant<'a> {
    pub client: &'a Client,
    pub resource: &'a Resource,
    /// A second audience, e.g. the userinfo endpoint for a token that also carries `openid`.
    pub also_for: Option<&'a str>,
    pub subject: &'a str,
    pub scope: &'a Scope,
    /// The token id, chosen by the caller when it must record it first (code redemption).
    pub jti: String,
}

/// Signs an access token with the resource's algorithm and lifetime (the client's lifetime
/// when it has one). RFC 9068 §3: `aud` always names the resource.
pub fn issue_access_token(ctx: &Protocol, grant: Grant<'_>) -> Result<TokenResponse, OAuthError> {
    let resource = grant.resource;
    let signer = ctx
        .keys
        .current()
        .signer(resource.signing_alg)
        .ok_or_else(|| {
            OAuthError::internal(format!("no active {} key", resource.signing_alg.as_str()))
        })?;
    let now = ctx.now();
    let ttl = grant
        .client
        .access_token_ttl
        .unwrap_or(resource.access_token_ttl);
    let scope = (!grant.scope.is_empty()).then(|| grant.scope.to_string());
    let claims = ClaimsRef {
        iss: ctx.issuer(),
        sub: grant.subject,
        aud: match grant.also_for {
            Some(other) => AudienceRef::Two([&resource.identifier, other]),
            None => AudienceRef::One(&resource.identifier),
        },
        exp: now + ttl,
        iat: now,
        jti: &grant.jti,
        client_id: &grant.client.client_id.0,
        scope: scope.as_deref(),
    };
    let access_token = signer.sign(ACCESS_TOKEN_TYP, &claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope,
        refresh_token: None,
        id_token: None,
        sign_in: None,
    })
}

/// A new token id: 128 random bits.
pub fn new_jti() -> String {
    random::token::<16>()
}
