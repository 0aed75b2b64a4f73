//! Clients and their grants (resource + scopes). A client and its grants are written in one
//! transaction so a reader never sees half a registration.

use sqlx::FromRow;

use super::audit::{execute_audited, insert_event};
use super::{Db, StoreError, with_pool};
use crate::model::{AuditEvent, Client, ClientGrant, ClientId, Scope, origins_of};

#[derive(FromRow)]
struct Row {
    client_id: String,
    name: String,
    public: bool,
    application_type: String,
    auth_method: String,
    grant_types: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    allowed_origins: String,
    default_resource: Option<String>,
    default_scopes: String,
    access_token_ttl: Option<i64>,
    resource_server_for: Option<String>,
    id_token_alg: String,
    first_party: bool,
    pkce_required: bool,
    offline_preauthorized: bool,
    admin_api: bool,
    refresh_idle_ttl: Option<i64>,
    refresh_absolute_ttl: Option<i64>,
    id_token_ttl: Option<i64>,
    refresh_grace_seconds: Option<i64>,
    default_max_age: Option<i64>,
    secret_hash: Option<String>,
    previous_secret_hash: Option<String>,
    previous_secret_expires_at: Option<i64>,
    disabled: bool,
    created_at: i64,
    updated_at: i64,
}

#[derive(FromRow)]
struct GrantRow {
    client_id: String,
    resource: String,
    scopes: String,
}

const COLUMNS: &str = "client_id, name, public, application_type, auth_method, grant_types, \
    redirect_uris, post_logout_redirect_uris, allowed_origins, default_resource, default_scopes, access_token_ttl, resource_server_for, \
    id_token_alg, first_party, pkce_required, offline_preauthorized, refresh_idle_ttl, \
    refresh_absolute_ttl, id_token_ttl, refresh_grace_seconds, secret_hash, previous_secret_hash, \
    previous_secret_expires_at, disabled, created_at, updated_at, admin_api, default_max_age";

fn corrupt(id: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("client {id}: {what}"))
}

fn scope(id: &str, raw: &str) -> Result<Scope, StoreError> {
    Scope::parse(raw).ok_or_else(|| corrupt(id, "malformed scope"))
}

