//! The one decision whether an access token is still good, taken the same way by every endpoint
//! that accepts one: `/introspect`, `/userinfo` and the admin API.

use std::sync::Arc;

use super::tokens::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use super::{ErrorCode, OAuthError};
use crate::model::{Client, User};
use crate::oauth::Protocol;
use crate::store::StoreError;

/// The audience the calling endpoint serves. RFC 9068 §4: a resource server MUST check that
/// `aud` names it.
#[derive(Debug, Clone, Copy)]
pub enum ExpectedAudience<'a> {
    /// Only tokens whose `aud` contains this identifier.
    Includes(&'a str),
    /// Any audience: the introspection endpoint answers about tokens for every resource and
    /// decides itself who may learn about one (RFC 7662 §4).
    Any,
}

/// Why a token is refused. Endpoints answer all of them alike (`active: false` or
/// `invalid_token`, RFC 6750 §3.1), except that /userinfo calls a good token for another
/// audience `insufficient_scope`; the distinction is for the description and the audit.
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
    /// Good, but issued for another audience than the endpoint's.
    WrongAudience,
}

impl Reason {
    pub fn description(&self) -> &'static str {
        match self {
            Reason::Invalid => "the access token is invalid",
            Reason::Expired => "the access token expired",
            Reason::Revoked => "the access token was revoked",
            Reason::ClientInactive => "the client of the access token is disabled or deleted",
            Reason::UserInactive => "the user of the access token is disabled or deleted",
            Reason::WrongAudience => "the access token is not for this endpoint",
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

/// An access token that is still good, with the client it was issued to and the user it is
/// about (None for a client's own token).
#[derive(Debug)]
pub struct Verified {
    pub claims: AccessTokenClaims,
    pub client: Arc<Client>,
    pub user: Option<User>,
}

/// RFC 9068 §4 and RFC 7662 §2.2: the token is an `at+jwt` signed by one of our keys with our
/// `iss` (RFC 8725 §3.1: the key's algorithm, not the header's), unexpired, not revoked
/// (RFC 7009 §2.1), its client still registered and enabled, and — when it is about a user
/// (`sub` is not the client) — that user still registered and enabled; and only then, for
/// `audience`. A bad token is refused for what is wrong with it whatever it was sent to;
/// scope is each endpoint's own business.
pub async fn verify_access_token(
    ctx: &Protocol,
    token: &str,
    audience: ExpectedAudience<'_>,
) -> Result<Verified, Refused> {
    let keys = ctx.keys.current();
    let claims: AccessTokenClaims = keys
        .verifier
        .verify(token, ACCESS_TOKEN_TYP, ctx.issuer())
        .map_err(|_| Refused::Token {
            reason: Reason::Invalid,
            client_id: None,
        })?;
    let refuse = |reason| Refused::Token {
        reason,
        client_id: Some(claims.client_id.clone()),
    };
    if claims.exp <= ctx.now() {
        return Err(refuse(Reason::Expired));
    }
    if crate::store::revocations::is_revoked(&ctx.db, &claims.jti).await? {
        return Err(refuse(Reason::Revoked));
    }
    let Some(client) = ctx
        .cached_client(&claims.client_id)
        .await?
        .filter(|c| !c.disabled)
    else {
        return Err(refuse(Reason::ClientInactive));
    };
    let user = if claims.sub == claims.client_id {
        None
    } else {
        let user = ctx
            .user_by_sub(&claims.sub)
            .await
            .map_err(|e| Refused::Internal(OAuthError::internal(e)))?;
        match user {
            Some(user) if !user.disabled => Some(user),
            _ => return Err(refuse(Reason::UserInactive)),
        }
    };
    if let ExpectedAudience::Includes(expected) = audience
        && !claims.aud.contains(expected)
    {
        return Err(refuse(Reason::WrongAudience));
    }
    Ok(Verified {
        claims,
        client,
        user,
    })
}
