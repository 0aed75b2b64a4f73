//! Issuing refresh tokens (RFC 6749 §1.5, §6; RFC 9700 §4.14): opaque 256-bit strings stored
//! by hash, bound to the client and the grant, and either to the browser session or — with
//! offline_access — living on until their idle or absolute lifetime ends.

use crate::crypto::random;
use crate::model::Client;
use crate::oauth::authorize::decision::hash_secret;
use crate::service::Core;
use crate::service::clients::{DEFAULT_REFRESH_ABSOLUTE_TTL, DEFAULT_REFRESH_IDLE_TTL};
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
pub fn family_expiry(core: &Core, client: &Client) -> i64 {
    core.now()
        + client
            .refresh_absolute_ttl
            .unwrap_or(DEFAULT_REFRESH_ABSOLUTE_TTL)
}

/// A new family id: 128 random bits.
pub fn new_family_id() -> String {
    random::token::<16>()
}

/// Stores a new token of the family, issued together with the access token `access_jti`.
pub async fn issue(
    core: &Core,
    client: &Client,
    grant: &FamilyGrant<'_>,
    access_jti: &str,
    access_exp: i64,
) -> Result<String, StoreError> {
    let now = core.now();
    let idle = client.refresh_idle_ttl.unwrap_or(DEFAULT_REFRESH_IDLE_TTL);
    let token = random::token::<32>();
    let row = RefreshRow {
        token_hash: hash_secret(&token),
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
    refresh_tokens::insert(&core.db, &row).await?;
    Ok(token)
}
