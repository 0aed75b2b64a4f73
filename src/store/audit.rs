//! The audit log. Admin changes insert their event inside the change's own transaction with
//! [`insert_event!`]; security events arrive in batches from the audit writer.

use sqlx::FromRow;

use super::{Db, StoreError, with_pool};
use crate::model::{AuditEvent, Outcome, StoredEvent};

pub(crate) const INSERT: &str = "INSERT INTO audit_events (at, kind, actor, client_id, ip, \
    outcome, target, detail, count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Inserts one event on `$conn` (a transaction or connection of either database), so an admin
/// change and its audit line commit or roll back together.
macro_rules! insert_event {
    ($conn:expr, $event:expr) => {{
        let event: &$crate::model::AuditEvent = $event;
        sqlx::query($crate::store::audit::INSERT)
            .bind(event.at)
            .bind(&event.kind)
            .bind(&event.actor)
            .bind(&event.client_id)
            .bind(&event.ip)
            .bind(event.outcome.as_str())
            .bind(&event.target)
            .bind(event.detail.as_ref().map(|d| d.to_string()))
            .bind(event.count)
            .execute($conn)
            .await
    }};
}
pub(crate) use insert_event;

/// Writes a batch in one transaction.
pub async fn insert_batch(db: &Db, events: &[AuditEvent]) -> Result<(), StoreError> {
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for event in events {
            self::insert_event!(&mut *tx, event)?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// Which events to list; every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Exact kind, or a family when it ends with `.` (`client.` matches `client.created`).
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub client_id: Option<String>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    at: i64,
    kind: String,
    actor: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    outcome: String,
    target: Option<String>,
    detail: Option<String>,
    count: i64,
}

impl TryFrom<Row> for StoredEvent {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("audit event {}: {what}", r.id));
        let outcome = Outcome::parse(&r.outcome).ok_or_else(|| corrupt("unknown outcome"))?;
        let detail = match &r.detail {
            Some(d) => Some(serde_json::from_str(d).map_err(|_| corrupt("malformed detail"))?),
            None => None,
        };
        Ok(StoredEvent {
            id: r.id,
            event: AuditEvent {
                at: r.at,
                kind: r.kind,
                actor: r.actor,
                client_id: r.client_id,
                ip: r.ip,
                outcome,
                target: r.target,
                detail,
                count: r.count,
            },
        })
    }
}

/// Newest first, at most `limit` events with an id below `before` (keyset pagination).
pub async fn list(
    db: &Db,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    // Only the conditions in use go into the statement, so each filter can use its index.
    let mut sql = String::from(
        "SELECT id, at, kind, actor, client_id, ip, outcome, target, detail, count \
         FROM audit_events WHERE 1 = 1",
    );
    let mut text: Vec<String> = Vec::new();
    let mut numbers: Vec<i64> = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if let Some(kind) = &filter.kind {
        match kind.strip_suffix('.') {
            Some(family) => {
                sql.push_str(&format!(" AND kind LIKE ${} ESCAPE '\\'", next()));
                text.push(format!("{}.%", super::like_escape(family)));
            }
            None => {
                sql.push_str(&format!(" AND kind = ${}", next()));
                text.push(kind.clone());
            }
        }
    }
    if let Some(actor) = &filter.actor {
        sql.push_str(&format!(" AND actor = ${}", next()));
        text.push(actor.clone());
    }
    if let Some(client) = &filter.client_id {
        sql.push_str(&format!(" AND client_id = ${}", next()));
        text.push(client.clone());
    }
    for (value, op) in [(filter.from, ">="), (filter.until, "<")] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND at {op} ${}", next()));
            numbers.push(v);
        }
    }
    if let Some(b) = before {
        sql.push_str(&format!(" AND id < ${}", next()));
        numbers.push(b);
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", next()));
    numbers.push(limit);
    let rows: Vec<Row> = with_pool!(db, pool => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for t in &text {
            q = q.bind(t);
        }
        for v in &numbers {
            q = q.bind(*v);
        }
        q.fetch_all(pool).await
    })?;
    rows.into_iter().map(StoredEvent::try_from).collect()
}

/// Deletes events older than `before` (the retention job); returns how many went.
pub async fn purge_before(db: &Db, before: i64) -> Result<u64, StoreError> {
    let done = with_pool!(db, pool => {
        sqlx::query("DELETE FROM audit_events WHERE at < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?;
    Ok(done)
}
