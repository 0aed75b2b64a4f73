//! Users. Usernames are matched by their canonical form (`model::username::canonical`), kept in
//! its own uniquely indexed column, so a lookup is an index lookup on both databases and
//! "Alice", "ALICE" and full-width "ａｌｉｃｅ" are "alice".

use sqlx::FromRow;

use super::audit::insert_event;
use super::{Db, StoreError, with_pool};
use crate::model::username::canonical;
use crate::model::{AuditEvent, User, UserClaims};

#[derive(FromRow)]
struct Row {
    sub: String,
    username: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    password_hash: String,
    disabled: bool,
    admin: bool,
    must_change_password: bool,
    created_at: i64,
    updated_at: i64,
    claims: String,
}

/// A user with the PHC string of their password, which only the service layer sees.
#[derive(Clone)]
pub struct StoredUser {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for StoredUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredUser")
            .field("user", &self.user)
            .field("password_hash", &"[redacted]")
            .finish()
    }
}

const COLUMNS: &str = "sub, username, email, email_verified, name, password_hash, disabled, \
    admin, must_change_password, created_at, updated_at, claims";

impl From<Row> for StoredUser {
    fn from(r: Row) -> Self {
        let claims = parse_claims(&r.sub, &r.claims);
        StoredUser {
            password_hash: r.password_hash,
            user: User {
                sub: r.sub,
                username: r.username,
                email: r.email,
                email_verified: r.email_verified,
                name: r.name,
                disabled: r.disabled,
                admin: r.admin,
                must_change_password: r.must_change_password,
                created_at: r.created_at,
                updated_at: r.updated_at,
                claims,
            },
        }
    }
}

/// The stored claims; only this module writes them, so a value that does not parse is a bug,
/// logged, and served as no claims rather than failing every request about the user.
fn parse_claims(sub: &str, raw: &str) -> UserClaims {
    serde_json::from_str(raw).unwrap_or_else(|error| {
        tracing::error!(%sub, %error, "stored user claims do not parse");
        UserClaims::default()
    })
}

fn claims_json(claims: &UserClaims) -> Result<String, StoreError> {
    serde_json::to_string(claims).map_err(|e| StoreError::Corrupt(format!("user claims: {e}")))
}

/// Fails with a unique violation when the username is taken in any spelling of the same
/// canonical form. The audit line commits with the user.
pub async fn insert(
    db: &Db,
    u: &User,
    password_hash: &str,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let claims = claims_json(&u.claims)?;
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO users (sub, username, email, email_verified, name, password_hash, \
             disabled, created_at, updated_at, admin, must_change_password, claims, \
             username_canonical) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&u.sub)
        .bind(&u.username)
        .bind(&u.email)
        .bind(u.email_verified)
        .bind(&u.name)
        .bind(password_hash)
        .bind(u.disabled)
        .bind(u.created_at)
        .bind(u.updated_at)
        .bind(u.admin)
        .bind(u.must_change_password)
        .bind(&claims)
        .bind(canonical(&u.username))
        .execute(&mut *tx)
        .await?;
        insert_event!(&mut *tx, audit)?;
        tx.commit().await?;
    });
    Ok(())
}

/// True when some enabled user is an admin.
pub async fn any_admin(db: &Db) -> Result<bool, StoreError> {
    let found: Option<i32> = with_pool!(db, pool => {
        sqlx::query_scalar("SELECT 1 FROM users WHERE admin AND NOT disabled LIMIT 1")
            .fetch_optional(pool)
            .await
    })?;
    Ok(found.is_some())
}

/// One page of users in (lower-cased username, sub) order after `after`, optionally narrowed to
/// those whose username, email or name starts with `prefix` (any letter case); keyset
/// pagination as for clients.
pub async fn page(
    db: &Db,
    prefix: Option<&str>,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    let page = super::prefix_page(
        "users",
        COLUMNS,
        &["username", "email", "name"],
        ("username", "sub"),
        prefix,
        after,
    );
    let rows: Vec<Row> = super::fetch_page(db, page, limit).await?;
    Ok(rows.into_iter().map(|r| StoredUser::from(r).user).collect())
}

/// What an admin may change about a user besides the password.
#[derive(Debug, Clone)]
pub struct Profile<'a> {
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub name: Option<&'a str>,
    pub admin: bool,
}

/// Updates the profile with its audit line; None (nothing written) if no such user.
pub async fn update_profile(
    db: &Db,
    sub: &str,
    p: &Profile<'_>,
    now: i64,
    audit: &AuditEvent,
) -> Result<Option<User>, StoreError> {
    let sql = format!(
        "UPDATE users SET email = $2, email_verified = $3, name = $4, admin = $5, updated_at = $6 \
         WHERE sub = $1 RETURNING {COLUMNS}"
    );
    let row: Option<Row> = with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(sub)
            .bind(p.email)
            .bind(p.email_verified)
            .bind(p.name)
            .bind(p.admin)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if row.is_some() {
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        }
        row
    });
    Ok(row.map(|r| StoredUser::from(r).user))
}

/// Replaces the user's standard claims (and sets `updated_at`) with its audit line; None
/// (nothing written) if no such user.
pub async fn update_claims(
    db: &Db,
    sub: &str,
    claims: &UserClaims,
    now: i64,
    audit: &AuditEvent,
) -> Result<Option<User>, StoreError> {
    let claims = claims_json(claims)?;
    let sql =
        format!("UPDATE users SET claims = $2, updated_at = $3 WHERE sub = $1 RETURNING {COLUMNS}");
    let row: Option<Row> = with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(sub)
            .bind(&claims)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if row.is_some() {
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        }
        row
    });
    Ok(row.map(|r| StoredUser::from(r).user))
}

