//! `/clients`: registrations, addressed by client_id. A confidential client's secret is in the
//! answer to its creation or rotation only; afterwards only a keyed hash exists.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, Cursor, Page, PageQuery};
use crate::http::AppState;
use crate::model::Client;
use crate::service::ServiceError;
use crate::service::clients::{ClientPatch, ClientSpec};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, update_client, delete_client))
        .routes(routes!(rotate_client_secret))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClientPath {
    /// The client's id.
    client_id: String,
}

/// A registration; `client_secret` is shown this once (null for public clients).
#[derive(Debug, Serialize, ToSchema)]
pub struct Registration {
    client: Client,
    client_secret: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRotation {
    /// Seconds the old secret keeps working (0–2592000, default 0: it stops at once).
    overlap_seconds: Option<i64>,
}

/// A new secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    client_id: String,
    client_secret: String,
    /// Until when the previous secret still works, if there is an overlap.
    previous_secret_expires_at: Option<i64>,
}

#[utoipa::path(get, path = "/clients", tag = "clients", params(PageQuery),
    responses(
        (status = 200, description = "One page, ordered by name then client_id", body = Page<Client>),
        (status = 422, description = "A query parameter is refused", body = ErrorBody)))]
async fn list_clients(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<Client>>, ApiError> {
    let limit = query.limit()?;
    let items = state
        .client_page(query.prefix(), query.after()?, limit)
        .await?;
    Ok(Json(Page::of(items, limit, |c: &Client| Cursor {
        after: c.name.clone(),
        after_id: c.client_id.0.clone(),
    })))
}

#[utoipa::path(post, path = "/clients", tag = "clients", request_body = ClientSpec,
    responses(
        (status = 201, description = "Registered; the secret is shown this once", body = Registration),
        (status = 422, description = "A value is refused", body = ErrorBody)))]
async fn create_client(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(spec): ApiJson<ClientSpec>,
) -> Result<(StatusCode, Json<Registration>), ApiError> {
    let registered = state.create_client(spec, &caller.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(Registration {
            client: registered.client,
            client_secret: registered.secret,
        }),
    ))
}

#[utoipa::path(get, path = "/clients/{client_id}", tag = "clients", params(ClientPath),
    responses(
        (status = 200, description = "The client", body = Client),
        (status = 404, description = "No such client", body = ErrorBody)))]
async fn get_client(
    State(state): State<AppState>,
    ApiPath(ClientPath { client_id }): ApiPath<ClientPath>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(state.client(&client_id).await?))
}

#[utoipa::path(patch, path = "/clients/{client_id}", tag = "clients", params(ClientPath),
    request_body = ClientPatch,
    responses(
        (status = 200, description = "Changed", body = Client),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 422, description = "A value is refused", body = ErrorBody)))]
async fn update_client(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ClientPath { client_id }): ApiPath<ClientPath>,
    ApiJson(patch): ApiJson<ClientPatch>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(
        state
            .patch_client(&client_id, patch, &caller.actor())
            .await?,
    ))
}

#[utoipa::path(post, path = "/clients/{client_id}/secret", tag = "clients", params(ClientPath),
    request_body = SecretRotation,
    responses(
        (status = 200, description = "The new secret, shown this once", body = NewSecret),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 422, description = "A public client, or the overlap is refused", body = ErrorBody)))]
async fn rotate_client_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ClientPath { client_id }): ApiPath<ClientPath>,
    ApiJson(rotation): ApiJson<SecretRotation>,
) -> Result<Json<NewSecret>, ApiError> {
    let overlap = rotation.overlap_seconds.unwrap_or(0);
    let secret = state
        .rotate_client_secret(&client_id, overlap, &caller.actor())
        .await
        .map_err(|e| match e {
            // The service names its argument; the caller sent it as overlap_seconds.
            ServiceError::Invalid {
                field: "overlap",
                message,
            } => ApiError::invalid("overlap_seconds", message),
            e => e.into(),
        })?;
    let client = state.client(&client_id).await?;
    Ok(Json(NewSecret {
        client_id,
        client_secret: secret,
        previous_secret_expires_at: client.previous_secret_expires_at,
    }))
}

#[utoipa::path(delete, path = "/clients/{client_id}", tag = "clients", params(ClientPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such client", body = ErrorBody)))]
async fn delete_client(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ClientPath { client_id }): ApiPath<ClientPath>,
) -> Result<StatusCode, ApiError> {
    state.delete_client(&client_id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
