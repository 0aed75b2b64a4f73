//! Storage: one set of SQL statements run on PostgreSQL or SQLite. Each function is one
//! statement or one transaction; timestamps are unix seconds from our clock, never `now()`.

pub mod audit;
pub mod cache;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod files;
pub mod keys;
pub mod login_failures;
pub mod rate_limits;
pub mod redis_counters;
pub mod refresh_tokens;
pub mod resources;
pub mod revocations;
pub mod session_store;
pub mod sessions;
pub mod used_jtis;
pub mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
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
    #[error("cannot connect to PostgreSQL at {target}: {cause}")]
    Unreachable { target: String, cause: String },
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

/// One page of a console list as SQL: the rows of `table` (as `select`) whose `columns` start
/// with `prefix` in any letter case, after the keyset cursor `(LOWER(order), id)`, in that order.
/// The limit is the last parameter, bound by the caller.
///
/// Without a prefix the page is an index range scan in page order (the ordering indexes of
/// migration 0008), so it costs the same at any depth.
///
/// With a prefix, every match is found first, through the prefix indexes of migration 0008 (one
/// per column, OR-ed as a bitmap); only the matches' keys are sorted, then the page's rows are
/// read. The `MATERIALIZED` fence stops the planner from walking the page order instead and
/// filtering until it has a page: that looks cheap when matches are assumed to be spread evenly
/// over the order, but a name or email prefix is correlated with the username (users called
/// "Maria G…" are "maria…", "mgarcia…", "garciam…"), and such walks read 27,000 to 63,000 of
/// 100,000 users for one page (BENCHMARKS.md, "Admin console at scale"). A search page costs in
/// proportion to its matches instead; [`fetch_page`] makes sure PostgreSQL finds them through
/// the indexes.
pub(crate) fn prefix_page(
    table: &str,
    select: &str,
    columns: &[&str],
    (order, id): (&str, &str),
    prefix: Option<&str>,
    after: Option<(&str, &str)>,
) -> PageSql {
    let mut binds = Vec::new();
    let mut filter = Vec::new();
    if let Some(p) = prefix {
        binds.push(format!("{}%", like_escape(&p.to_lowercase())));
        let any: Vec<String> = columns
            .iter()
            .map(|c| format!("LOWER({c}) LIKE $1 ESCAPE '\\'"))
            .collect();
        filter.push(format!("({})", any.join(" OR ")));
    }
    if let Some((key, last)) = after {
        let n = binds.len();
        filter.push(format!("(LOWER({order}), {id}) > (${}, ${})", n + 1, n + 2));
        binds.push(key.to_lowercase());
        binds.push(last.to_owned());
    }
    let filter = if filter.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filter.join(" AND "))
    };
    let limit = binds.len() + 1;
    let sql = if prefix.is_some() {
        format!(
            "WITH matches AS MATERIALIZED \
             (SELECT LOWER({order}) AS k, {id} AS id FROM {table}{filter}) \
             SELECT {select} FROM {table} \
             WHERE {id} IN (SELECT id FROM matches ORDER BY k, id LIMIT ${limit}) \
             ORDER BY LOWER({order}), {id}"
        )
    } else {
        format!("SELECT {select} FROM {table}{filter} ORDER BY LOWER({order}), {id} LIMIT ${limit}")
    };
    PageSql {
        sql,
        binds,
        persistent: prefix.is_none(),
    }
}

/// A console list page's statement, from [`prefix_page`].
pub(crate) struct PageSql {
    pub sql: String,
    /// Text parameters, in order; the limit comes after them.
    pub binds: Vec<String>,
    /// Whether the statement may be kept prepared on its connection (searches may not).
    pub persistent: bool,
}

