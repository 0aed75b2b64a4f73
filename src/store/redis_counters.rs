//! Shared rate-limit counters in Redis: one key per limit, key and fixed window, expiring with
//! its window, written by every instance in one pipeline per sync.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::rate_limits::{Increment, KEEP_AFTER_WINDOW_MS};

#[derive(Clone)]
pub struct RedisCounters {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisCounters {
    // The connection's Debug would print the URL, password included.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCounters {
    /// Parses the URL; the connection itself is made at the first sync and remade after a
    /// failure, so Tessera starts (and issues tokens) while Redis is down.
    /// `ca`: PEM root certificates a `rediss://` server is verified against, instead of the
    /// system's.
    pub fn new(
        url: &str,
        ca: Option<Vec<u8>>,
        prefix: &str,
        timeout: Duration,
    ) -> redis::RedisResult<Self> {
        let client = match ca {
            Some(root) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root),
                },
            )?,
            None => redis::Client::open(url)?,
        };
        // No retries inside one sync: the next sync is the retry, and meanwhile requests are
        // counted locally.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        Ok(Self {
            conn: ConnectionManager::new_lazy_with_config(client, config)?,
            prefix: prefix.to_owned(),
        })
    }

    /// INCRBY (with an expiry) for each increment, GET for each read-only entry, in one
    /// pipeline; returns the totals in input order.
    pub async fn exchange(&self, batch: &[Increment], now_ms: i64) -> redis::RedisResult<Vec<i64>> {
        let mut pipe = redis::pipe();
        for i in batch {
            let key = format!("{}{}:{}:{}", self.prefix, i.limit, i.window_start, i.key);
            if i.hits > 0 {
                let ttl = (i.window_end - now_ms).max(0) + KEEP_AFTER_WINDOW_MS;
                pipe.cmd("INCRBY").arg(&key).arg(i.hits);
                pipe.cmd("PEXPIRE").arg(&key).arg(ttl).ignore();
            } else {
                pipe.cmd("GET").arg(&key);
            }
        }
        let mut conn = self.conn.clone();
        let totals: Vec<Option<i64>> = pipe.query_async(&mut conn).await?;
        Ok(totals.into_iter().map(Option::unwrap_or_default).collect())
    }
}
