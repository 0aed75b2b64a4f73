//! One-time JWT identifiers (`jti`): client assertions (RFC 7523 §3 item 7) and DPoP proofs
//! (RFC 9449 §11.1) are accepted once. The first use inserts the row; any later use of the same
//! `(kind, jti)` finds the primary key taken, on whichever instance it arrives. Rows stay until
//! the JWT has expired (`expires_at`), when it would be refused anyway, and are purged then.

use super::{Db, StoreError, with_pool};

/// Records `jti` of `kind` as used until `expires_at`. True on its first use; false when it was
/// already used and has not been purged (a replay). One statement, so two instances racing on
/// the same jti cannot both see a first use.
pub async fn first_use(
    db: &Db,
    kind: &str,
    jti: &str,
    expires_at: i64,
) -> Result<bool, StoreError> {
    let inserted = with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO used_jtis (kind, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(kind)
        .bind(jti)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|d| d.rows_affected())
    })?;
    Ok(inserted == 1)
}

/// Removes the identifiers of JWTs that have expired by `now`.
pub async fn purge(db: &Db, now: i64) -> Result<u64, StoreError> {
    let done = with_pool!(db, pool => {
        sqlx::query("DELETE FROM used_jtis WHERE expires_at < $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?;
    Ok(done)
}
