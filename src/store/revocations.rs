//! Access tokens revoked before they expire (RFC 7009 §2.1). Only the jti is kept, until the
//! token would have expired anyway.

use super::{Db, StoreError, with_pool};

pub async fn insert(
    db: &Db,
    jti: &str,
    client_id: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO revoked_tokens (jti, client_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(jti)
        .bind(client_id)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

pub async fn is_revoked(db: &Db, jti: &str) -> Result<bool, StoreError> {
    let found: Option<String> = with_pool!(db, pool => {
        sqlx::query_scalar("SELECT jti FROM revoked_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional(pool)
            .await
    })?;
    Ok(found.is_some())
}

pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, StoreError> {
    let done = with_pool!(db, pool => {
        sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?;
    Ok(done)
}
