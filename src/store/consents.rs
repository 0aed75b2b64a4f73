//! Remembered consent per user and client (OIDC Core §3.1.2.4).

use super::{Db, StoreError, with_pool};

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
