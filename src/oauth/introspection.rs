//! RFC 7662 token introspection. Read-only: it never writes to the database.

use serde::Serialize;

use super::tokens::{ACCESS_TOKEN_TYP, AccessTokenClaims, Audience};
use crate::model::Client;
use crate::oauth::OAuthError;
use crate::service::Core;

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
    pub aud: Audience,
    pub iss: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
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

/// RFC 7662 §2.2 and §4: answers `active: true` only for a valid, unexpired, unrevoked access
/// token of this issuer, asked by the client it was issued to or by the resource server it is
/// for. Everyone else learns nothing, not even that the token exists.
pub async fn introspect(
    core: &Core,
    caller: &Client,
    token: &str,
) -> Result<Introspection, OAuthError> {
    let keys = core.keys.current();
    let Ok(claims) =
        keys.verifier
            .verify::<AccessTokenClaims>(token, ACCESS_TOKEN_TYP, core.issuer())
    else {
        return Ok(Introspection::inactive());
    };
    let allowed = claims.client_id == caller.client_id.0
        || caller
            .resource_server_for
            .as_deref()
            .is_some_and(|rs| claims.aud.contains(rs));
    if !allowed || claims.exp <= core.now() {
        return Ok(Introspection::inactive());
    }
    let owner = core.cached_client(&claims.client_id).await?;
    if owner.is_none_or(|c| c.disabled) {
        return Ok(Introspection::inactive());
    }
    // A token about a user dies with the user's account (disabled or deleted).
    if claims.sub != claims.client_id {
        let user = core
            .user_by_sub(&claims.sub)
            .await
            .map_err(OAuthError::internal)?;
        if user.is_none_or(|u| u.disabled) {
            return Ok(Introspection::inactive());
        }
    }
    if crate::store::revocations::is_revoked(&core.db, &claims.jti).await? {
        return Ok(Introspection::inactive());
    }
    Ok(Introspection {
        active: true,
        details: Some(Details {
            scope: claims.scope,
            client_id: claims.client_id,
            sub: claims.sub,
            aud: claims.aud,
            iss: claims.iss,
            exp: claims.exp,
            iat: claims.iat,
            jti: claims.jti,
            token_type: "Bearer",
        }),
    })
}
