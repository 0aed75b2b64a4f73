//! Remembered consent per user and client (OIDC Core §3.1.2.4).

use super::audit::execute_audited;
use super::{Db, StoreError, with_pool};
use crate::model::{AuditEvent, Consent};

pub async fn list_of(db: &Db, sub: &str) -> Result<Vec<Consent>, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT client_id, scope, updated_at FROM consents WHERE sub = $1 ORDER BY client_id",
        )
        .bind(sub)
        .fetch_all(pool)
        .await
    })?)
}

/// An admin withdraws a consent (the next sign-in to that client asks again). False if there
/// was none; the audit line commits with the deletion.
pub async fn delete(
    db: &Db,
    sub: &str,
    client_id: &str,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let done = execute_audited!(db, Some(audit), tx => sqlx::query(
        "DELETE FROM consents WHERE sub = $1 AND client_id = $2",
    )
    .bind(sub)
    .bind(client_id));
    Ok(done == 1)
}

pub async fn get(db: &Db, sub: &str, client_id: &str) -> Result<Option<String>, StoreError> {
    Ok(with_pool!(db, pool => {
        sqlx::query_scalar("SELECT scope FROM consents WHERE sub = $1 AND client_id = $2")
            .bind(sub)
            .bind(client_id)
            .fetch_optional(pool)
            .await
    })?)
}

/// Stores the consented scopes (the caller passes the union with what was consented before).
pub async fn put(
    db: &Db,
    sub: &str,
    client_id: &str,
    scope: &str,
    now: i64,
) -> Result<(), StoreError> {
    with_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO consents (sub, client_id, scope, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sub, client_id) DO UPDATE SET scope = excluded.scope, \
             updated_at = excluded.updated_at",
        )
        .bind(sub)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(())
}
