//! Signing keys. The partial unique index on (alg, state) for `next` and `active` is what keeps
//! racing instances from creating two active keys: the loser's insert does nothing.

use sqlx::FromRow;

use super::audit::insert_event;
use super::{Db, StoreError, with_pool};
use crate::model::AuditEvent;

#[derive(Debug, Clone, FromRow)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub public_jwk: String,
    pub private_key: String,
    pub master_key_id: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
}

pub async fn list(db: &Db) -> Result<Vec<KeyRow>, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT kid, alg, state, public_jwk, private_key, master_key_id, created_at, \
             activated_at, retired_at FROM signing_keys ORDER BY alg, created_at, kid",
        )
        .fetch_all(pool)
        .await
    })?)
}

/// Inserts unless the (alg, state) slot is taken. Returns whether this row was written.
pub async fn insert_if_free(db: &Db, k: &KeyRow) -> Result<bool, StoreError> {
    let done = with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, state, public_jwk, private_key, master_key_id, \
             created_at, activated_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(&k.state)
        .bind(&k.public_jwk)
        .bind(&k.private_key)
        .bind(&k.master_key_id)
        .bind(k.created_at)
        .bind(k.activated_at)
        .bind(k.retired_at)
        .execute(pool)
        .await
        .map(|d| d.rows_affected())
    })?;
    Ok(done == 1)
}

/// One rotation step for `alg`, all or nothing: the active key `active_kid` retires, the next key
/// `next_kid` becomes active and `new_next` is published. Returns false (and changes nothing)
/// when another instance rotated first.
pub async fn rotate(
    db: &Db,
    active_kid: Option<&str>,
    next_kid: &str,
    new_next: &KeyRow,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let rotated = with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut ok = true;
        if let Some(active) = active_kid {
            ok = sqlx::query(
                "UPDATE signing_keys SET state = 'retired', retired_at = $2 \
                 WHERE kid = $1 AND state = 'active'",
            )
            .bind(active)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected() == 1;
        }
        if ok {
            ok = sqlx::query(
                "UPDATE signing_keys SET state = 'active', activated_at = $2 \
                 WHERE kid = $1 AND state = 'next'",
            )
            .bind(next_kid)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected() == 1;
        }
        if ok {
            ok = sqlx::query(
                "INSERT INTO signing_keys (kid, alg, state, public_jwk, private_key, \
                 master_key_id, created_at) VALUES ($1, $2, 'next', $3, $4, $5, $6) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&new_next.kid)
            .bind(&new_next.alg)
            .bind(&new_next.public_jwk)
            .bind(&new_next.private_key)
            .bind(&new_next.master_key_id)
            .bind(new_next.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected() == 1;
        }
        if ok {
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        ok
    });
    Ok(rotated)
}

/// Stops publishing a retired key at once (an admin's decision, e.g. after a compromise):
/// tokens it signed stop verifying. False when `kid` is not a retired key.
pub async fn delete_retired(db: &Db, kid: &str, audit: &AuditEvent) -> Result<bool, StoreError> {
    let done = with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let done = sqlx::query("DELETE FROM signing_keys WHERE kid = $1 AND state = 'retired'")
            .bind(kid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 1 {
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        }
        done
    });
    Ok(done == 1)
}

/// Replaces a key's ciphertext, only if it is still the one that was read (a concurrent rewrap
/// is not overwritten).
pub async fn rewrap(
    db: &Db,
    kid: &str,
    old_master_key_id: &str,
    new_master_key_id: &str,
    private_key: &str,
) -> Result<bool, StoreError> {
    let done = with_pool!(db, pool => {
        sqlx::query(
            "UPDATE signing_keys SET private_key = $4, master_key_id = $3 \
             WHERE kid = $1 AND master_key_id = $2",
        )
        .bind(kid)
        .bind(old_master_key_id)
        .bind(new_master_key_id)
        .bind(private_key)
        .execute(pool)
        .await
        .map(|d| d.rows_affected())
    })?;
    Ok(done == 1)
}

/// Removes retired keys retired before `cutoff`: no token they signed can still be valid.
pub async fn delete_retired_before(db: &Db, cutoff: i64) -> Result<u64, StoreError> {
    let done = with_pool!(db, pool => {
        sqlx::query("DELETE FROM signing_keys WHERE state = 'retired' AND retired_at < $1")
            .bind(cutoff)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?;
    Ok(done)
}
