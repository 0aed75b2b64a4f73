//! RFC 7662 token introspection. Read-only: it never writes to the database.

use serde::Serialize;

use super::access_token::{Refused, verify_access_token};
use super::tokens::Audience;
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
    let claims = match verify_access_token(core, token).await {
        Ok(verified) => verified.claims,
        Err(Refused::Internal(e)) => return Err(e),
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
            aud: claims.aud,
            iss: claims.iss,
            exp: claims.exp,
            iat: claims.iat,
            jti: claims.jti,
            token_type: "Bearer",
        }),
    })
}
