//! `/users`: people who sign in, addressed by their `sub`, with what they hold: browser
//! sessions, remembered consents and refresh-token families.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, Cursor, Items, Page, PageQuery, nullable};
use crate::http::AppState;
use crate::model::Consent;
use crate::model::Family;
use crate::model::SessionInfo;
use crate::model::{User, UserClaims};
use crate::service::users::UserSpec;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(set_user_password))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(list_user_sessions))
        .routes(routes!(end_user_session))
        .routes(routes!(sign_out_everywhere))
        .routes(routes!(list_user_consents))
        .routes(routes!(revoke_user_consent))
        .routes(routes!(list_user_refresh_families))
        .routes(routes!(revoke_user_refresh_family))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user's subject identifier.
    sub: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionPath {
    sub: String,
    /// The session id (`sid`).
    sid: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConsentPath {
    sub: String,
    /// The client the consent was given to.
    client_id: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FamilyPath {
    sub: String,
    family_id: String,
}

async fn user(state: &AppState, sub: &str) -> Result<User, ApiError> {
    state
        .user_by_sub(sub)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {sub} not found")))
}

/// A user to create. No `Debug`: it holds a password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 1–64 characters of `A-Z a-z 0-9 . _ @ -`, unique ignoring case.
    username: String,
    /// At least `passwords.min_length` (12) characters, at most 256 bytes.
    password: String,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    name: Option<String>,
    /// May use the admin console.
    #[serde(default)]
    admin: bool,
    /// The other standard claims (OIDC Core §5.1).
    #[serde(default)]
    claims: UserClaims,
}

/// What to change; absent fields stay as they are, `null` clears `email` or `name`. A new
/// email address is unverified unless `email_verified` says otherwise.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    email_verified: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    admin: Option<bool>,
    /// Replaces all the standard claims (OIDC Core §5.1) at once; absent: unchanged.
    claims: Option<UserClaims>,
}

/// No `Debug`: it holds a password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    password: String,
}

#[utoipa::path(get, path = "/users", tag = "users", params(PageQuery),
    responses(
        (status = 200, description = "One page, ordered by username then sub", body = Page<User>),
        (status = 422, description = "A query parameter is refused", body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    let limit = query.limit()?;
    let items = state
        .user_page(query.prefix(), query.after()?, limit)
        .await?;
    Ok(Json(Page::of(items, limit, |u: &User| Cursor {
        after: u.username.clone(),
        after_id: u.sub.clone(),
    })))
}

#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 409, description = "The username is taken", body = ErrorBody),
        (status = 422, description = "A value is refused", body = ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let spec = UserSpec {
        username: body.username,
        email: body.email,
        email_verified: body.email_verified,
        name: body.name,
        admin: body.admin,
        claims: body.claims,
    };
    let user = state
        .create_user(spec, &body.password, &caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(get, path = "/users/{sub}", tag = "users", params(UserPath),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    ApiPath(UserPath { sub }): ApiPath<UserPath>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(user(&state, &sub).await?))
}

#[utoipa::path(patch, path = "/users/{sub}", tag = "users", params(UserPath),
    request_body = UserChanges,
    responses(
        (status = 200, description = "Changed", body = User),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A value is refused", body = ErrorBody)))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(UserPath { sub }): ApiPath<UserPath>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> Result<Json<User>, ApiError> {
    let current = user(&state, &sub).await?;
    let email_changed = changes.email.as_ref().is_some_and(|e| *e != current.email);
    let email = changes.email.unwrap_or(current.email);
    let email_verified = changes
        .email_verified
        .unwrap_or(current.email_verified && !email_changed);
    let name = changes.name.unwrap_or(current.name);
    let admin = changes.admin.unwrap_or(current.admin);
    let updated = state
        .update_user_profile(&sub, email, email_verified, name, admin, &caller.actor())
        .await?;
    match changes.claims {
        Some(claims) => Ok(Json(
            state
                .update_user_claims(&sub, claims, &caller.actor())
                .await?,
        )),
        None => Ok(Json(updated)),
    }
}

#[utoipa::path(put, path = "/users/{sub}/password", tag = "users", params(UserPath),
    request_body = NewPassword,
    responses(
        (status = 204, description = "Replaced"),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "The password policy refuses it", body = ErrorBody)))]
