//! The audit log. Admin changes insert their event inside the change's own transaction with
//! [`insert_event!`]; security events arrive in batches from the audit writer.

use std::collections::HashMap;

use sqlx::FromRow;

use super::{Db, StoreError, with_pool};
use crate::model::{AuditEvent, AuditFilter, Outcome, StoredEvent};

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

/// Executes `$query` (built on the transaction `$tx`) and, when it changed a row, writes the
/// optional audit line and commits; otherwise rolls back. Evaluates to the rows affected.
macro_rules! execute_audited {
    ($db:expr, $audit:expr, $tx:ident => $query:expr) => {
        $crate::store::with_pool!($db, pool => {
            let mut $tx = pool.begin().await?;
            let done = $query.execute(&mut *$tx).await?.rows_affected();
            if done > 0 {
                let audit: Option<&$crate::model::AuditEvent> = $audit;
                if let Some(audit) = audit {
                    $crate::store::audit::insert_event!(&mut *$tx, audit)?;
                }
                $tx.commit().await?;
            }
            done
        })
    };
}
pub(crate) use execute_audited;

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
    filter: &AuditFilter,
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

/// One event by its id.
pub async fn get(db: &Db, id: i64) -> Result<Option<StoredEvent>, StoreError> {
    let row: Option<Row> = with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, at, kind, actor, client_id, ip, outcome, target, detail, count \
             FROM audit_events WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await
    })?;
    row.map(StoredEvent::try_from).transpose()
}

/// The clients and users that a page of events refers to, as they are now; an id that is not
/// in a map was deleted (or never existed: failed attempts record what the caller typed).
#[derive(Debug, Default)]
pub struct Names {
    /// client_id → name.
    pub clients: HashMap<String, String>,
    /// sub → (sub, username).
    pub subs: HashMap<String, (String, String)>,
    /// Canonical username → (sub, username).
    pub usernames: HashMap<String, (String, String)>,
}

/// Looks up the names behind `client_ids`, `subs` and canonical usernames: one statement for
/// the clients and one for the users, whatever the number of events.
pub async fn names(
    db: &Db,
    client_ids: &[String],
    subs: &[String],
    canonical_usernames: &[String],
) -> Result<Names, StoreError> {
    let mut names = Names::default();
    if !client_ids.is_empty() {
        let sql = format!(
            "SELECT client_id, name FROM clients WHERE client_id IN ({})",
            placeholders(1, client_ids.len())
        );
        let rows: Vec<(String, String)> = with_pool!(db, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in client_ids {
                q = q.bind(id);
            }
            q.fetch_all(pool).await
        })?;
        names.clients = rows.into_iter().collect();
    }
    if !subs.is_empty() || !canonical_usernames.is_empty() {
        // `IN ()` is not valid SQL: an empty list becomes a list with one value no row has.
        let none = [String::new()];
        let subs = if subs.is_empty() { &none[..] } else { subs };
        let canonical = if canonical_usernames.is_empty() {
            &none[..]
        } else {
            canonical_usernames
        };
        let sql = format!(
            "SELECT sub, username, username_canonical FROM users \
             WHERE sub IN ({}) OR username_canonical IN ({})",
            placeholders(1, subs.len()),
            placeholders(subs.len() + 1, canonical.len())
        );
        let rows: Vec<(String, String, Option<String>)> = with_pool!(db, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for v in subs.iter().chain(canonical) {
                q = q.bind(v);
            }
            q.fetch_all(pool).await
        })?;
        for (sub, username, canonical) in rows {
            if let Some(c) = canonical {
                names.usernames.insert(c, (sub.clone(), username.clone()));
            }
            names.subs.insert(sub.clone(), (sub, username));
        }
    }
    Ok(names)
}

/// `$first, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
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
