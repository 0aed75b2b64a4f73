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
use super::extract::{ApiJson, ApiPath, ApiQuery, Cursor, Page, PageQuery, nullable};
use crate::http::AppState;
use crate::model::{ApplicationType, AuthMethod, Client, GrantType, Scope, SigningAlg};
use crate::service::ServiceError;
use crate::service::clients::ClientSpec;

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

/// Reads a space-delimited scope field (RFC 6749 §3.3).
fn scope(raw: &str, field: &'static str) -> Result<Scope, ApiError> {
    Scope::parse(raw)
        .ok_or_else(|| ApiError::invalid(field, "space-separated scope names (RFC 6749 §3.3)"))
}

/// A client to register. Only `name` is required; the rest default as `tessera clients
/// create` does: a confidential client_credentials client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    name: String,
    /// A public client (browser or native app) has no secret.
    #[serde(default)]
    public: bool,
    /// Default: client_secret_basic (confidential) or none (public).
    auth_method: Option<AuthMethod>,
    /// Default: client_credentials (confidential) or authorization_code (public).
    #[serde(default)]
    grant_types: Vec<GrantType>,
    /// Granted resource identifiers. The admin API's own resource needs `admin_api`.
    #[serde(default)]
    resources: Vec<String>,
    /// Space-delimited scopes granted on those resources; default: all the scopes they define.
    scopes: Option<String>,
    /// Default: the only granted resource, if there is one.
    default_resource: Option<String>,
    /// Space-delimited; default: the default resource's granted scopes (never tessera:admin).
    default_scopes: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    /// Seconds; overrides the resource's access-token lifetime.
    access_token_ttl: Option<i64>,
    /// The resource this client introspects tokens for (RFC 7662 §4).
    resource_server_for: Option<String>,
    /// Default web.
    application_type: Option<ApplicationType>,
    /// Default RS256.
    id_token_alg: Option<SigningAlg>,
    #[serde(default)]
    first_party: bool,
    /// Default true (RFC 9700 §2.1.1).
    pkce_required: Option<bool>,
    #[serde(default)]
    offline_preauthorized: bool,
    /// May be granted the admin API (`tessera:admin`).
    #[serde(default)]
    admin_api: bool,
    refresh_idle_ttl: Option<i64>,
    refresh_absolute_ttl: Option<i64>,
    id_token_ttl: Option<i64>,
    refresh_grace_seconds: Option<i64>,
    #[serde(default)]
    disabled: bool,
}

impl NewClient {
    fn spec(self) -> Result<ClientSpec, ApiError> {
        let mut spec = ClientSpec::new(self.name);
        spec.public = self.public;
        spec.auth_method = self.auth_method;
        spec.grant_types = self.grant_types;
        spec.resources = self.resources;
        spec.scopes = self.scopes.map(|s| scope(&s, "scopes")).transpose()?;
        spec.default_resource = self.default_resource;
        spec.default_scopes = self
            .default_scopes
            .map(|s| scope(&s, "default_scopes"))
            .transpose()?;
        spec.redirect_uris = self.redirect_uris;
        spec.post_logout_redirect_uris = self.post_logout_redirect_uris;
        spec.allowed_origins = self.allowed_origins;
        spec.access_token_ttl = self.access_token_ttl;
        spec.resource_server_for = self.resource_server_for;
        spec.application_type = self.application_type.unwrap_or(spec.application_type);
        spec.id_token_alg = self.id_token_alg.unwrap_or(spec.id_token_alg);
        spec.first_party = self.first_party;
        spec.pkce_required = self.pkce_required.unwrap_or(spec.pkce_required);
        spec.offline_preauthorized = self.offline_preauthorized;
        spec.admin_api = self.admin_api;
        spec.refresh_idle_ttl = self.refresh_idle_ttl;
        spec.refresh_absolute_ttl = self.refresh_absolute_ttl;
        spec.id_token_ttl = self.id_token_ttl;
        spec.refresh_grace_seconds = self.refresh_grace_seconds;
        spec.disabled = self.disabled;
        Ok(spec)
    }
}