async fn set_user_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(UserPath { sub }): ApiPath<UserPath>,
    ApiJson(body): ApiJson<NewPassword>,
) -> Result<StatusCode, ApiError> {
    let user = user(&state, &sub).await?;
    state
        .set_user_password(&user.username, &body.password, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Shared by disable and enable.
async fn set_disabled(
    state: &AppState,
    caller: &Caller,
    sub: &str,
    disabled: bool,
) -> Result<Json<User>, ApiError> {
    let user = user(state, sub).await?;
    Ok(Json(
        state
            .set_user_disabled(&user.username, disabled, &caller.actor())
            .await?,
    ))
}

#[utoipa::path(post, path = "/users/{sub}/disable", tag = "users", params(UserPath),
    responses(
        (status = 200, description = "Disabled: no more sign-ins; refresh tokens stop working \
            and access tokens are inactive at introspection", body = User),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(UserPath { sub }): ApiPath<UserPath>,
) -> Result<Json<User>, ApiError> {
    set_disabled(&state, &caller, &sub, true).await
}

#[utoipa::path(post, path = "/users/{sub}/enable", tag = "users", params(UserPath),
    responses(
        (status = 200, description = "Enabled", body = User),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn enable_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(UserPath { sub }): ApiPath<UserPath>,
) -> Result<Json<User>, ApiError> {
    set_disabled(&state, &caller, &sub, false).await
}

#[utoipa::path(get, path = "/users/{sub}/sessions", tag = "users", params(UserPath),
    responses(
        (status = 200, description = "Live browser sessions", body = Items<SessionInfo>),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn list_user_sessions(
    State(state): State<AppState>,
    ApiPath(UserPath { sub }): ApiPath<UserPath>,
) -> Result<Json<Items<SessionInfo>>, ApiError> {
    let user = user(&state, &sub).await?;
    let items = state.user_grants(&user.sub).await?.sessions;
    Ok(Json(Items { items }))
}

#[utoipa::path(delete, path = "/users/{sub}/sessions/{sid}", tag = "users", params(SessionPath),
    responses(
        (status = 204, description = "Ended, with the refresh tokens bound to it"),
        (status = 404, description = "No such user or session", body = ErrorBody)))]
async fn end_user_session(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(SessionPath { sub, sid }): ApiPath<SessionPath>,
) -> Result<StatusCode, ApiError> {
    let user = user(&state, &sub).await?;
    state.end_user_session(&user, &sid, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/users/{sub}/sign-out", tag = "users", params(UserPath),
    responses(
        (status = 204, description = "Signed out everywhere: every browser session ended, every \
            refresh token (offline ones too) and the access tokens issued with them revoked"),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn sign_out_everywhere(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(UserPath { sub }): ApiPath<UserPath>,
) -> Result<StatusCode, ApiError> {
    state.sign_out_everywhere(&sub, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/users/{sub}/consents", tag = "users", params(UserPath),
    responses(
        (status = 200, description = "Remembered consents", body = Items<Consent>),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn list_user_consents(
    State(state): State<AppState>,
    ApiPath(UserPath { sub }): ApiPath<UserPath>,
) -> Result<Json<Items<Consent>>, ApiError> {
    let user = user(&state, &sub).await?;
    let items = state.user_grants(&user.sub).await?.consents;
    Ok(Json(Items { items }))
}

#[utoipa::path(delete, path = "/users/{sub}/consents/{client_id}", tag = "users",
    params(ConsentPath),
    responses(
        (status = 204, description = "Withdrawn: the next sign-in at the client asks again"),
        (status = 404, description = "No such user or consent", body = ErrorBody)))]
async fn revoke_user_consent(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ConsentPath { sub, client_id }): ApiPath<ConsentPath>,
) -> Result<StatusCode, ApiError> {
    let user = user(&state, &sub).await?;
    state
        .revoke_user_consent(&user, &client_id, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/users/{sub}/refresh-families", tag = "users", params(UserPath),
    responses(
        (status = 200, description = "Live refresh-token families", body = Items<Family>),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn list_user_refresh_families(
    State(state): State<AppState>,
    ApiPath(UserPath { sub }): ApiPath<UserPath>,
) -> Result<Json<Items<Family>>, ApiError> {
    let user = user(&state, &sub).await?;
    let items = state.user_grants(&user.sub).await?.families;
    Ok(Json(Items { items }))
}

#[utoipa::path(delete, path = "/users/{sub}/refresh-families/{family_id}", tag = "users",
    params(FamilyPath),
    responses(
        (status = 204, description = "Revoked, with the access tokens issued in it"),
        (status = 404, description = "No such user or live family", body = ErrorBody)))]
async fn revoke_user_refresh_family(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(FamilyPath { sub, family_id }): ApiPath<FamilyPath>,
) -> Result<StatusCode, ApiError> {
    let user = user(&state, &sub).await?;
    state
        .revoke_user_family(&user, &family_id, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
