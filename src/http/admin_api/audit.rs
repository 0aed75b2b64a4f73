//! `/audit-events`: the audit log, newest first, filtered, paged backwards by event id.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use crate::http::AppState;
use crate::model::AuditFilter;
use crate::model::StoredEvent;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}

/// Rows per page unless `limit` says otherwise.
const DEFAULT_LIMIT: i64 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// An exact kind (`client.created`), or a family ending with a dot (`client.`).
    kind: Option<String>,
    /// An admin's username, a client_id, a username typed at sign-in, or `system`.
    actor: Option<String>,
    /// The client involved.
    client: Option<String>,
    /// Unix seconds, inclusive.
    from: Option<i64>,
    /// Unix seconds, exclusive.
    until: Option<i64>,
    /// `next.before` of the previous page: only events older than this id.
    before: Option<i64>,
    /// 1–10000, default 100.
    limit: Option<i64>,
}

/// Where the next (older) page starts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Before {
    before: i64,
}

/// One page of events, newest first. `next` is null when the page is not full.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    items: Vec<StoredEvent>,
    next: Option<Before>,
}

#[utoipa::path(get, path = "/audit-events", tag = "audit", params(EventQuery),
    responses(
        (status = 200, description = "One page of events, newest first", body = EventPage),
        (status = 422, description = "A query parameter is refused", body = ErrorBody)))]
async fn list_audit_events(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let filter = AuditFilter {
        kind: query.kind.filter(|k| !k.is_empty()),
        actor: query.actor.filter(|a| !a.is_empty()),
        client_id: query.client.filter(|c| !c.is_empty()),
        from: query.from,
        until: query.until,
    };
    let items = state.audit_events(&filter, query.before, limit).await?;
    let full = i64::try_from(items.len()).is_ok_and(|n| n >= limit);
    let next = items
        .last()
        .filter(|_| full)
        .map(|e| Before { before: e.id });
    Ok(Json(EventPage { items, next }))
}