/// What to change; absent fields stay as they are, `null` clears an optional one. Lists replace
/// the whole list. `scopes` is the flat set of granted scope names: it is kept when `resources`
/// changes (so nothing is granted by surprise) and `null` grants every scope of the resources.
/// `"disabled": true` disables the client: its tokens stop working at once.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChanges {
    name: Option<String>,
    auth_method: Option<AuthMethod>,
    grant_types: Option<Vec<GrantType>>,
    resources: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    scopes: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    default_resource: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    default_scopes: Option<Option<String>>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    access_token_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    resource_server_for: Option<Option<String>>,
    application_type: Option<ApplicationType>,
    id_token_alg: Option<SigningAlg>,
    first_party: Option<bool>,
    pkce_required: Option<bool>,
    offline_preauthorized: Option<bool>,
    admin_api: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    refresh_idle_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    refresh_absolute_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    id_token_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    refresh_grace_seconds: Option<Option<i64>>,
    disabled: Option<bool>,
}

/// Sets `target` when the change is present.
fn set<T>(target: &mut T, change: Option<T>) {
    if let Some(value) = change {
        *target = value;
    }
}

impl ClientChanges {
    fn apply(self, spec: &mut ClientSpec) -> Result<(), ApiError> {
        set(&mut spec.name, self.name);
        set(&mut spec.auth_method, self.auth_method.map(Some));
        set(&mut spec.grant_types, self.grant_types);
        set(&mut spec.resources, self.resources);
        if let Some(raw) = self.scopes {
            spec.scopes = raw.map(|s| scope(&s, "scopes")).transpose()?;
        }
        set(&mut spec.default_resource, self.default_resource);
        if let Some(raw) = self.default_scopes {
            spec.default_scopes = raw.map(|s| scope(&s, "default_scopes")).transpose()?;
        }
        set(&mut spec.redirect_uris, self.redirect_uris);
        set(
            &mut spec.post_logout_redirect_uris,
            self.post_logout_redirect_uris,
        );
        set(&mut spec.allowed_origins, self.allowed_origins);
        set(&mut spec.access_token_ttl, self.access_token_ttl);
        set(&mut spec.resource_server_for, self.resource_server_for);
        set(&mut spec.application_type, self.application_type);
        set(&mut spec.id_token_alg, self.id_token_alg);
        set(&mut spec.first_party, self.first_party);
        set(&mut spec.pkce_required, self.pkce_required);
        set(&mut spec.offline_preauthorized, self.offline_preauthorized);
        set(&mut spec.admin_api, self.admin_api);
        set(&mut spec.refresh_idle_ttl, self.refresh_idle_ttl);
        set(&mut spec.refresh_absolute_ttl, self.refresh_absolute_ttl);
        set(&mut spec.id_token_ttl, self.id_token_ttl);
        set(&mut spec.refresh_grace_seconds, self.refresh_grace_seconds);
        set(&mut spec.disabled, self.disabled);
        Ok(())
    }
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

#[utoipa::path(post, path = "/clients", tag = "clients", request_body = NewClient,
    responses(
        (status = 201, description = "Registered; the secret is shown this once", body = Registration),
        (status = 422, description = "A value is refused", body = ErrorBody)))]
async fn create_client(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewClient>,
) -> Result<(StatusCode, Json<Registration>), ApiError> {
    let registered = state.create_client(body.spec()?, &caller.actor()).await?;
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
    request_body = ClientChanges,
    responses(
        (status = 200, description = "Changed", body = Client),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 422, description = "A value is refused", body = ErrorBody)))]
async fn update_client(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ClientPath { client_id }): ApiPath<ClientPath>,
    ApiJson(changes): ApiJson<ClientChanges>,
) -> Result<Json<Client>, ApiError> {
    let mut spec = ClientSpec::from_client(&state.client(&client_id).await?);
    changes.apply(&mut spec)?;
    Ok(Json(
        state
            .update_client(&client_id, spec, &caller.actor())
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
