//! The audit log page: newest first, filtered by kind (or family, `client.`), actor, client
//! and time, one keyset page at a time.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Admin, PAGE_SIZE};
use crate::http::AppState;
use crate::http::ui::{PageError, render};
use crate::model::{StoredEvent, User};
use crate::store::audit::Filter;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    kind: Option<String>,
    actor: Option<String>,
    client: Option<String>,
    /// `YYYY-MM-DD` (UTC), inclusive.
    from: Option<String>,
    /// `YYYY-MM-DD` (UTC), inclusive.
    until: Option<String>,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    admin: &'a User,
    section: &'static str,
    q: &'a AuditQuery,
    events: &'a [StoredEvent],
    next: Option<String>,
    error: Option<&'a str>,
}

fn blank(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Midnight UTC of a `YYYY-MM-DD` date, in unix seconds.
fn day(raw: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw.trim(), &format)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

impl AuditQuery {
    pub fn text(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or_default()
    }
}

pub async fn list(
    admin: Admin,
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let mut error = None;
    let mut bound = |raw: &Option<String>, shift: i64| match blank(raw) {
        None => None,
        Some(d) => match day(&d) {
            Some(t) => Some(t + shift),
            None => {
                error = Some("Dates are written YYYY-MM-DD (UTC).");
                None
            }
        },
    };
    let filter = Filter {
        kind: blank(&q.kind),
        actor: blank(&q.actor),
        client_id: blank(&q.client),
        from: bound(&q.from, 0),
        until: bound(&q.until, 86_400),
    };
    let events = state.audit_events(&filter, q.before, PAGE_SIZE).await?;
    let next = (events.len() as i64 == PAGE_SIZE)
        .then(|| events.last())
        .flatten()
        .map(|last| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in [
                ("kind", &q.kind),
                ("actor", &q.actor),
                ("client", &q.client),
                ("from", &q.from),
                ("until", &q.until),
            ] {
                if let Some(v) = blank(value) {
                    query.append_pair(name, &v);
                }
            }
            query.append_pair("before", &last.id.to_string());
            query.finish()
        });
    render(
        StatusCode::OK,
        &AuditPage {
            admin: &admin.user,
            section: "audit",
            q: &q,
            events: &events,
            next,
            error,
        },
    )
}
