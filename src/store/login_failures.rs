//! Failed-login counters (brute-force protection).

use super::audit::execute_audited;
use super::{Db, StoreError, with_pool};
use crate::model::{AuditEvent, LoginFailure};

/// One key's share of a granted attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    pub key: String,
    /// Failures counted for the key, this attempt included.
    pub failures: i64,
    /// Seconds of delay this attempt started for the next one (0: none).
    pub delay: i64,
    /// The key's `delay_until` before this attempt, restored if it is released.
    pub previous_until: i64,
    /// The key's `delay_until` after it.
    pub until: i64,
}

/// What [`reserve`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation<const N: usize> {
    /// Every key let the attempt through, and it is counted as a failure until released.
    Granted([Reserved; N]),
    /// A key's delay runs until this time (unix seconds); nothing was counted.
    Delayed(i64),
}

/// Counts an attempt for every key before its password is checked, in one transaction: each
/// key's counter goes up (restarting from 1 when the last failure is older than
/// `reset_before`) unless its delay is still running at `now`, and the delay that
/// `delay(key, failures)` asks for starts at once. Concurrent attempts queue on the rows'
/// locks (the database's write lock on SQLite), so each sees the counts and delays of those
/// before it: however many arrive at once, no more passwords are checked than the counters
/// allow. When any key is delayed the transaction rolls back and nothing is counted.
pub async fn reserve<const N: usize>(
    db: &Db,
    keys: [&str; N],
    now: i64,
    reset_before: i64,
    delay: impl Fn(&str, i64) -> i64,
) -> Result<Reservation<N>, StoreError> {
    let granted = with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut granted = Vec::with_capacity(N);
        for key in keys {
            let counted: Option<(i64, i64)> = sqlx::query_as(
                "INSERT INTO login_failures (key, failures, last_failure_at, delay_until) \
                 VALUES ($1, 1, $2, 0) ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN login_failures.last_failure_at < $3 THEN 1 \
                                 ELSE login_failures.failures + 1 END, \
                 last_failure_at = $2 \
                 WHERE login_failures.delay_until <= $2 \
                 RETURNING failures, delay_until",
            )
            .bind(key)
            .bind(now)
            .bind(reset_before)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((failures, previous_until)) = counted else {
                break;
            };
            let seconds = delay(key, failures);
            let mut until = previous_until;
            if seconds > 0 {
                until = now + seconds;
                sqlx::query("UPDATE login_failures SET delay_until = $2 WHERE key = $1")
                    .bind(key)
                    .bind(until)
                    .execute(&mut *tx)
                    .await?;
            }
            granted.push(Reserved {
                key: key.to_owned(),
                failures,
                delay: seconds,
                previous_until,
                until,
            });
        }
        if granted.len() == N {
            tx.commit().await?;
        }
        granted
    });
    if let Ok(all) = <[Reserved; N]>::try_from(granted) {
        return Ok(Reservation::Granted(all));
    }
    let until = delayed_until(db, &keys, now).await?;
    // The delay may have run out in between: the caller tries again in a second.
    Ok(Reservation::Delayed(until.unwrap_or(now + 1)))
}

/// Gives back a granted attempt that did not fail: one failure less, and the delay it started
/// (if no later attempt has replaced it) undone. A counter back at zero goes, so that
/// successful sign-ins leave nothing in the list of lockouts.
pub async fn release(db: &Db, r: &Reserved) -> Result<(), StoreError> {
    with_pool!(db, pool => {
        sqlx::query(
            "UPDATE login_failures SET failures = failures - 1, \
             delay_until = CASE WHEN delay_until = $3 THEN $2 ELSE delay_until END \
             WHERE key = $1 AND failures > 0",
        )
        .bind(&r.key)
        .bind(r.previous_until)
        .bind(r.until)
        .execute(pool)
        .await?;
        sqlx::query("DELETE FROM login_failures WHERE key = $1 AND failures <= 0")
            .bind(&r.key)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// The latest delay among `keys` still running at `now`.
async fn delayed_until(db: &Db, keys: &[&str], now: i64) -> Result<Option<i64>, StoreError> {
    let mut latest = None;
    for key in keys {
        let until: Option<i64> = with_pool!(db, pool => {
            sqlx::query_scalar(
                "SELECT delay_until FROM login_failures WHERE key = $1 AND delay_until > $2",
            )
            .bind(*key)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        latest = latest.max(until);
    }
    Ok(latest)
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
