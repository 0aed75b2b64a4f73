//! Shared rate-limit counters in the database (PostgreSQL): one row per limit, key and fixed
//! window, written by every instance in batches.

use sqlx::PgPool;

use super::{Db, StoreError, with_pool};

/// How long counters outlive their window, in both stores: instances whose clocks disagree by up
/// to this much, or whose sync is late, still find each other's counts.
pub const KEEP_AFTER_WINDOW_MS: i64 = 10_000;

/// What one instance adds to one counter in one sync, and the window it belongs to.
#[derive(Debug, Clone)]
pub struct Increment {
    pub limit: &'static str,
    /// Already hashed: never a raw client id or IP.
    pub key: String,
    /// Unix milliseconds.
    pub window_start: i64,
    /// Unix milliseconds.
    pub window_end: i64,
    /// 0 asks only for the current total.
    pub hits: i64,
}

/// Adds every increment in one statement and returns the counters' totals, in input order (0
/// for a counter nobody has written).
///
/// Rows are upserted in key order so two instances writing overlapping batches lock them in the
/// same order and cannot deadlock. Read-only entries (hits = 0) are read, not rewritten: an
/// `UPDATE … + 0` would still write a new row version.
pub async fn exchange(pool: &PgPool, batch: &[Increment]) -> Result<Vec<i64>, StoreError> {
    let mut names = Vec::with_capacity(batch.len());
    let mut keys = Vec::with_capacity(batch.len());
    let mut starts = Vec::with_capacity(batch.len());
    let mut hits = Vec::with_capacity(batch.len());
    let mut expires = Vec::with_capacity(batch.len());
    for i in batch {
        names.push(i.limit);
        keys.push(i.key.as_str());
        starts.push(i.window_start);
        hits.push(i.hits);
        expires.push((i.window_end + KEEP_AFTER_WINDOW_MS + 999).div_euclid(1000));
    }
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "WITH input AS ( \
             SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[]) \
             WITH ORDINALITY AS t(limit_name, key, window_start, hits, expires_at, idx) \
         ), added AS ( \
             INSERT INTO rate_limit_counters AS c (limit_name, key, window_start, hits, expires_at) \
             SELECT limit_name, key, window_start, hits, expires_at FROM input WHERE hits > 0 \
             ORDER BY limit_name, key, window_start \
             ON CONFLICT (limit_name, key, window_start) DO UPDATE SET hits = c.hits + EXCLUDED.hits \
             RETURNING c.limit_name, c.key, c.window_start, c.hits \
         ) \
         SELECT i.idx, a.hits FROM input i JOIN added a USING (limit_name, key, window_start) \
         UNION ALL \
         SELECT i.idx, c.hits FROM input i \
         JOIN rate_limit_counters c USING (limit_name, key, window_start) WHERE i.hits = 0",
    )
    .bind(&names)
    .bind(&keys)
    .bind(&starts)
    .bind(&hits)
    .bind(&expires)
    .fetch_all(pool)
    .await?;
    let mut totals = vec![0; batch.len()];
    for (idx, total) in rows {
        // WITH ORDINALITY counts from 1.
        if let Some(slot) = usize::try_from(idx - 1)
            .ok()
            .and_then(|i| totals.get_mut(i))
        {
            *slot = total;
        }
    }
    Ok(totals)
}

/// Deletes counters whose window (and grace) ended before `now` (unix seconds).
pub async fn purge(db: &Db, now: i64) -> Result<u64, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query("DELETE FROM rate_limit_counters WHERE expires_at < $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?)
}
