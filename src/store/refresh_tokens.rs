//! Refresh tokens, stored by hash. Use is one atomic UPDATE (only one caller can consume a
//! token); a replay revokes the family and the access tokens issued in it.

use sqlx::FromRow;

use super::audit::insert_event;
use super::{Db, StoreError, with_pool};
use crate::model::{AuditEvent, Family};

#[derive(Debug, Clone, FromRow)]
pub struct RefreshRow {
    pub token_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub sub: String,
    pub scope: String,
    pub resource: Option<String>,
    pub sid: String,
    pub offline: bool,
    pub auth_time: i64,
    pub family_expires_at: i64,
    pub expires_at: i64,
    pub access_jti: Option<String>,
    pub access_exp: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "token_hash, family_id, client_id, sub, scope, resource, sid, offline, \
    auth_time, family_expires_at, expires_at, access_jti, access_exp, created_at";

pub async fn insert(db: &Db, r: &RefreshRow) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO refresh_tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14)"
    );
    with_pool!(db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&r.token_hash)
            .bind(&r.family_id)
            .bind(&r.client_id)
            .bind(&r.sub)
            .bind(&r.scope)
            .bind(&r.resource)
            .bind(&r.sid)
            .bind(r.offline)
            .bind(r.auth_time)
            .bind(r.family_expires_at)
            .bind(r.expires_at)
            .bind(&r.access_jti)
            .bind(r.access_exp)
            .bind(r.created_at)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

#[derive(Debug)]
pub enum Used {
    /// First use by its own client: the row, now marked used.
    Fresh(Box<RefreshRow>),
    /// Used before (or revoked): its family, when it was used, whether it was revoked, and the
    /// encrypted successor kept for a grace window.
    Replayed {
        family_id: String,
        used_at: Option<i64>,
        revoked: bool,
        successor: Option<String>,
    },
    /// Unknown, or issued to another client (which must not be able to burn it).
    Unknown,
}

/// family_id, used_at, revoked_at, successor of a token that was already used.
type UsedRow = (String, Option<i64>, Option<i64>, Option<String>);

/// RFC 6749 §6 / RFC 9700 §4.14.2: marks the token used in one statement, recording the
/// (encrypted) successor at the same moment when the client has a grace window.
pub async fn consume(
    db: &Db,
    token_hash: &str,
    client_id: &str,
    now: i64,
    successor: Option<&str>,
) -> Result<Used, StoreError> {
    let sql = format!(
        "UPDATE refresh_tokens SET used_at = $3, successor = $4 WHERE token_hash = $1 \
         AND client_id = $2 AND used_at IS NULL AND revoked_at IS NULL RETURNING {COLUMNS}"
    );
    let row: Option<RefreshRow> = with_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(client_id)
            .bind(now)
            .bind(successor)
            .fetch_optional(pool)
            .await
    })?;
    if let Some(row) = row {
        return Ok(Used::Fresh(Box::new(row)));
    }
    let used: Option<UsedRow> = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT family_id, used_at, revoked_at, successor FROM refresh_tokens \
             WHERE token_hash = $1 AND client_id = $2",
        )
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(match used {
        Some((family_id, used_at, revoked_at, successor)) => Used::Replayed {
            family_id,
            used_at,
            revoked: revoked_at.is_some(),
            successor,
        },
        None => Used::Unknown,
    })
}

/// A token's row, whatever its state.
pub async fn get(db: &Db, token_hash: &str) -> Result<Option<RefreshRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
    Ok(with_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(pool)
            .await
    })?)
}

/// The token if it is still the live one of its family: not rotated out, not revoked, within its
/// idle and absolute lifetimes.
pub async fn live(db: &Db, token_hash: &str, now: i64) -> Result<Option<RefreshRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL \
         AND revoked_at IS NULL AND expires_at > $2 AND family_expires_at > $2"
    );
    Ok(with_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
    })?)
}

