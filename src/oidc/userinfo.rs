//! The UserInfo endpoint's decisions (OIDC Core §5.3, RFC 6750 §3.1).

use serde_json::Value;

use crate::oauth::access_token::{Refused, Verified, verify_access_token};
use crate::oauth::{ErrorCode, OAuthError};
use crate::service::Core;

/// The claims of the user the access token is about. Only access tokens that are still good
/// (`verify_access_token`: never an ID token, nor the token of a disabled client or user) whose
/// audience is this endpoint are accepted; a token without `openid` or
/// without a user (client credentials) is `insufficient_scope`.
/// Returns the claims and the client the token was issued to.
pub async fn claims(core: &Core, token: &str) -> Result<(Value, String), OAuthError> {
    let Verified { claims, user } = verify_access_token(core, token)
        .await
        .map_err(Refused::into_error)?;
    let scope = claims.scope.as_deref().unwrap_or_default();
    let has = |s: &str| scope.split(' ').any(|t| t == s);
    let userinfo = format!("{}/userinfo", core.issuer());
    if !claims.aud.contains(&userinfo) || !has("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token does not grant openid",
        ));
    }
    let Some(user) = user else {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token is not about a user",
        ));
    };
    Ok((super::claims::for_scopes(&user, has), claims.client_id))
}
