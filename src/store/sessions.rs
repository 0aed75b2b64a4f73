//! Browser session records (tower-sessions), keyed by a hash of the cookie value so a database
//! leak does not hand out live sessions.

use super::{Db, StoreError, with_pool};

/// Inserts a new record; false when the id is taken (the caller picks another).
pub async fn create(
    db: &Db,
    id_hash: &str,
    sub: Option<&str>,
    data: &str,
    expires_at: i64,
) -> Result<bool, StoreError> {
    let done = with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO sessions (id_hash, sub, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id_hash)
        .bind(sub)
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
    sub: Option<&str>,
    data: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO sessions (id_hash, sub, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id_hash) DO UPDATE SET sub = excluded.sub, data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(id_hash)
        .bind(sub)
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
