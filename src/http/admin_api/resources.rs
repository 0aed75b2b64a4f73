//! `/resources`: resource servers (APIs). A resource is addressed by its identifier as one
//! percent-encoded path segment: `/resources/https%3A%2F%2Fapi.example.com%2Forders`.

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
use crate::model::{Resource, ScopeDef, SigningAlg};
use crate::service::resources::ResourceSpec;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_resources, create_resource))
        .routes(routes!(get_resource, update_resource, delete_resource))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ResourcePath {
    /// The resource identifier as one percent-encoded segment (`/` as `%2F`).
    identifier: String,
}

/// A resource to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResource {
    /// The `aud` of its tokens: an absolute URI without a fragment (RFC 8707 §2).
    identifier: String,
    /// Shown on consent pages; defaults to the identifier.
    name: Option<String>,
    /// The scopes it defines, each with the words a consent page shows.
    #[serde(default)]
    scopes: Vec<ScopeDef>,
    /// Default ES256.
    signing_alg: Option<SigningAlg>,
    /// Access-token lifetime in seconds: 1–86400, default 600.
    access_token_ttl: Option<i64>,
}

/// What to change; absent fields stay as they are. `scopes` replaces the whole list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceChanges {
    name: Option<String>,
    scopes: Option<Vec<ScopeDef>>,
    signing_alg: Option<SigningAlg>,
    access_token_ttl: Option<i64>,
}

#[utoipa::path(get, path = "/resources", tag = "resources",
    responses((status = 200, description = "Every resource", body = Items<Resource>)))]
async fn list_resources(State(state): State<AppState>) -> Result<Json<Items<Resource>>, ApiError> {
    Ok(Json(Items {
        items: state.resources().await?,
    }))
}

#[utoipa::path(post, path = "/resources", tag = "resources", request_body = NewResource,
    responses(
        (status = 201, description = "Registered", body = Resource),
        (status = 409, description = "The identifier is taken", body = ErrorBody),
        (status = 422, description = "A value is refused", body = ErrorBody)))]
async fn create_resource(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewResource>,
) -> Result<(StatusCode, Json<Resource>), ApiError> {
    let mut spec = ResourceSpec::new(body.identifier);
    if let Some(name) = body.name {
        spec.name = name;
    }
    spec.scopes = body.scopes;
    if let Some(alg) = body.signing_alg {
        spec.signing_alg = alg;
    }
    if let Some(ttl) = body.access_token_ttl {
        spec.access_token_ttl = ttl;
    }
    let resource = state.create_resource(spec, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(resource)))
}

#[utoipa::path(get, path = "/resources/{identifier}", tag = "resources",
    params(ResourcePath),
    responses(
        (status = 200, description = "The resource", body = Resource),
        (status = 404, description = "No such resource", body = ErrorBody)))]
async fn get_resource(
    State(state): State<AppState>,
    ApiPath(ResourcePath { identifier }): ApiPath<ResourcePath>,
) -> Result<Json<Resource>, ApiError> {
    Ok(Json(state.resource(&identifier).await?))
}

#[utoipa::path(patch, path = "/resources/{identifier}", tag = "resources",
    params(ResourcePath),
    request_body = ResourceChanges,
    responses(
        (status = 200, description = "Changed", body = Resource),
        (status = 404, description = "No such resource", body = ErrorBody),
        (status = 409, description = "The admin API's own resource cannot be changed", body = ErrorBody),
        (status = 422, description = "A value is refused", body = ErrorBody)))]
async fn update_resource(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ResourcePath { identifier }): ApiPath<ResourcePath>,
    ApiJson(changes): ApiJson<ResourceChanges>,
) -> Result<Json<Resource>, ApiError> {
    let mut spec = ResourceSpec::from_resource(&state.resource(&identifier).await?);
    if let Some(name) = changes.name {
        spec.name = name;
    }
    if let Some(scopes) = changes.scopes {
        spec.scopes = scopes;
    }
    if let Some(alg) = changes.signing_alg {
        spec.signing_alg = alg;
    }
    if let Some(ttl) = changes.access_token_ttl {
        spec.access_token_ttl = ttl;
    }
    Ok(Json(state.update_resource(spec, &caller.actor()).await?))
}

#[utoipa::path(delete, path = "/resources/{identifier}", tag = "resources",
    params(ResourcePath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such resource", body = ErrorBody),
        (status = 409, description = "The admin API's own resource cannot be deleted", body = ErrorBody)))]
async fn delete_resource(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ResourcePath { identifier }): ApiPath<ResourcePath>,
) -> Result<StatusCode, ApiError> {
    state.delete_resource(&identifier, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
