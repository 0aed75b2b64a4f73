//! Browser session records (tower-sessions), keyed by a hash of the cookie value so a database
//! leak does not hand out live sessions.

use super::audit::execute_audited;
use super::{Db, StoreError, with_pool};
use crate::model::{AuditEvent, SessionInfo};

pub async fn list_of(db: &Db, sub: &str, now: i64) -> Result<Vec<SessionInfo>, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT sid, expires_at FROM sessions WHERE sub = $1 AND sid IS NOT NULL \
             AND expires_at > $2 ORDER BY expires_at DESC",
        )
        .bind(sub)
        .bind(now)
        .fetch_all(pool)
        .await
    })?)
}

/// Ends the user's session `sid` (an admin's action, audited in the same transaction). False if
/// there was none.
pub async fn end_of(db: &Db, sub: &str, sid: &str, audit: &AuditEvent) -> Result<bool, StoreError> {
    let done = execute_audited!(db, Some(audit), tx =>
        sqlx::query("DELETE FROM sessions WHERE sub = $1 AND sid = $2").bind(sub).bind(sid));
    Ok(done > 0)
}

/// Who a session belongs to: the user and the OIDC session id, kept in columns so that a
/// user's sessions can be listed and tokens bound to a session checked.
#[derive(Debug, Default, Clone, Copy)]
pub struct Owner<'a> {
    pub sub: Option<&'a str>,
    pub sid: Option<&'a str>,
}

/// Inserts a new record; false when the id is taken (the caller picks another).
pub async fn create(
    db: &Db,
    id_hash: &str,
    owner: Owner<'_>,
    data: &str,
    expires_at: i64,
) -> Result<bool, StoreError> {
    let done = with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO sessions (id_hash, sub, sid, data, expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id_hash)
        .bind(owner.sub)
        .bind(owner.sid)
        .bind(data)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|d| d.rows_affected())
    })?;
    Ok(done == 1)
}

pub async fn save(
    db: &Db,
    id_hash: &str,
    owner: Owner<'_>,
    data: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO sessions (id_hash, sub, sid, data, expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id_hash) DO UPDATE SET sub = excluded.sub, sid = excluded.sid, \
             data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(id_hash)
        .bind(owner.sub)
        .bind(owner.sid)
        .bind(data)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// The record's data and expiry, unless it expired by `now`.
pub async fn load(db: &Db, id_hash: &str, now: i64) -> Result<Option<(String, i64)>, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as("SELECT data, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
    })?)
}

/// Whether a live session carries this OIDC session id.
pub async fn sid_alive(db: &Db, sid: &str, now: i64) -> Result<bool, StoreError> {
    let found: Option<String> = with_pool!(db, pool => {
        sqlx::query_scalar("SELECT sid FROM sessions WHERE sid = $1 AND expires_at > $2 LIMIT 1")
            .bind(sid)
            .bind(now)
            .fetch_optional(pool)
            .await
    })?;
    Ok(found.is_some())
}

pub async fn delete(db: &Db, id_hash: &str) -> Result<(), StoreError> {
    with_pool!(db, pool => {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?)
}
