//! `/keys`: the signing keys, listed as published (never a private part), rotated per
//! algorithm, retired by kid.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, Items};
use crate::http::AppState;
use crate::model::SigningAlg;
use crate::oauth::keys::KeyInfo;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys))
        .routes(routes!(rotate_key))
        .routes(routes!(retire_key))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    alg: SigningAlg,
    /// Rotate even though the next key has been published for less than one JWKS max-age
    /// (verifiers that cached the JWKS before may reject its tokens for a while).
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KeyPath {
    /// The key id.
    kid: String,
}

#[utoipa::path(get, path = "/keys", tag = "keys",
    responses((status = 200, description = "Every published key, as this instance last loaded \
        them (keys are re-read every 30 s)", body = Items<KeyInfo>)))]
async fn list_keys(State(state): State<AppState>) -> Json<Items<KeyInfo>> {
    Json(Items {
        items: state.keys.current().info.clone(),
    })
}

#[utoipa::path(post, path = "/keys/rotate", tag = "keys", request_body = KeyRotation,
    responses(
        (status = 200, description = "The next key now signs; the old one is retired, still \
            published; a new next key is published", body = KeyInfo),
        (status = 409, description = "The next key is too new (retry later or force)", body = ErrorBody),
        (status = 422, description = "A value is refused", body = ErrorBody)))]
async fn rotate_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(rotation): ApiJson<KeyRotation>,
) -> Result<Json<KeyInfo>, ApiError> {
    let key = state
        .rotate_key(rotation.alg, rotation.force, &caller.actor())
        .await?;
    Ok(Json(key))
}

#[utoipa::path(post, path = "/keys/{kid}/retire", tag = "keys", params(KeyPath),
    responses(
        (status = 204, description = "An active key is replaced by its next key at once; a \
            retired key is unpublished, so tokens it signed stop verifying"),
        (status = 404, description = "No such key", body = ErrorBody),
        (status = 409, description = "A next key cannot be retired: rotate instead", body = ErrorBody)))]
async fn retire_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(KeyPath { kid }): ApiPath<KeyPath>,
) -> Result<StatusCode, ApiError> {
    state.retire_key(&kid, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
