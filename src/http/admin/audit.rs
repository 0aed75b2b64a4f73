//! The audit log page: newest first, filtered by kind (or family, `client.`), actor, client
//! and time, one keyset page at a time; and one event with every field it recorded. Clients
//! and users appear by name, linked to their pages, while they exist.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::{Admin, PAGE_SIZE};
use crate::http::AppState;
use crate::http::ui::{PageError, render};
use crate::model::AuditFilter;
use crate::model::{StoredEvent, User};
use crate::service::audit::names::{EventNames, Named};

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

/// What a path segment keeps as it is: the unreserved characters (RFC 3986 §2.3).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A client or user as the page shows it: the name, linked to its console page while it
/// exists; otherwise what the event recorded, unlinked.
pub struct Shown {
    pub text: String,
    pub href: Option<String>,
    /// The recorded id, when `text` is a name instead.
    pub id: Option<String>,
}

impl From<Named> for Shown {
    fn from(named: Named) -> Self {
        let segment = |s: &str| utf8_percent_encode(s, SEGMENT).to_string();
        match named {
            Named::Client { id, name } => Shown {
                text: name,
                href: Some(format!("/admin/clients/{}", segment(&id))),
                id: Some(id),
            },
            Named::User { sub, username } => Shown {
                text: username,
                href: Some(format!("/admin/users/{}", segment(&sub))),
                id: Some(sub),
            },
            Named::Raw(text) => Shown {
                text,
                href: None,
                id: None,
            },
        }
    }
}

/// One event with its names resolved.
pub struct Row<'a> {
    pub e: &'a StoredEvent,
    pub actor: Option<Shown>,
    pub client: Option<Shown>,
    pub target: Option<Shown>,
}

fn rows(events: &[StoredEvent], names: Vec<EventNames>) -> Vec<Row<'_>> {
    events
        .iter()
        .zip(names)
        .map(|(e, n)| Row {
            e,
            actor: n.actor.map(Shown::from),
            client: n.client.map(Shown::from),
            target: n.target.map(Shown::from),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    admin: &'a User,
    section: &'static str,
    q: &'a AuditQuery,
    rows: Vec<Row<'a>>,
    next: Option<String>,
    dates: DateErrors,
}

/// Which date filters could not be read.
#[derive(Default)]
struct DateErrors {
    from: bool,
    until: bool,
}

#[derive(Template)]
#[template(path = "admin/audit_event.html")]
struct EventPage<'a> {
    admin: &'a User,
    section: &'static str,
    row: Row<'a>,
    /// The detail's top-level fields, strings as they are and other values as JSON.
    detail: Vec<(String, String)>,
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
    // A date that does not parse is shown next to its field and left out of the filter.
    let from = blank(&q.from).map(|d| day(&d));
    let until = blank(&q.until).map(|d| day(&d).map(|t| t + 86_400));
    let dates = DateErrors {
        from: matches!(from, Some(None)),
        until: matches!(until, Some(None)),
    };
    let filter = AuditFilter {
        kind: blank(&q.kind),
        actor: blank(&q.actor),
        client_id: blank(&q.client),
        from: from.flatten(),
        until: until.flatten(),
    };
    let events = state.audit_events(&filter, q.before, PAGE_SIZE).await?;
    let names = state.audit_names(&events).await?;
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
            rows: rows(&events, names),
            next,
            dates,
        },
    )
}

/// `/admin/audit/{id}`: one event, every field it recorded.
pub async fn show(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let gone = || PageError::not_found("There is no such audit event.");
    let id = id.parse::<i64>().map_err(|_| gone())?;
    let events = [state.audit_event(id).await?];
    let names = state.audit_names(&events).await?;
    let detail = detail_fields(events[0].event.detail.as_ref());
    let row = rows(&events, names).pop().ok_or_else(gone)?;
    render(
        StatusCode::OK,
        &EventPage {
            admin: &admin.user,
            section: "audit",
            row,
            detail,
        },
    )
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`: an event's own page shows the second.
pub fn exact(unix: &i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(*unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// An event's JSON detail as (name, value) lines: an object's fields, anything else
/// as one line. Fields in name order, whatever map serde_json was built with.
fn detail_fields(detail: Option<&serde_json::Value>) -> Vec<(String, String)> {
    let plain = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match detail {
        None => Vec::new(),
        Some(serde_json::Value::Object(fields)) => {
            let mut lines: Vec<_> = fields.iter().map(|(k, v)| (k.clone(), plain(v))).collect();
            lines.sort();
            lines
        }
        Some(other) => vec![("value".to_owned(), plain(other))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_lines_keep_strings_plain_and_the_rest_as_json() {
        let detail = serde_json::json!({"reason": "delayed", "failures": 5, "sources": [["a", 1]]});
        assert_eq!(
            detail_fields(Some(&detail)),
            vec![
                ("failures".to_owned(), "5".to_owned()),
                ("reason".to_owned(), "delayed".to_owned()),
                ("sources".to_owned(), "[[\"a\",1]]".to_owned()),
            ]
        );
        assert!(detail_fields(None).is_empty());
        assert_eq!(
            detail_fields(Some(&serde_json::json!([1]))),
            vec![("value".to_owned(), "[1]".to_owned())]
        );
    }

    #[test]
    fn deleted_names_show_the_recorded_id_unlinked() {
        let gone = Shown::from(Named::Raw("c-123".into()));
        assert_eq!((gone.text.as_str(), gone.href), ("c-123", None));
        let client = Shown::from(Named::Client {
            id: "a b/c".into(),
            name: "Orders".into(),
        });
        assert_eq!(client.href.as_deref(), Some("/admin/clients/a%20b%2Fc"));
        assert_eq!(client.text, "Orders");
    }
}
