//! RFC 7662 token introspection. Read-only: it never writes to the database.

use serde::Serialize;

use super::access_token::{ExpectedAudience, Reason, Refused, verify_access_token};
use super::tokens::Audience;
use crate::model::Client;
use crate::oauth::OAuthError;
use crate::oauth::Protocol;
use crate::oauth::authorize::decision::hash_secret;
use crate::store::{refresh_tokens, sessions};

/// RFC 7662 §2.2. `active: false` carries nothing else.
#[derive(Debug, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
}

#[derive(Debug, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub client_id: String,
    pub sub: String,
    /// Access tokens only: a refresh token is for the authorization server itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    pub iss: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    pub token_type: &'static str,
}

impl Introspection {
    pub fn inactive() -> Self {
        Self {
            active: false,
            details: None,
        }
    }
}

/// RFC 7662 §2.2 and §4: answers `active: true` only for an access token that is still good
/// (`verify_access_token`), asked by the client it was issued to or by the resource server it is
/// for, or for a live refresh token asked by its client. Everyone else learns nothing, not even
/// that the token exists.
pub async fn introspect(
    ctx: &Protocol,
    caller: &Client,
    token: &str,
) -> Result<Introspection, OAuthError> {
    let claims = match verify_access_token(ctx, token, ExpectedAudience::Any).await {
        Ok(verified) => verified.claims,
        Err(Refused::Internal(e)) => return Err(e),
        // Not one of our access tokens: perhaps a refresh token (RFC 7662 §2.1: the hint is only
        // a hint, and the two kinds cannot be mistaken for each other).
        Err(Refused::Token {
            reason: Reason::Invalid,
            ..
        }) => return refresh_token(ctx, caller, token).await,
        Err(Refused::Token { .. }) => return Ok(Introspection::inactive()),
    };
    let allowed = claims.client_id == caller.client_id.0
        || caller
            .resource_server_for
            .as_deref()
            .is_some_and(|rs| claims.aud.contains(rs));
    if !allowed {
        return Ok(Introspection::inactive());
    }
    Ok(Introspection {
        active: true,
        details: Some(Details {
            scope: claims.scope,
            client_id: claims.client_id,
            sub: claims.sub,
            aud: Some(claims.aud),
            iss: claims.iss,
            exp: claims.exp,
            iat: claims.iat,
            jti: Some(claims.jti),
            token_type: "Bearer",
        }),
    })
}

/// RFC 7662 §2.1–§2.2 for a refresh token (stored by hash): active only while it is the live
/// token of its family (not rotated out, not revoked, unexpired, its session alive unless it is
/// offline) and only to the client it was issued to — a resource server has no business with it.
async fn refresh_token(
    ctx: &Protocol,
    caller: &Client,
    token: &str,
) -> Result<Introspection, OAuthError> {
    let now = ctx.now();
    let Some(row) = refresh_tokens::live(&ctx.db, &hash_secret(token), now).await? else {
        return Ok(Introspection::inactive());
    };
    if row.client_id != caller.client_id.0 {
        return Ok(Introspection::inactive());
    }
    if !row.offline && !sessions::sid_alive(&ctx.db, &row.sid, now).await? {
        return Ok(Introspection::inactive());
    }
    let user = ctx
        .user_by_sub(&row.sub)
        .await
        .map_err(OAuthError::internal)?;
    if user.is_none_or(|u| u.disabled) {
        return Ok(Introspection::inactive());
    }
    Ok(Introspection {
        active: true,
        details: Some(Details {
            scope: Some(row.scope).filter(|s| !s.is_empty()),
            client_id: row.client_id,
            sub: row.sub,
            aud: None,
            iss: ctx.issuer().to_owned(),
            exp: row.expires_at.min(row.family_expires_at),
            iat: row.created_at,
            jti: None,
            token_type: "refresh_token",
        }),
    })
}