fn to_client(r: Row, grants: Vec<GrantRow>) -> Result<Client, StoreError> {
    let id = r.client_id.as_str();
    let grant_types = r
        .grant_types
        .split(' ')
        .filter(|g| !g.is_empty())
        .map(|g| g.parse().map_err(|e| corrupt(id, e)))
        .collect::<Result<_, _>>()?;
    let grants = grants
        .into_iter()
        .map(|g| {
            Ok(ClientGrant {
                scopes: scope(id, &g.scopes)?,
                resource: g.resource,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Client {
        application_type: r.application_type.parse().map_err(|e| corrupt(id, e))?,
        id_token_alg: r.id_token_alg.parse().map_err(|e| corrupt(id, e))?,
        first_party: r.first_party,
        pkce_required: r.pkce_required,
        offline_preauthorized: r.offline_preauthorized,
        admin_api: r.admin_api,
        refresh_idle_ttl: r.refresh_idle_ttl,
        refresh_absolute_ttl: r.refresh_absolute_ttl,
        id_token_ttl: r.id_token_ttl,
        refresh_grace_seconds: r.refresh_grace_seconds,
        default_max_age: r.default_max_age,
        auth_method: r.auth_method.parse().map_err(|e| corrupt(id, e))?,
        grant_types,
        redirect_uris: serde_json::from_str(&r.redirect_uris).map_err(|e| corrupt(id, e))?,
        post_logout_redirect_uris: serde_json::from_str(&r.post_logout_redirect_uris)
            .map_err(|e| corrupt(id, e))?,
        allowed_origins: serde_json::from_str(&r.allowed_origins).map_err(|e| corrupt(id, e))?,
        grants,
        default_scopes: scope(id, &r.default_scopes)?,
        name: r.name,
        public: r.public,
        default_resource: r.default_resource,
        access_token_ttl: r.access_token_ttl,
        resource_server_for: r.resource_server_for,
        secret_hash: r.secret_hash,
        previous_secret_hash: r.previous_secret_hash,
        previous_secret_expires_at: r.previous_secret_expires_at,
        disabled: r.disabled,
        created_at: r.created_at,
        updated_at: r.updated_at,
        client_id: ClientId(r.client_id),
    })
}

fn json_list(list: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(list).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A setting's value as written to its column.
enum Value {
    Text(String),
    OptText(Option<String>),
    Int(Option<i64>),
    Bool(bool),
}

/// Every column an admin's change writes, with its value: the one list the insert and the
/// update share (a new setting is one line here, plus its column in [`COLUMNS`] and [`Row`]).
fn settings(c: &Client) -> Result<Vec<(&'static str, Value)>, StoreError> {
    use Value::{Bool, Int, OptText, Text};
    let grant_types: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
    Ok(vec![
        ("name", Text(c.name.clone())),
        ("public", Bool(c.public)),
        ("auth_method", Text(c.auth_method.as_str().to_owned())),
        ("grant_types", Text(grant_types.join(" "))),
        ("redirect_uris", Text(json_list(&c.redirect_uris)?)),
        ("default_resource", OptText(c.default_resource.clone())),
        ("default_scopes", Text(c.default_scopes.to_string())),
        ("access_token_ttl", Int(c.access_token_ttl)),
        (
            "resource_server_for",
            OptText(c.resource_server_for.clone()),
        ),
        ("disabled", Bool(c.disabled)),
        ("updated_at", Int(Some(c.updated_at))),
        (
            "application_type",
            Text(c.application_type.as_str().to_owned()),
        ),
        ("id_token_alg", Text(c.id_token_alg.as_str().to_owned())),
        ("first_party", Bool(c.first_party)),
        ("pkce_required", Bool(c.pkce_required)),
        ("offline_preauthorized", Bool(c.offline_preauthorized)),
        ("refresh_idle_ttl", Int(c.refresh_idle_ttl)),
        ("refresh_absolute_ttl", Int(c.refresh_absolute_ttl)),
        ("id_token_ttl", Int(c.id_token_ttl)),
        (
            "post_logout_redirect_uris",
            Text(json_list(&c.post_logout_redirect_uris)?),
        ),
        ("allowed_origins", Text(json_list(&c.allowed_origins)?)),
        ("refresh_grace_seconds", Int(c.refresh_grace_seconds)),
        ("admin_api", Bool(c.admin_api)),
        ("default_max_age", Int(c.default_max_age)),
    ])
}

/// Binds each value in order to the query's next placeholder.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for (_, value) in $values {
            query = match value {
                Value::Text(v) => query.bind(v),
                Value::OptText(v) => query.bind(v),
                Value::Int(v) => query.bind(v),
                Value::Bool(v) => query.bind(v),
            };
        }
        query
    }};
}