pub async fn by_sub(db: &Db, sub: &str) -> Result<Option<StoredUser>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE sub = $1");
    let row: Option<Row> = with_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(sub).fetch_optional(pool).await
    })?;
    Ok(row.map(StoredUser::from))
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<StoredUser>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username_canonical = $1");
    let row: Option<Row> = with_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(canonical(username))
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(StoredUser::from))
}

pub async fn list(db: &Db) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY created_at, LOWER(username)");
    let rows: Vec<Row> = with_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(|r| StoredUser::from(r).user).collect())
}

/// Sets the user's new password hash (and whether it must be changed at the next sign-in) and,
/// in the same transaction as its audit line, ends their browser sessions (but `keep_sid`, the
/// session of a user changing their own password) and revokes every refresh token and the
/// access tokens issued with them: whoever knew the old password is out at once. False if no
/// such user.
pub async fn set_password_hash(
    db: &Db,
    sub: &str,
    password_hash: &str,
    must_change: bool,
    keep_sid: Option<&str>,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    Ok(with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = $4 \
             WHERE sub = $1",
        )
        .bind(sub)
        .bind(password_hash)
        .bind(must_change)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 1 {
            end_access!(tx, sub, keep_sid, now);
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        }
        done == 1
    }))
}

/// Ends everything the user `sub` is signed in with, in one transaction with its audit line:
/// every browser session and every refresh token (with the access tokens issued with them).
/// False if there is no such user.
pub async fn sign_out_everywhere(
    db: &Db,
    sub: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    Ok(with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let found: Option<String> = sqlx::query_scalar("SELECT sub FROM users WHERE sub = $1")
            .bind(sub)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_some() {
            end_access!(tx, sub, None::<&str>, now);
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        }
        found.is_some()
    }))
}

/// Within `$tx`: deletes the user's browser sessions (all, or all but the session `$keep_sid`)
/// and revokes their refresh tokens, offline ones included.
macro_rules! end_access {
    ($tx:ident, $sub:expr, $keep_sid:expr, $now:expr) => {{
        let keep: Option<&str> = $keep_sid;
        sqlx::query(
            "DELETE FROM sessions WHERE sub = $1 AND (sid IS NULL OR $2 IS NULL OR sid <> $2)",
        )
        .bind($sub)
        .bind(keep)
        .execute(&mut *$tx)
        .await?;
        let revoke = sqlx::query_as(super::refresh_tokens::REVOKE_ALL_OF_USER)
            .bind($sub)
            .bind($now);
        super::refresh_tokens::revoke_issued!($tx, revoke, $now);
    }};
}
use end_access;

/// Replaces `old` with `new` only if `old` is still the stored hash, so upgrading the hash at
/// sign-in can never undo a password change made meanwhile. The user's `updated_at` is kept:
/// nothing they can see has changed.
pub async fn upgrade_password_hash(
    db: &Db,
    sub: &str,
    old: &str,
    new: &str,
) -> Result<bool, StoreError> {
    let done = with_pool!(db, pool => {
        sqlx::query("UPDATE users SET password_hash = $3 WHERE sub = $1 AND password_hash = $2")
            .bind(sub)
            .bind(old)
            .bind(new)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?;
    Ok(done == 1)
}

/// Enables or disables a user; returns the user as now stored, None if there is none.
/// Disabling also ends the user's browser sessions and revokes their refresh tokens, in the
/// same transaction as its audit line, so enabling them again revives nothing.
pub async fn set_disabled(
    db: &Db,
    username: &str,
    disabled: bool,
    now: i64,
    audit: &AuditEvent,
) -> Result<Option<User>, StoreError> {
    let sql = format!(
        "UPDATE users SET disabled = $2, updated_at = $3 WHERE username_canonical = $1 \
         RETURNING {COLUMNS}"
    );
    let row: Option<Row> = with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(canonical(username))
            .bind(disabled)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = &row {
            if disabled {
                end_access!(tx, &r.sub, None::<&str>, now);
            }
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        }
        row
    });
    Ok(row.map(|r| StoredUser::from(r).user))
}

/// Fills in the canonical form of usernames stored without one (by migration 0010, or by an
/// older instance during a rolling upgrade). Refuses, naming them, when two accounts share a
/// form: which of them a sign-in should reach is for an admin to decide, not for the upgrade.
pub async fn fill_canonical(db: &Db) -> Result<(), StoreError> {
    let missing: Option<i32> = with_pool!(db, pool => {
        sqlx::query_scalar("SELECT 1 FROM users WHERE username_canonical IS NULL LIMIT 1")
            .fetch_optional(pool)
            .await
    })?;
    if missing.is_none() {
        return Ok(());
    }
    let rows: Vec<(String, String, Option<String>)> = with_pool!(db, pool => {
        sqlx::query_as("SELECT sub, username, username_canonical FROM users ORDER BY username")
            .fetch_all(pool)
            .await
    })?;
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    let mut clashes = Vec::new();
    for (_, username, _) in &rows {
        if let Some(first) = seen.insert(canonical(username), username) {
            clashes.push(format!("{first:?} and {username:?}"));
        }
    }
    if !clashes.is_empty() {
        return Err(StoreError::Corrupt(format!(
            "usernames are now compared ignoring letter case and Unicode compatibility forms, \
             and these accounts would share a name: {}. Rename or delete one of each pair in \
             the database (table users), then start again",
            clashes.join("; ")
        )));
    }
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for (sub, username, _) in rows.iter().filter(|r| r.2.is_none()) {
            sqlx::query(
                "UPDATE users SET username_canonical = $2 \
                 WHERE sub = $1 AND username_canonical IS NULL",
            )
            .bind(sub)
            .bind(canonical(username))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}
