//! RFC 7009 token revocation.

use super::tokens::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use super::{ErrorCode, OAuthError};
use crate::model::Client;
use crate::service::Core;

/// RFC 7009 §2.1/§2.2: unknown, malformed or expired tokens are answered with success (the
/// client cannot act on the difference); a token issued to another client is refused and stays
/// valid. A revoked access token is inactive at introspection until it would have expired;
/// verifiers that check the JWT locally keep accepting it until `exp`, which is why access
/// tokens are short-lived.
pub async fn revoke(core: &Core, caller: &Client, token: &str) -> Result<(), OAuthError> {
    let keys = core.keys.current();
    let Ok(claims) =
        keys.verifier
            .verify::<AccessTokenClaims>(token, ACCESS_TOKEN_TYP, core.issuer())
    else {
        return Ok(());
    };
    if claims.client_id != caller.client_id.0 {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        ));
    }
    if claims.exp <= core.now() {
        return Ok(());
    }
    crate::store::revocations::insert(&core.db, &claims.jti, &claims.client_id, claims.exp).await?;
    tracing::info!(client_id = %caller.client_id, "access token revoked");
    Ok(())
}
