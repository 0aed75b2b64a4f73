//! RFC 6749 §4.1.3: exchanging an authorization code, with PKCE (RFC 7636 §4.6) and an ID token
//! for OpenID requests (OIDC Core §3.1.3).

use super::invalid_grant;
use crate::model::kind;
use crate::model::{AuditEvent, Client, GrantType, Outcome, Scope};
use crate::oauth::Protocol;
use crate::oauth::authorize::decision::hash_secret;
use crate::oauth::authorize::pkce;
use crate::oauth::defaults::MAX_TOKEN_TTL;
use crate::oauth::params::Params;
use crate::oauth::refresh::{self, FamilyGrant};
use crate::oauth::tokens::{SignIn, TokenResponse, new_jti};
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::codes::{self, Issued, Redeemed};
use crate::store::refresh_tokens;

/// `ip` is the caller's, for the audit event of a replay.
// Debug level: the access-log line already names the client, and an info span per token
// request costs more than the line itself.
#[tracing::instrument(level = "debug", skip_all, fields(client_id = %client.client_id))]
pub async fn grant(
    ctx: &Protocol,
    client: &Client,
    params: &Params,
    ip: &str,
) -> Result<TokenResponse, OAuthError> {
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization_code grant",
        ));
    }
    let code = params.require("code")?;
    let verifier = params.get("code_verifier");
    if verifier.is_some_and(|v| !pkce::is_valid_verifier(v)) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43-128 unreserved characters",
        ));
    }
    let now = ctx.now();
    let jti = new_jti();
    let family = refresh::new_family_id();
    let issued = Issued {
        jti: &jti,
        exp: now + MAX_TOKEN_TTL,
        family: &family,
    };
    // The code is consumed first, atomically, recording the tokens it is about to yield.
    let row = match codes::redeem(&ctx.db, &hash_secret(code), now, issued).await? {
        Redeemed::Fresh(row) => row,
        Redeemed::Unknown => return Err(invalid_grant("unknown authorization code")),
        // RFC 6749 §4.1.2: a second use revokes what the first use issued.
        Redeemed::Replayed { jti, exp, family } => {
            revoke_replayed(ctx, client, ip, jti, exp, family).await?;
            return Err(invalid_grant("authorization code already used"));
        }
    };
    check_redemption(&row, client, params, verifier, now)?;
    let user = ctx
        .user_by_sub(&row.sub)
        .await
        .map_err(OAuthError::internal)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| invalid_grant("the user is no longer active"))?;
    let scope = Scope::parse(&row.scope).unwrap_or_default();
    let sign_in = SignIn {
        sub: user.sub,
        auth_time: row.auth_time,
        sid: row.sid.clone(),
        nonce: row.nonce.clone(),
    };
    let mut response = super::user_tokens(
        ctx,
        client,
        row.resource.as_deref(),
        &scope,
        jti.clone(),
        sign_in,
    )
    .await?;
    if client.allows_grant(GrantType::RefreshToken) {
        let exp = now + response.expires_in;
        response.refresh_token =
            Some(refresh_token(ctx, client, &row, &family, (&jti, exp)).await?);
    }
    Ok(response)
}

/// RFC 6749 §4.1.2: a second use of a code revokes what the first use issued (the access token
/// by its jti, the refresh-token family), and is recorded as a replay.
async fn revoke_replayed(
    ctx: &Protocol,
    client: &Client,
    ip: &str,
    jti: Option<String>,
    exp: Option<i64>,
    family: Option<String>,
) -> Result<(), OAuthError> {
    let now = ctx.now();
    if let (Some(jti), Some(exp)) = (&jti, exp) {
        crate::store::revocations::insert(&ctx.db, jti, &client.client_id.0, exp).await?;
    }
    if let Some(family) = &family {
        refresh_tokens::revoke_family(&ctx.db, family, now).await?;
    }
    ctx.metrics.code_replay();
    tracing::warn!("authorization code replayed; tokens issued from it revoked");
    ctx.audit.record(
        AuditEvent::new(kind::CODE_REPLAY_DETECTED, now, Outcome::Failure)
            .actor(client.client_id.0.clone())
            .client(client.client_id.0.clone())
            .ip(ip)
            .detail(serde_json::json!({
                "revoked_access_token_jti": jti,
                "revoked_family_id": family,
            })),
    );
    Ok(())
}

/// RFC 6749 §4.1.3 and RFC 7636 §4.6: the redeemed code is still valid, was issued to this
/// client, for this redirect_uri, and the code_verifier matches its challenge.
fn check_redemption(
    row: &codes::CodeRow,
    client: &Client,
    params: &Params,
    verifier: Option<&str>,
    now: i64,
) -> Result<(), OAuthError> {
    if row.expires_at <= now {
        return Err(invalid_grant("authorization code expired"));
    }
    if row.client_id != client.client_id.0 {
        return Err(invalid_grant(
            "authorization code was issued to another client",
        ));
    }
    // RFC 6749 §4.1.3: redirect_uri must be repeated, identically, when the request had it.
    match params.get("redirect_uri") {
        Some(uri) if uri != row.redirect_uri => {
            return Err(invalid_grant("redirect_uri does not match"));
        }
        None if row.redirect_uri_sent => return Err(invalid_grant("redirect_uri is required")),
        _ => {}
    }
    match (&row.code_challenge, verifier) {
        (Some(challenge), Some(v)) if pkce::verify(v, challenge) => {}
        (Some(_), Some(_)) => return Err(invalid_grant("code_verifier does not match")),
        (Some(_), None) => return Err(invalid_grant("code_verifier is required")),
        // RFC 9700 §2.1.1: a verifier for a code issued without a challenge is refused.
        (None, Some(_)) => {
            return Err(invalid_grant(
                "the code was issued without a code_challenge",
            ));
        }
        (None, None) => {}
    }
    Ok(())
}

/// The refresh token issued with the code's tokens: a new family bound to the sign-in.
async fn refresh_token(
    ctx: &Protocol,
    client: &Client,
    row: &codes::CodeRow,
    family: &str,
    access_token: (&str, i64),
) -> Result<String, OAuthError> {
    // Without offline_access the refresh token dies with the browser session.
    let offline = Scope::parse(&row.scope)
        .unwrap_or_default()
        .contains("offline_access");
    let family_grant = FamilyGrant {
        family_id: family,
        sub: &row.sub,
        scope: &row.scope,
        resource: row.resource.as_deref(),
        sid: &row.sid,
        offline,
        auth_time: row.auth_time,
        family_expires_at: refresh::family_expiry(ctx, client),
    };
    Ok(refresh::issue(ctx, client, &family_grant, access_token).await?)
}
