//! RFC 7009 token revocation.

use super::tokens::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use super::{ErrorCode, OAuthError};
use crate::model::kind;
use crate::model::{AuditEvent, Client, Outcome};
use crate::oauth::Protocol;
use crate::store::refresh_tokens;

/// The audit event of a revocation by `caller` from `ip`; `target` is the token type, never the
/// token.
fn revoked(
    ctx: &Protocol,
    caller: &Client,
    ip: &str,
    target: &str,
    outcome: Outcome,
    detail: serde_json::Value,
) {
    ctx.audit.record(
        AuditEvent::new(kind::TOKEN_REVOKED, ctx.now(), outcome)
            .actor(caller.client_id.0.clone())
            .client(caller.client_id.0.clone())
            .ip(ip)
            .target(target)
            .detail(detail),
    );
}

fn not_yours(ctx: &Protocol, caller: &Client, ip: &str, target: &str) -> OAuthError {
    revoked(
        ctx,
        caller,
        ip,
        target,
        Outcome::Failure,
        serde_json::json!({"reason": "issued to another client"}),
    );
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "the token was not issued to this client",
    )
}

/// RFC 7009 §2.1/§2.2: unknown, malformed or expired tokens are answered with success (the
/// client cannot act on the difference); a token issued to another client is refused and stays
/// valid. A revoked access token is inactive at introspection until it would have expired;
/// verifiers that check the JWT locally keep accepting it until `exp`, which is why access
/// tokens are short-lived. Revocations, and attempts on another client's token, are audited
/// with the caller's `ip`.
pub async fn revoke(
    ctx: &Protocol,
    caller: &Client,
    token: &str,
    ip: &str,
) -> Result<(), OAuthError> {
    let keys = ctx.keys.current();
    let Ok(claims) =
        keys.verifier
            .verify::<AccessTokenClaims>(token, ACCESS_TOKEN_TYP, ctx.issuer())
    else {
        return revoke_refresh_token(ctx, caller, token, ip).await;
    };
    if claims.client_id != caller.client_id.0 {
        return Err(not_yours(ctx, caller, ip, "access_token"));
    }
    if claims.exp <= ctx.now() {
        return Ok(());
    }
    crate::store::revocations::insert(&ctx.db, &claims.jti, &claims.client_id, claims.exp).await?;
    tracing::info!(client_id = %caller.client_id, "access token revoked");
    revoked(
        ctx,
        caller,
        ip,
        "access_token",
        Outcome::Success,
        serde_json::json!({"jti": claims.jti}),
    );
    Ok(())
}

/// RFC 7009 §2.1: revoking a refresh token ends its whole family and the access tokens issued
/// with it.
async fn revoke_refresh_token(
    ctx: &Protocol,
    caller: &Client,
    token: &str,
    ip: &str,
) -> Result<(), OAuthError> {
    let hash = crate::oauth::authorize::decision::hash_secret(token);
    let Some((family, client_id)) = refresh_tokens::family_of(&ctx.db, &hash).await? else {
        return Ok(());
    };
    if client_id != caller.client_id.0 {
        return Err(not_yours(ctx, caller, ip, "refresh_token"));
    }
    refresh_tokens::revoke_family(&ctx.db, &family, ctx.now()).await?;
    tracing::info!(client_id = %caller.client_id, "refresh token family revoked");
    revoked(
        ctx,
        caller,
        ip,
        "refresh_token",
        Outcome::Success,
        serde_json::json!({"family_id": family}),
    );
    Ok(())
}
