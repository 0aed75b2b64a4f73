//! Issuing refresh tokens (RFC 6749 §1.5, §6; RFC 9700 §4.14): opaque 256-bit strings stored
//! by hash, bound to the client and the grant, and either to the browser session or — with
//! offline_access — living on until their idle or absolute lifetime ends.

use crate::crypto::{CryptoError, random};
use crate::model::Client;
use crate::oauth::Protocol;
use crate::oauth::authorize::decision::hash_secret;
use crate::oauth::defaults::{DEFAULT_REFRESH_ABSOLUTE_TTL, DEFAULT_REFRESH_IDLE_TTL};
use crate::store::StoreError;
use crate::store::refresh_tokens::{self, RefreshRow};

/// The grant a refresh-token family carries, unchanged through every rotation.
pub struct FamilyGrant<'a> {
    pub family_id: &'a str,
    pub sub: &'a str,
    pub scope: &'a str,
    pub resource: Option<&'a str>,
    /// The OIDC session the grant came from.
    pub sid: &'a str,
    /// offline_access: the token outlives the session; otherwise it dies with it.
    pub offline: bool,
    pub auth_time: i64,
    /// The family's absolute end (fixed at the first issue).
    pub family_expires_at: i64,
}

/// The family's absolute end for a family starting now.
pub fn family_expiry(ctx: &Protocol, client: &Client) -> i64 {
    ctx.now()
        + client
            .refresh_absolute_ttl
            .unwrap_or(DEFAULT_REFRESH_ABSOLUTE_TTL)
}

/// A new family id: 128 random bits.
pub fn new_family_id() -> String {
    random::token::<16>()
}

/// A new refresh token value: 256 random bits.
pub fn new_token() -> String {
    random::token::<32>()
}

/// Issues a new member of the family alongside the access token `access`; returns its value.
pub async fn issue(
    ctx: &Protocol,
    client: &Client,
    grant: &FamilyGrant<'_>,
    access: (&str, i64),
) -> Result<String, StoreError> {
    let token = new_token();
    store(ctx, client, grant, &token, access).await?;
    Ok(token)
}

/// Stores `token` as a new member of the family, issued together with the access token
/// `access` (jti, exp).
pub async fn store(
    ctx: &Protocol,
    client: &Client,
    grant: &FamilyGrant<'_>,
    token: &str,
    access: (&str, i64),
) -> Result<(), StoreError> {
    let (access_jti, access_exp) = access;
    let now = ctx.now();
    let idle = client.refresh_idle_ttl.unwrap_or(DEFAULT_REFRESH_IDLE_TTL);
    let row = RefreshRow {
        token_hash: hash_secret(token),
        family_id: grant.family_id.to_owned(),
        client_id: client.client_id.0.clone(),
        sub: grant.sub.to_owned(),
        scope: grant.scope.to_owned(),
        resource: grant.resource.map(str::to_owned),
        sid: grant.sid.to_owned(),
        offline: grant.offline,
        auth_time: grant.auth_time,
        family_expires_at: grant.family_expires_at,
        expires_at: (now + idle).min(grant.family_expires_at),
        access_jti: Some(access_jti.to_owned()),
        access_exp: Some(access_exp),
        created_at: now,
    };
    refresh_tokens::insert(&ctx.db, &row).await
}

/// The successor sealed for the grace window, bound to the token it replaces.
pub fn seal_successor(
    ctx: &Protocol,
    token_hash: &str,
    successor: &str,
) -> Result<String, CryptoError> {
    let (key_id, blob) = ctx
        .keyring
        .encrypt(successor.as_bytes(), token_hash.as_bytes())?;
    Ok(format!("{key_id}:{blob}"))
}

pub fn open_successor(ctx: &Protocol, token_hash: &str, sealed: &str) -> Option<String> {
    let (key_id, blob) = sealed.split_once(':')?;
    let plain = ctx
        .keyring
        .decrypt(key_id, blob, token_hash.as_bytes())
        .ok()?;
    String::from_utf8(plain).ok()
}
