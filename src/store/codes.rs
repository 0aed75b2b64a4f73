//! Authorization codes (RFC 6749 §4.1.2): stored by hash, redeemed by one atomic UPDATE so that
//! concurrent redemptions succeed at most once.

use sqlx::FromRow;

use super::{Db, StoreError, with_pool};

#[derive(Debug, Clone, FromRow)]
pub struct CodeRow {
    pub code_hash: String,
    pub client_id: String,
    pub sub: String,
    pub redirect_uri: String,
    pub redirect_uri_sent: bool,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
    pub resource: Option<String>,
    pub auth_time: i64,
    pub sid: String,
    pub expires_at: i64,
}

pub async fn insert(db: &Db, c: &CodeRow) -> Result<(), StoreError> {
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, client_id, sub, redirect_uri, \
             redirect_uri_sent, code_challenge, nonce, scope, resource, auth_time, sid, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(&c.sub)
        .bind(&c.redirect_uri)
        .bind(c.redirect_uri_sent)
        .bind(&c.code_challenge)
        .bind(&c.nonce)
        .bind(&c.scope)
        .bind(&c.resource)
        .bind(c.auth_time)
        .bind(&c.sid)
        .bind(c.expires_at)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum Redeemed {
    /// First use: the code's data, now marked used.
    Fresh(CodeRow),
    /// Already used: the access token and refresh family issued from it (to revoke).
    Replayed {
        jti: Option<String>,
        exp: Option<i64>,
        family: Option<String>,
    },
    Unknown,
}

/// What the first redemption is about to issue, recorded with the redemption itself.
pub struct Issued<'a> {
    pub jti: &'a str,
    pub exp: i64,
    pub family: &'a str,
}

/// Marks the code used and records the tokens about to be issued, in one statement; only one
/// concurrent caller can win it (RFC 6749 §4.1.2: a code is used once).
pub async fn redeem(
    db: &Db,
    code_hash: &str,
    now: i64,
    issued: Issued<'_>,
) -> Result<Redeemed, StoreError> {
    let row: Option<CodeRow> = with_pool!(db, pool => {
        sqlx::query_as(
            "UPDATE authorization_codes SET consumed_at = $2, issued_jti = $3, issued_exp = $4, \
             issued_family = $5 WHERE code_hash = $1 AND consumed_at IS NULL \
             RETURNING code_hash, client_id, sub, redirect_uri, redirect_uri_sent, code_challenge, \
             nonce, scope, resource, auth_time, sid, expires_at",
        )
        .bind(code_hash)
        .bind(now)
        .bind(issued.jti)
        .bind(issued.exp)
        .bind(issued.family)
        .fetch_optional(pool)
        .await
    })?;
    if let Some(row) = row {
        return Ok(Redeemed::Fresh(row));
    }
    let used: Option<(Option<String>, Option<i64>, Option<String>)> = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT issued_jti, issued_exp, issued_family FROM authorization_codes \
             WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(pool)
        .await
    })?;
    Ok(match used {
        Some((jti, exp, family)) => Redeemed::Replayed { jti, exp, family },
        None => Redeemed::Unknown,
    })
}

/// Codes live 60 s; keep used ones a day so a late replay is still recognised and answered by
/// revoking what was issued.
pub async fn purge(db: &Db, now: i64) -> Result<u64, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
            .bind(now - 86_400)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?)
}
