//! Storage: one set of SQL statements run on PostgreSQL or SQLite. Each function is one
//! statement or one transaction; timestamps are unix seconds from our clock, never `now()`.

pub mod audit;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod keys;
pub mod login_failures;
pub mod rate_limits;
pub mod redis_counters;
pub mod refresh_tokens;
pub mod resources;
pub mod revocations;
pub mod sessions;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when a unique or primary-key constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// True when a foreign key refused the write (e.g. an unknown resource).
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_foreign_key_violation())
    }
}

/// Escapes `\`, `%` and `_` for a `LIKE … ESCAPE '\'` pattern, so user input matches only
/// itself.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The database in use, chosen from the URL scheme.
#[derive(Debug, Clone)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs the same code on whichever pool is active; `$pool` is bound to the concrete pool.
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Postgres($pool) => $body,
            $crate::store::Db::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Db {
    /// Opens a pool; a SQLite file (and its folder) is created when missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            if let Some(dir) = options.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Corrupt(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            // Switching a new file to WAL needs an exclusive lock that the busy timeout does not
            // wait for, so two processes creating the same file can get SQLITE_BUSY: retry.
            let mut attempts = 0;
            loop {
                let connected = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options.clone())
                    .await;
                match connected {
                    Ok(pool) => return Ok(Db::Sqlite(pool)),
                    Err(sqlx::Error::Database(e))
                        if e.code().as_deref() == Some("5") && attempts < 50 =>
                    {
                        attempts += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        } else {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Postgres(pool) => PG_MIGRATIONS.run(pool).await?,
            // sqlx takes no lock on SQLite: two processes starting on a new file can both try
            // to apply the same migration. The loser's transaction rolls back; another pass
            // finds it applied.
            Db::Sqlite(pool) => {
                let mut attempts = 0;
                while let Err(e) = SQLITE_MIGRATIONS.run(pool).await {
                    attempts += 1;
                    if attempts == 5 {
                        return Err(e.into());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        Ok(())
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// True when no signing key was ever written: a brand-new database.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys").fetch_one(pool).await
        })?;
        Ok(count == 0)
    }

    /// (connections open, of which idle), for the pool gauges.
    pub fn pool_stats(&self) -> (u32, usize) {
        with_pool!(self, pool => (pool.size(), pool.num_idle()))
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both databases must go through the same schema versions.
    #[test]
    fn migration_lists_match() {
        let pg: Vec<_> = PG_MIGRATIONS
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        let lite: Vec<_> = SQLITE_MIGRATIONS
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        assert!(!pg.is_empty());
        assert_eq!(pg, lite);
    }

    #[test]
    fn like_patterns_match_only_the_input() {
        assert_eq!(like_escape("a_b%c\\d"), "a\\_b\\%c\\\\d");
        assert_eq!(like_escape("plain"), "plain");
    }
}