/// The family of a token and the client it was issued to, for revocation (RFC 7009).
pub async fn family_of(db: &Db, token_hash: &str) -> Result<Option<(String, String)>, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as("SELECT family_id, client_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await
    })?)
}

/// Revokes every token of the family and the access tokens issued with them, in one transaction.
pub async fn revoke_family(db: &Db, family_id: &str, now: i64) -> Result<(), StoreError> {
    revoke_where(db, "family_id = $1", family_id, now, None)
        .await
        .map(|_| ())
}

/// Revokes the refresh tokens bound to a browser session (not offline ones) when it ends.
pub async fn revoke_session(db: &Db, sid: &str, now: i64) -> Result<(), StoreError> {
    revoke_where(db, "sid = $1 AND NOT offline", sid, now, None)
        .await
        .map(|_| ())
}

/// The user's live refresh-token families, newest sign-in first.
pub async fn families_of(db: &Db, sub: &str, now: i64) -> Result<Vec<Family>, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT family_id, client_id, scope, offline, auth_time, family_expires_at \
             FROM refresh_tokens WHERE sub = $1 AND revoked_at IS NULL AND used_at IS NULL \
             AND expires_at > $2 AND family_expires_at > $2 ORDER BY auth_time DESC, family_id",
        )
        .bind(sub)
        .bind(now)
        .fetch_all(pool)
        .await
    })?)
}

/// An admin revokes one of the user's families; the audit line commits with the revocation.
/// False (and nothing written) when the user has no unrevoked token in that family.
pub async fn revoke_family_of(
    db: &Db,
    sub: &str,
    family_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let condition = "family_id = $1 AND sub = $3";
    revoke_where(db, condition, family_id, now, Some((sub, audit))).await
}

async fn revoke_where(
    db: &Db,
    condition: &'static str,
    value: &str,
    now: i64,
    by_admin: Option<(&str, &AuditEvent)>,
) -> Result<bool, StoreError> {
    let update = format!(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE {condition} AND revoked_at IS NULL \
         RETURNING access_jti, access_exp, client_id"
    );
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(update)).bind(value).bind(now);
        if let Some((sub, _)) = by_admin {
            query = query.bind(sub);
        }
        if revoke_issued!(tx, query, now) == 0 {
            // Nothing was live: dropping the transaction rolls back, so no audit line claims a
            // revocation that did not happen.
            return Ok(false);
        }
        if let Some((_, audit)) = by_admin {
            insert_event!(&mut *tx, audit)?;
        }
        tx.commit().await?;
    });
    Ok(true)
}

/// Revokes every live refresh token of the user `$1` (offline ones too) at `$2`.
pub(crate) const REVOKE_ALL_OF_USER: &str = "UPDATE refresh_tokens SET revoked_at = $2 \
    WHERE sub = $1 AND revoked_at IS NULL RETURNING access_jti, access_exp, client_id";

/// Runs `$query` (an `UPDATE refresh_tokens … RETURNING access_jti, access_exp, client_id` built
/// for the transaction `$tx`) and revokes the unexpired access tokens issued with the refresh
/// tokens it revoked, in the same transaction. Evaluates to how many refresh tokens it revoked.
macro_rules! revoke_issued {
    ($tx:ident, $query:expr, $now:expr) => {{
        let issued: Vec<(Option<String>, Option<i64>, String)> =
            $query.fetch_all(&mut *$tx).await?;
        for (jti, exp, client_id) in &issued {
            if let (Some(jti), Some(exp)) = (jti, exp)
                && *exp > $now
            {
                sqlx::query(
                    "INSERT INTO revoked_tokens (jti, client_id, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(jti)
                .bind(client_id)
                .bind(exp)
                .execute(&mut *$tx)
                .await?;
            }
        }
        issued.len()
    }};
}
pub(crate) use revoke_issued;

/// Drops families past their absolute lifetime.
pub async fn purge(db: &Db, now: i64) -> Result<u64, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query("DELETE FROM refresh_tokens WHERE family_expires_at < $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?)
}
