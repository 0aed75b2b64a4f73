//! `/lockouts`: failed-login counters and the delays they impose, cleared by key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, Items};
use crate::http::AppState;
use crate::model::LoginFailure;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_lockouts))
        .routes(routes!(clear_lockout))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LockoutPath {
    /// `account:<username>`, `ip:<address>`, or a bare username.
    key: String,
}

#[utoipa::path(get, path = "/lockouts", tag = "lockouts",
    responses((status = 200, description = "Every counter", body = Items<LoginFailure>)))]
async fn list_lockouts(
    State(state): State<AppState>,
) -> Result<Json<Items<LoginFailure>>, ApiError> {
    Ok(Json(Items {
        items: state.lockouts().await?,
    }))
}

#[utoipa::path(delete, path = "/lockouts/{key}", tag = "lockouts", params(LockoutPath),
    responses(
        (status = 204, description = "Cleared: the next attempt is not delayed"),
        (status = 404, description = "No such counter", body = ErrorBody)))]
async fn clear_lockout(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(LockoutPath { key }): ApiPath<LockoutPath>,
) -> Result<StatusCode, ApiError> {
    state.clear_lockout(&key, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