/// `INSERT INTO clients`: the id, the secrets and the creation time, then every setting.
fn insert_sql(settings: &[(&'static str, Value)]) -> String {
    let columns: Vec<&str> = settings.iter().map(|(c, _)| *c).collect();
    let placeholders: Vec<String> = (1..=columns.len() + 5).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO clients (client_id, secret_hash, previous_secret_hash, \
         previous_secret_expires_at, created_at, {}) VALUES ({})",
        columns.join(", "),
        placeholders.join(", ")
    )
}

/// `UPDATE clients`: every setting of the client `$1`.
fn update_sql(settings: &[(&'static str, Value)]) -> String {
    let assignments: Vec<String> = settings
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("{column} = ${}", i + 2))
        .collect();
    format!(
        "UPDATE clients SET {} WHERE client_id = $1",
        assignments.join(", ")
    )
}

/// Writes the client's grants, replacing any it had. Runs inside the caller's transaction.
macro_rules! replace_grants {
    ($tx:expr, $c:expr) => {{
        sqlx::query("DELETE FROM client_grants WHERE client_id = $1")
            .bind(&$c.client_id.0)
            .execute(&mut *$tx)
            .await?;
        for g in &$c.grants {
            sqlx::query(
                "INSERT INTO client_grants (client_id, resource, scopes) VALUES ($1, $2, $3)",
            )
            .bind(&$c.client_id.0)
            .bind(&g.resource)
            .bind(g.scopes.to_string())
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// Writes the client's browser origins into the origin index (migration 0012), replacing any
/// it had, and marks the client indexed. Runs inside the caller's transaction; `ON CONFLICT`
/// because two instances may index the same old client at start.
macro_rules! replace_origins {
    ($tx:expr, $id:expr, $origins:expr) => {{
        sqlx::query("DELETE FROM client_origins WHERE client_id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await?;
        for origin in $origins {
            sqlx::query(
                "INSERT INTO client_origins (origin, client_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(origin)
            .bind($id)
            .execute(&mut *$tx)
            .await?;
        }
        sqlx::query("UPDATE clients SET origins_indexed = TRUE WHERE client_id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// Inserts the client, its grants and its audit line in one transaction.
pub async fn insert(db: &Db, c: &Client, audit: &AuditEvent) -> Result<(), StoreError> {
    let settings = settings(c)?;
    let sql = insert_sql(&settings);
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&c.client_id.0)
            .bind(&c.secret_hash)
            .bind(&c.previous_secret_hash)
            .bind(c.previous_secret_expires_at)
            .bind(c.created_at);
        bind_values!(query, settings).execute(&mut *tx).await?;
        replace_grants!(tx, c);
        replace_origins!(tx, &c.client_id.0, &c.origins());
        insert_event!(&mut *tx, audit)?;
        tx.commit().await?;
    });
    Ok(())
}

/// Replaces everything but the id, the secrets and the creation time, with its audit line.
/// False (and nothing written) if no such client.
pub async fn update(db: &Db, c: &Client, audit: &AuditEvent) -> Result<bool, StoreError> {
    let settings = settings(c)?;
    let sql = update_sql(&settings);
    let found = with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&c.client_id.0);
        let done = bind_values!(query, settings).execute(&mut *tx).await?;
        if done.rows_affected() == 1 {
            replace_grants!(tx, c);
            replace_origins!(tx, &c.client_id.0, &c.origins());
            insert_event!(&mut *tx, audit)?;
            tx.commit().await?;
        }
        done.rows_affected() == 1
    });
    Ok(found)
}

/// Stores a new secret hash, keeping the previous one until `previous_expires_at` (or dropping
/// it when that is None). A rotation carries its audit line; a re-hash under a new master key
/// changes nothing an admin did and has none.
pub async fn set_secret(
    db: &Db,
    id: &ClientId,
    hash: &str,
    previous: Option<(&str, i64)>,
    now: i64,
    audit: Option<&AuditEvent>,
) -> Result<bool, StoreError> {
    let done = execute_audited!(db, audit, tx => sqlx::query(
        "UPDATE clients SET secret_hash = $2, previous_secret_hash = $3, \
         previous_secret_expires_at = $4, updated_at = $5 WHERE client_id = $1",
    )
    .bind(&id.0)
    .bind(hash)
    .bind(previous.map(|p| p.0))
    .bind(previous.map(|p| p.1))
    .bind(now));
    Ok(done == 1)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Client>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE client_id = $1");
    let (row, grants): (Option<Row>, Vec<GrantRow>) = with_pool!(db, pool => {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?;
        let grants = sqlx::query_as(
            "SELECT client_id, resource, scopes FROM client_grants WHERE client_id = $1 \
             ORDER BY resource",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        (row, grants)
    });
    row.map(|r| to_client(r, grants)).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<Client>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY created_at, client_id");
    let (rows, mut grants): (Vec<Row>, Vec<GrantRow>) = with_pool!(db, pool => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
        let grants = sqlx::query_as(
            "SELECT client_id, resource, scopes FROM client_grants ORDER BY client_id, resource",
        )
        .fetch_all(pool)
        .await?;
        (rows, grants)
    });
    rows.into_iter()
        .map(|r| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                grants.drain(..).partition(|g| g.client_id == r.client_id);
            grants = rest;
            to_client(r, mine)
        })
        .collect()
}

/// Whether an enabled client allows the browser `origin` (CORS): one primary-key lookup in the
/// origin index, however many clients there are.
pub async fn origin_allowed(db: &Db, origin: &str) -> Result<bool, StoreError> {
    let found: Option<i32> = with_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT 1 FROM client_origins o JOIN clients c ON c.client_id = o.client_id \
             WHERE o.origin = $1 AND NOT c.disabled LIMIT 1",
        )
        .bind(origin)
        .fetch_optional(pool)
        .await
    })?;
    Ok(found.is_some())
}

/// A stored JSON list; a corrupt one (which reading the client reports) indexes nothing, so
/// the start goes on and the client is marked indexed rather than retried forever.
fn json_or_empty(id: &str, raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_else(|e| {
        tracing::warn!(client_id = id, error = %e, "client with a corrupt origin list: not indexed");
        Vec::new()
    })
}

/// Clients indexed per transaction by [`index_origins`].
const INDEX_BATCH: i64 = 500;

/// Puts the origins of clients written before the origin index existed into it (at start,
/// after the migrations; a no-op once every client is marked indexed).
pub async fn index_origins(db: &Db) -> Result<(), StoreError> {
    loop {
        let done = with_pool!(db, pool => {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT client_id, redirect_uris, allowed_origins FROM clients \
                 WHERE NOT origins_indexed ORDER BY client_id LIMIT $1",
            )
            .bind(INDEX_BATCH)
            .fetch_all(pool)
            .await?;
            let mut tx = pool.begin().await?;
            for (id, uris, explicit) in &rows {
                replace_origins!(tx, id, &origins_of(&json_or_empty(id, uris), &json_or_empty(id, explicit)));
            }
            tx.commit().await?;
            rows.len() < usize::try_from(INDEX_BATCH).unwrap_or(usize::MAX)
        });
        if done {
            return Ok(());
        }
    }
}

pub async fn delete(db: &Db, id: &str, audit: &AuditEvent) -> Result<bool, StoreError> {
    let done = execute_audited!(db, Some(audit), tx =>
        sqlx::query("DELETE FROM clients WHERE client_id = $1").bind(id));
    Ok(done == 1)
}

/// One page of clients in (lower-cased name, id) order after `after`, optionally narrowed to
/// those whose name or id starts with `prefix` (any letter case). Keyset pagination; what a page
/// costs is in [`super::prefix_page`].
pub async fn page(
    db: &Db,
    prefix: Option<&str>,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<Client>, StoreError> {
    let page = super::prefix_page(
        "clients",
        COLUMNS,
        &["name", "client_id"],
        ("name", "client_id"),
        prefix,
        after,
    );
    let rows: Vec<Row> = super::fetch_page(db, page, limit).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
    let grants_sql = format!(
        "SELECT client_id, resource, scopes FROM client_grants WHERE client_id IN ({}) \
         ORDER BY client_id, resource",
        placeholders.join(", ")
    );
    let mut grants: Vec<GrantRow> = with_pool!(db, pool => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(grants_sql));
        for r in &rows {
            q = q.bind(&r.client_id);
        }
        q.fetch_all(pool).await
    })?;
    rows.into_iter()
        .map(|r| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                grants.drain(..).partition(|g| g.client_id == r.client_id);
            grants = rest;
            to_client(r, mine)
        })
        .collect()
}
