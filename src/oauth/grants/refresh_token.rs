//! RFC 6749 §6: the refresh token grant, rotating on every use (RFC 9700 §4.14.2).

use super::invalid_grant;
use crate::model::kind;
use crate::model::{AuditEvent, Client, GrantType, Outcome, Scope};
use crate::oauth::Protocol;
use crate::oauth::authorize::decision::hash_secret;
use crate::oauth::params::Params;
use crate::oauth::refresh::{self, FamilyGrant};
use crate::oauth::tokens::{SignIn, TokenResponse, new_jti};
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::refresh_tokens::{self, RefreshRow, Used};
use crate::store::sessions;

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
    if !client.allows_grant(GrantType::RefreshToken) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the refresh_token grant",
        ));
    }
    let token = params.require("refresh_token")?;
    let now = ctx.now();
    let hash = hash_secret(token);
    // The successor is chosen before the old token is consumed so that, with a grace window,
    // a concurrent second use can be given the very same successor.
    let successor = refresh::new_token();
    let grace = client.refresh_grace_seconds.unwrap_or(0);
    let sealed = match grace {
        0 => None,
        _ => Some(refresh::seal_successor(ctx, &hash, &successor)?),
    };
    let row =
        match refresh_tokens::consume(&ctx.db, &hash, &client.client_id.0, now, sealed.as_deref())
            .await?
        {
            Used::Fresh(row) => row,
            Used::Unknown => return Err(invalid_grant("unknown refresh token")),
            Used::Replayed {
                family_id,
                used_at: None,
                revoked: true,
                ..
            } => {
                return Err(revoked_token_used(ctx, client, &hash, &family_id, ip).await?);
            }
            Used::Replayed {
                family_id,
                used_at,
                revoked,
                successor: sealed,
            } => {
                let within_grace =
                    !revoked && grace > 0 && used_at.is_some_and(|t| now - t <= grace);
                let same = sealed
                    .filter(|_| within_grace)
                    .and_then(|s| refresh::open_successor(ctx, &hash, &s));
                if let (Some(same), Some(row)) = (same, refresh_tokens::get(&ctx.db, &hash).await?)
                {
                    let mut response = respond(ctx, client, &row, params, new_jti()).await?;
                    response.refresh_token = Some(same);
                    return Ok(response);
                }
                return Err(replayed(ctx, client, &hash, &family_id, revoked, ip).await?);
            }
        };
    if row.expires_at <= now || row.family_expires_at <= now {
        return Err(invalid_grant("refresh token expired"));
    }
    if !row.offline && !sessions::sid_alive(&ctx.db, &row.sid, now).await? {
        refresh_tokens::revoke_family(&ctx.db, &row.family_id, now).await?;
        return Err(invalid_grant(
            "the session this refresh token belonged to has ended",
        ));
    }
    let jti = new_jti();
    let mut response = respond(ctx, client, &row, params, jti.clone()).await?;
    let family = FamilyGrant {
        family_id: &row.family_id,
        sub: &row.sub,
        scope: &row.scope,
        resource: row.resource.as_deref(),
        sid: &row.sid,
        offline: row.offline,
        auth_time: row.auth_time,
        family_expires_at: row.family_expires_at,
    };
    let exp = now + response.expires_in;
    refresh::store(ctx, client, &family, &successor, (&jti, exp)).await?;
    response.refresh_token = Some(successor);
    Ok(response)
}

/// RFC 9700 §4.14.2: a rotated-out token used again (outside the grace window) means it
/// leaked, so its whole family ends, and the replay is recorded. The answer is `invalid_grant`.
async fn replayed(
    ctx: &Protocol,
    client: &Client,
    hash: &str,
    family_id: &str,
    already_revoked: bool,
    ip: &str,
) -> Result<OAuthError, OAuthError> {
    let now = ctx.now();
    refresh_tokens::revoke_family(&ctx.db, family_id, now).await?;
    ctx.metrics.refresh_replay();
    tracing::warn!("refresh token replayed; its family was revoked");
    let detail = serde_json::json!({
        "family_id": family_id,
        "family_revoked": true,
        "already_revoked": already_revoked,
    });
    refused_use(ctx, client, hash, kind::REFRESH_REPLAY_DETECTED, ip, detail).await?;
    Ok(invalid_grant("refresh token already used"))
}

/// A token revoked while it was the live one of its family — at logout, at /revoke, by "sign out
/// everywhere", a password change or an admin — used afterwards. RFC 6749 §5.2: `invalid_grant`.
/// Not a replay (RFC 9700 §4.14.2 is about a token used after it was rotated out): its family
/// was already revoked with it, so there is nothing more to end, and the audit says what it was.
async fn revoked_token_used(
    ctx: &Protocol,
    client: &Client,
    hash: &str,
    family_id: &str,
    ip: &str,
) -> Result<OAuthError, OAuthError> {
    let detail = serde_json::json!({ "family_id": family_id });
    refused_use(
        ctx,
        client,
        hash,
        kind::REFRESH_REVOKED_TOKEN_USED,
        ip,
        detail,
    )
    .await?;
    Ok(invalid_grant("refresh token revoked"))
}

/// The audit event of a refused use of the refresh token `hash`: by the client, from `ip`, about
/// the user the token was issued for (when its row is still there).
async fn refused_use(
    ctx: &Protocol,
    client: &Client,
    hash: &str,
    kind: &str,
    ip: &str,
    detail: serde_json::Value,
) -> Result<(), OAuthError> {
    let sub = refresh_tokens::get(&ctx.db, hash).await?.map(|r| r.sub);
    let mut event = AuditEvent::new(kind, ctx.now(), Outcome::Failure)
        .actor(client.client_id.0.clone())
        .client(client.client_id.0.clone())
        .ip(ip)
        .detail(detail);
    if let Some(sub) = sub {
        event = event.target(sub);
    }
    ctx.audit.record(event);
    Ok(())
}

/// A new access token (and ID token for OpenID grants) from the family's grant.
async fn respond(
    ctx: &Protocol,
    client: &Client,
    row: &RefreshRow,
    params: &Params,
    jti: String,
) -> Result<TokenResponse, OAuthError> {
    let user = ctx
        .user_by_sub(&row.sub)
        .await
        .map_err(OAuthError::internal)?
        .filter(|u| !u.disabled);
    let Some(user) = user else {
        refresh_tokens::revoke_family(&ctx.db, &row.family_id, ctx.now()).await?;
        return Err(invalid_grant("the user is no longer active"));
    };
    // RFC 6749 §6: a narrower scope for this access token; the grant itself stays as it was.
    let granted = Scope::parse(&row.scope).unwrap_or_default();
    let scope = match params.get("scope") {
        None => granted.clone(),
        Some(raw) => {
            let asked = Scope::parse(raw)
                .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "malformed scope"))?;
            if !asked.is_subset_of(&granted) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "the scope exceeds the original grant",
                ));
            }
            asked
        }
    };
    // OIDC Core §12.2: same iss, sub, aud, azp and auth_time; a new iat; no nonce.
    let sign_in = SignIn {
        sub: user.sub,
        auth_time: row.auth_time,
        sid: row.sid.clone(),
        nonce: None,
    };
    super::user_tokens(ctx, client, row.resource.as_deref(), &scope, jti, sign_in).await
}
