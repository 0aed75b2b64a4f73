//! Resource servers. Scopes are stored as a JSON array of {name, description}.

use sqlx::FromRow;

use super::audit::insert_event;
use super::{Db, StoreError, with_pool};
use crate::model::{AuditEvent, Resource, ScopeDef};

#[derive(FromRow)]
struct Row {
    identifier: String,
    name: String,
    scopes: String,
    signing_alg: String,
    access_token_ttl: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<Row> for Resource {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        let scopes: Vec<ScopeDef> = serde_json::from_str(&r.scopes)
            .map_err(|e| StoreError::Corrupt(format!("resource {} scopes: {e}", r.identifier)))?;
        let signing_alg = r
            .signing_alg
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("resource {}: {e}", r.identifier)))?;
        Ok(Resource {
            identifier: r.identifier,
            name: r.name,
            scopes,
            signing_alg,
            access_token_ttl: r.access_token_ttl,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str =
    "identifier, name, scopes, signing_alg, access_token_ttl, created_at, updated_at";

fn scopes_json(resource: &Resource) -> Result<String, StoreError> {
    serde_json::to_string(&resource.scopes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Inserts the resource and its audit line in one transaction.
pub async fn insert(db: &Db, r: &Resource, audit: &AuditEvent) -> Result<(), StoreError> {
    let scopes = scopes_json(r)?;
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO resources (identifier, name, scopes, signing_alg, access_token_ttl, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.identifier)
        .bind(&r.name)
        .bind(&scopes)
        .bind(r.signing_alg.as_str())
        .bind(r.access_token_ttl)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(&mut *tx)
        .await?;
        insert_event!(&mut *tx, audit)?;
        tx.commit().await?;
    });
    Ok(())
}

/// Returns false (and writes nothing) when no such resource exists.
pub async fn update(db: &Db, r: &Resource, audit: &AuditEvent) -> Result<bool, StoreError> {
    let scopes = scopes_json(r)?;
    let done = with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(
            "UPDATE resources SET name = $2, scopes = $3, signing_alg = $4, \
             access_token_ttl = $5, updated_at = $6 WHERE identifier = $1",
        )
        .bind(&r.identifier)
        .bind(&r.name)
        .bind(&scopes)
        .bind(r.signing_alg.as_str())
        .bind(r.access_token_ttl)
        .bind(r.updated_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 1 {
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        }
        done
    });
    Ok(done == 1)
}

pub async fn get(db: &Db, identifier: &str) -> Result<Option<Resource>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM resources WHERE identifier = $1");
    let row: Option<Row> = with_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(identifier).fetch_optional(pool).await
    })?;
    row.map(Resource::try_from).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<Resource>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM resources ORDER BY identifier");
    let rows: Vec<Row> = with_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await
    })?;
    rows.into_iter().map(Resource::try_from).collect()
}

/// Deleting a resource removes its grants (cascade) and clears clients' defaults.
pub async fn delete(db: &Db, identifier: &str, audit: &AuditEvent) -> Result<bool, StoreError> {
    let done = with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let done = sqlx::query("DELETE FROM resources WHERE identifier = $1")
            .bind(identifier)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 1 {
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        }
        done
    });
    Ok(done == 1)
}

/// The longest access-token lifetime of any resource or client override, for deciding when
/// retired keys can go.
pub async fn max_access_token_ttl(db: &Db) -> Result<i64, StoreError> {
    let (resources, clients): (Option<i64>, Option<i64>) = with_pool!(db, pool => {
        let r = sqlx::query_scalar("SELECT MAX(access_token_ttl) FROM resources")
            .fetch_one(pool)
            .await?;
        let c = sqlx::query_scalar("SELECT MAX(access_token_ttl) FROM clients")
            .fetch_one(pool)
            .await?;
        (r, c)
    });
    Ok(resources.unwrap_or(0).max(clients.unwrap_or(0)))
}