/// Runs a page from [`prefix_page`] with its `limit`.
///
/// On PostgreSQL a search runs as an unnamed statement, in a transaction with sequential scans
/// off, so its matches always come from the prefix indexes:
/// - a statement prepared once and run often may switch to a generic plan, in which `LIKE $1`
///   cannot use an index because the pattern is unknown: every search would read the table;
/// - for a common prefix (a single letter, a quarter of 100,000 users) the planner prefers a
///   sequential scan, which evaluates `LOWER(..) LIKE` up to three times on every row: 181 ms
///   a page (p50) against 45-62 ms through the indexes (BENCHMARKS.md). It does not know that
///   `LOWER` is expensive; and the indexes are never much worse: at worst every index entry is
///   read on top of the table.
pub(crate) async fn fetch_page<R>(db: &Db, page: PageSql, limit: i64) -> Result<Vec<R>, StoreError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin,
{
    let PageSql {
        sql,
        binds,
        persistent,
    } = page;
    if let (Db::Postgres(pool), false) = (db, persistent) {
        let mut tx = pool.begin().await?;
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut *tx)
            .await?;
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        return Ok(rows);
    }
    Ok(with_pool!(db, pool => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(persistent);
        for b in &binds {
            q = q.bind(b);
        }
        q.bind(limit).fetch_all(pool).await
    })?)
}

/// How long the first connection to PostgreSQL may take before start-up gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects once before the pool does, so that an unreachable server is reported with its
/// address and the real cause (the pool only says that it timed out), and warns when
/// `sslmode=prefer` (the default) or `allow` ended up unencrypted.
async fn probe_postgres(options: &PgConnectOptions) -> Result<(), StoreError> {
    use sqlx::Connection;
    let target = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let unreachable = |cause: String| StoreError::Unreachable {
        target: target.clone(),
        cause,
    };
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, sqlx::PgConnection::connect_with(options))
        .await
        .map_err(|_| unreachable(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| unreachable(e.to_string()))?;
    // Unix sockets never use TLS, and need not: they do not leave the machine.
    let may_fall_back = matches!(options.get_ssl_mode(), PgSslMode::Prefer | PgSslMode::Allow);
    if may_fall_back && options.get_socket().is_none() && !options.get_host().starts_with('/') {
        let encrypted: Option<bool> =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_optional(&mut conn)
                .await?;
        if encrypted == Some(false) {
            tracing::warn!(
                server = %target,
                "the connection to PostgreSQL is not encrypted (sslmode=prefer or allow fell \
                 back to plaintext): add sslmode=verify-full (or require) to the database URL"
            );
        }
    }
    conn.close().await?;
    Ok(())
}

/// A database URL fit for messages: the password replaced.
pub fn describe_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
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
                .foreign_keys(true)
                // Checkpoint every 10,000 WAL pages (~40 MB) rather than SQLite's 1,000: every
                // code exchange and refresh writes, and a checkpoint copies each hot index page
                // once however often it changed since the last one, so fewer, larger
                // checkpoints copy and fsync less (BENCHMARKS.md, sign-in benchmarks).
                .pragma("wal_autocheckpoint", "10000");
            let file = options.get_filename();
            if file != Path::new(":memory:") && !url.contains("mode=memory") {
                files::prepare_sqlite(file).map_err(|e| {
                    StoreError::Corrupt(format!("cannot create {}: {e}", file.display()))
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
            probe_postgres(&options).await?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        }
    }

    /// Applies the migrations, then fills in what they leave to Rust.
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
        // What SQL cannot compute for migrations 0010 and 0012.
        users::fill_canonical(self).await?;
        clients::index_origins(self).await
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

    /// A list page is a kept statement reading in page order; a search collects its matches
    /// behind a fence, as an unnamed statement (see `prefix_page` for why).
    #[test]
    fn a_search_page_is_fenced_and_not_kept_prepared() {
        let list = prefix_page("t", "a", &["n", "m"], ("n", "id"), None, Some(("K", "x")));
        assert_eq!(
            list.sql,
            "SELECT a FROM t WHERE (LOWER(n), id) > ($1, $2) ORDER BY LOWER(n), id LIMIT $3"
        );
        assert_eq!(list.binds, ["k", "x"]);
        assert!(list.persistent);

        let search = prefix_page("t", "a", &["n", "m"], ("n", "id"), Some("Ab_"), None);
        assert_eq!(
            search.sql,
            "WITH matches AS MATERIALIZED (SELECT LOWER(n) AS k, id AS id FROM t \
             WHERE (LOWER(n) LIKE $1 ESCAPE '\\' OR LOWER(m) LIKE $1 ESCAPE '\\')) \
             SELECT a FROM t WHERE id IN (SELECT id FROM matches ORDER BY k, id LIMIT $2) \
             ORDER BY LOWER(n), id"
        );
        assert_eq!(search.binds, ["ab\\_%"]);
        assert!(!search.persistent);
    }
}
