//! The UserInfo endpoint's decisions (OIDC Core §5.3, RFC 6750 §3.1).

use std::sync::Arc;

use serde_json::Value;

use crate::model::Client;
use crate::oauth::Protocol;
use crate::oauth::access_token::{
    ExpectedAudience, Reason, Refused, Verified, verify_access_token,
};
use crate::oauth::{ErrorCode, OAuthError};

/// OIDC Core §5.3 with RFC 6750 §3.1: the claims of the user the access token is about. Only
/// access tokens that are still good (`verify_access_token`: never an ID token, nor the token
/// of a disabled client or user) are accepted, else `invalid_token`. A good token without
/// `openid` — then it is not for this endpoint either: the userinfo audience comes with
/// `openid` (RFC 9068 §3) — or without a user (client credentials) is `insufficient_scope`.
/// Returns the claims and the client the token was issued to.
pub async fn claims(ctx: &Protocol, token: &str) -> Result<(Value, Arc<Client>), OAuthError> {
    let no_openid = || OAuthError::insufficient_scope("the token does not grant openid", "openid");
    let userinfo = format!("{}/userinfo", ctx.issuer());
    let verified = verify_access_token(ctx, token, ExpectedAudience::Includes(&userinfo)).await;
    let Verified {
        claims,
        client,
        user,
    } = match verified {
        Ok(verified) => verified,
        Err(Refused::Token {
            reason: Reason::WrongAudience,
            ..
        }) => return Err(no_openid()),
        Err(refused) => return Err(refused.into_error()),
    };
    let scope = claims.scope.as_deref().unwrap_or_default();
    let has = |s: &str| scope.split(' ').any(|t| t == s);
    if !has("openid") {
        return Err(no_openid());
    }
    let Some(user) = user else {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token is not about a user",
        ));
    };
    Ok((super::claims::for_scopes(&user, has), client))
}
