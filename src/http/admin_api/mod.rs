//! The JSON admin API under `/admin/api`: the same service calls as the CLI and the console,
//! for automation. It is a resource of its own (`{issuer}/admin/api`): every route but the
//! OpenAPI document needs a client-credentials token for it with `tessera:admin` (see `auth`).
//! The OpenAPI 3.1 document at `/admin/api/openapi.json` is generated from the handlers'
//! annotations, so it lists exactly the routes served.

mod audit;
mod auth;
mod clients;
pub(super) mod error;
mod extract;
mod keys;
mod lockouts;
mod resources;
mod users;

use axum::Json;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::security::{ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme};
use utoipa::openapi::{Response as ApiResponse, Server};
use utoipa_axum::router::OpenApiRouter;

use self::error::{ApiError, ErrorBody};
use super::AppState;
use super::oauth::error::no_store;
use crate::oauth::defaults::ADMIN_SCOPE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        description = "Manage resources, clients, users, signing keys and login lockouts, and \
            read the audit log. Get a token from the token endpoint with the client_credentials \
            grant, resource={issuer}/admin/api and scope=tessera:admin, as a client registered \
            with admin_api. Every call is audited with the calling client's id."
    ),
    tags(
        (name = "resources", description = "Resource servers (APIs) and their scopes"),
        (name = "clients", description = "Client registrations and their secrets"),
        (name = "users", description = "Users and their sessions, consents and refresh tokens"),
        (name = "keys", description = "Signing keys"),
        (name = "lockouts", description = "Failed-login counters and delays"),
        (name = "audit", description = "The audit log"),
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// The admin API's routes, to nest at `/admin/api`.
pub fn router(state: &AppState) -> Router<AppState> {
    let (routes, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(resources::routes())
        .merge(clients::routes())
        .merge(users::routes())
        .merge(keys::routes())
        .merge(lockouts::routes())
        .merge(audit::routes())
        .split_for_parts();
    describe(&mut doc, state.issuer());
    routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc) }
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(api_response))
}

/// What depends on the issuer (servers, token URL), and the answers every operation may give
/// because of its token.
fn describe(doc: &mut utoipa::openapi::OpenApi, issuer: &str) {
    doc.servers = Some(vec![Server::new(format!("{issuer}/admin/api"))]);
    let scopes = Scopes::one(ADMIN_SCOPE, "Manage Tessera (admin API clients only)");
    let flow = Flow::ClientCredentials(ClientCredentials::new(format!("{issuer}/token"), scopes));
    doc.components
        .get_or_insert_default()
        .add_security_scheme("oauth2", SecurityScheme::OAuth2(OAuth2::new([flow])));
    doc.security = Some(vec![SecurityRequirement::new("oauth2", [ADMIN_SCOPE])]);
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            token_answers(operation);
        }
    }
}

/// RFC 6750 §3.1.
fn token_answers(operation: &mut Operation) {
    let answers = [
        (
            "401",
            "No token (a bare `WWW-Authenticate: Bearer` challenge), or an invalid, expired, \
             revoked or foreign token, or its client is disabled or no longer admin_api \
             (`invalid_token`)",
        ),
        (
            "403",
            "The token does not grant tessera:admin (`insufficient_scope`)",
        ),
    ];
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| ApiResponse::new(description).into());
    }
}

/// Admin data is never cached (RFC 9111 §5.2.2.5).
async fn api_response(mut response: Response) -> Response {
    no_store(&mut response);
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such admin API endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::bad_request(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed",
    )
}
