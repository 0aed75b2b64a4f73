//! Failed-login counters (brute-force protection).

use sqlx::FromRow;

use super::audit::execute_audited;
use super::{Db, StoreError, with_pool};
use crate::model::AuditEvent;

#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct LoginFailure {
    pub key: String,
    pub failures: i64,
    pub last_failure_at: i64,
    pub delay_until: i64,
}

/// Counts a failure (restarting from 1 when the last one is older than `reset_before`) and
/// returns the new count.
pub async fn record(db: &Db, key: &str, now: i64, reset_before: i64) -> Result<i64, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO login_failures (key, failures, last_failure_at, delay_until) \
             VALUES ($1, 1, $2, 0) ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN login_failures.last_failure_at < $3 THEN 1 \
                             ELSE login_failures.failures + 1 END, \
             last_failure_at = $2 RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .bind(reset_before)
        .fetch_one(pool)
        .await
    })?)
}

pub async fn set_delay(db: &Db, key: &str, until: i64) -> Result<(), StoreError> {
    with_pool!(db, pool => {
        sqlx::query("UPDATE login_failures SET delay_until = $2 WHERE key = $1")
            .bind(key)
            .bind(until)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// The latest delay among `keys` still running at `now`.
pub async fn delayed_until(db: &Db, keys: [&str; 2], now: i64) -> Result<Option<i64>, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT MAX(delay_until) FROM login_failures WHERE key IN ($1, $2) AND delay_until > $3",
        )
        .bind(keys[0])
        .bind(keys[1])
        .bind(now)
        .fetch_one(pool)
        .await
    })?)
}

/// Clears a counter. An admin's clearing carries its audit line; a successful login's does not.
pub async fn clear(db: &Db, key: &str, audit: Option<&AuditEvent>) -> Result<bool, StoreError> {
    let done = execute_audited!(db, audit, tx =>
        sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key));
    Ok(done > 0)
}

/// Keys with failures, most recent first.
pub async fn list(db: &Db) -> Result<Vec<LoginFailure>, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT key, failures, last_failure_at, delay_until FROM login_failures \
             ORDER BY last_failure_at DESC LIMIT 1000",
        )
        .fetch_all(pool)
        .await
    })?)
}

/// Deletes counters whose last failure was before `reset_before` (they would restart from one
/// anyway) and whose delay has run out by `now`.
pub async fn purge(db: &Db, reset_before: i64, now: i64) -> Result<u64, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query("DELETE FROM login_failures WHERE last_failure_at < $1 AND delay_until <= $2")
            .bind(reset_before)
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?)
}
