//! The one decision whether an access token is still good, taken the same way by every endpoint
//! that accepts one: `/introspect`, `/userinfo` and the admin API.

use super::tokens::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use super::{ErrorCode, OAuthError};
use crate::model::User;
use crate::service::Core;
use crate::store::StoreError;

/// Why a token is no longer good. Endpoints answer all of them alike (`active: false` or
/// `invalid_token`); the distinction is for the description and the audit.
#[derive(Debug)]
pub enum Reason {
    /// Not an `at+jwt` of this issuer with a valid signature from one of our keys.
    Invalid,
    Expired,
    Revoked,
    /// The client it was issued to was disabled or deleted.
    ClientInactive,
    /// The user it is about was disabled or deleted.
    UserInactive,
}

impl Reason {
    pub fn description(&self) -> &'static str {
        match self {
            Reason::Invalid => "the access token is invalid",
            Reason::Expired => "the access token expired",
            Reason::Revoked => "the access token was revoked",
            Reason::ClientInactive => "the client of the access token is disabled or deleted",
            Reason::UserInactive => "the user of the access token is disabled or deleted",
        }
    }
}

/// A token refused by [`verify_access_token`], or the lookup that failed.
#[derive(Debug)]
pub enum Refused {
    Token {
        reason: Reason,
        /// The token's client when its signature verified (for the audit line).
        client_id: Option<String>,
    },
    Internal(OAuthError),
}

impl Refused {
    /// RFC 6750 §3.1: a token that is not good is `invalid_token` (401).
    pub fn into_error(self) -> OAuthError {
        match self {
            Refused::Token { reason, .. } => {
                OAuthError::new(ErrorCode::InvalidToken, reason.description())
            }
            Refused::Internal(e) => e,
        }
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Internal(e.into())
    }
}

/// An access token that is still good, with the user it is about (None for a client's own
/// token).
#[derive(Debug)]
pub struct Verified {
    pub claims: AccessTokenClaims,
    pub user: Option<User>,
}

/// RFC 9068 §4 and RFC 7662 §2.2: the token is an `at+jwt` signed by one of our keys with our
/// `iss` (RFC 8725 §3.1: the key's algorithm, not the header's), unexpired, not revoked
/// (RFC 7009 §2.1), its client still registered and enabled, and — when it is about a user
/// (`sub` is not the client) — that user still registered and enabled. Audience and scope are
/// each endpoint's own business.
pub async fn verify_access_token(core: &Core, token: &str) -> Result<Verified, Refused> {
    let keys = core.keys.current();
    let claims: AccessTokenClaims = keys
        .verifier
        .verify(token, ACCESS_TOKEN_TYP, core.issuer())
        .map_err(|_| Refused::Token {
            reason: Reason::Invalid,
            client_id: None,
        })?;
    let refuse = |reason| Refused::Token {
        reason,
        client_id: Some(claims.client_id.clone()),
    };
    if claims.exp <= core.now() {
        return Err(refuse(Reason::Expired));
    }
    if crate::store::revocations::is_revoked(&core.db, &claims.jti).await? {
        return Err(refuse(Reason::Revoked));
    }
    let client = core.cached_client(&claims.client_id).await?;
    if client.is_none_or(|c| c.disabled) {
        return Err(refuse(Reason::ClientInactive));
    }
    if claims.sub == claims.client_id {
        return Ok(Verified { claims, user: None });
    }
    let user = core
        .user_by_sub(&claims.sub)
        .await
        .map_err(|e| Refused::Internal(OAuthError::internal(e)))?;
    match user {
        Some(user) if !user.disabled => Ok(Verified {
            claims,
            user: Some(user),
        }),
        _ => Err(refuse(Reason::UserInactive)),
    }
}
