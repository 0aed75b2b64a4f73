//! The UserInfo endpoint's decisions (OIDC Core §5.3, RFC 6750 §3.1).

use serde_json::{Map, Value, json};

use crate::oauth::tokens::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use crate::oauth::{ErrorCode, OAuthError};
use crate::service::Core;

fn invalid_token(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

/// The claims of the user the access token is about. Only `at+jwt` tokens of this issuer whose
/// audience is this endpoint are accepted (never an ID token); a token without `openid` or
/// without a user (client credentials) is `insufficient_scope`.
/// Returns the claims and the client the token was issued to.
pub async fn claims(core: &Core, token: &str) -> Result<(Value, String), OAuthError> {
    let keys = core.keys.current();
    let claims: AccessTokenClaims = keys
        .verifier
        .verify(token, ACCESS_TOKEN_TYP, core.issuer())
        .map_err(|_| invalid_token("the access token is invalid"))?;
    if claims.exp <= core.now() {
        return Err(invalid_token("the access token expired"));
    }
    if crate::store::revocations::is_revoked(&core.db, &claims.jti).await? {
        return Err(invalid_token("the access token was revoked"));
    }
    let scope = claims.scope.as_deref().unwrap_or_default();
    let has = |s: &str| scope.split(' ').any(|t| t == s);
    let userinfo = format!("{}/userinfo", core.issuer());
    if !claims.aud.contains(&userinfo) || !has("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token does not grant openid",
        ));
    }
    let user = core
        .user_by_sub(&claims.sub)
        .await
        .map_err(OAuthError::internal)?;
    let Some(user) = user else {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token is not about a user",
        ));
    };
    if user.disabled {
        return Err(invalid_token("the user is disabled"));
    }
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.sub));
    if has("profile") {
        out.insert("preferred_username".into(), json!(user.username));
        if let Some(name) = &user.name {
            out.insert("name".into(), json!(name));
        }
        out.insert("updated_at".into(), json!(user.updated_at));
    }
    if has("email")
        && let Some(email) = &user.email
    {
        out.insert("email".into(), json!(email));
        out.insert("email_verified".into(), json!(user.email_verified));
    }
    Ok((Value::Object(out), claims.client_id))
}
