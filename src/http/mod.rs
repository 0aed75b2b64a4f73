//! HTTP: the router, its layers and the handlers. Handlers only translate between HTTP and the
//! domain (`oauth`, `oidc`, `service`).

mod admin;
mod admin_api;
pub mod client_ip;
mod cors;
mod extract;
mod health;
mod home;
mod log;
pub mod oauth;
mod oidc;
pub mod session;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;

use crate::state::Core;

pub type AppState = Arc<Core>;

/// The console: every handler takes the `Admin` extractor, so each page checks the role.
fn admin_pages() -> Router<AppState> {
    use admin::{audit, clients, home, keys, password, resources, users};
    Router::new()
        .route("/admin", get(home))
        .route(password::PATH, get(password::show).post(password::submit))
        .route("/admin/clients", get(clients::list).post(clients::create))
        .route("/admin/clients/new", get(clients::new))
        .route(
            "/admin/clients/{id}",
            get(clients::edit).post(clients::update),
        )
        .route("/admin/clients/{id}/rotate", post(clients::rotate))
        .route("/admin/clients/{id}/delete", post(clients::delete))
        .route(
            "/admin/resources",
            get(resources::list).post(resources::create),
        )
        .route("/admin/resources/new", get(resources::new))
        .route("/admin/resources/edit", get(resources::edit))
        .route("/admin/resources/update", post(resources::update))
        .route("/admin/resources/delete", post(resources::delete))
        .route("/admin/users", get(users::list).post(users::create))
        .route("/admin/users/new", get(users::new))
        .route("/admin/users/{sub}", get(users::show).post(users::update))
        .route("/admin/users/{sub}/password", post(users::set_password))
        .route("/admin/users/{sub}/claims", post(users::set_claims))
        .route("/admin/users/{sub}/disabled", post(users::set_disabled))
        .route("/admin/users/{sub}/revoke", post(users::revoke))
        .route("/admin/keys", get(keys::list))
        .route("/admin/keys/rotate", post(keys::rotate))
        .route("/admin/keys/retire", post(keys::retire))
        .route("/admin/lockouts", get(keys::lockouts))
        .route("/admin/lockouts/clear", post(keys::clear_lockout))
        .route("/admin/audit", get(audit::list))
        .route("/admin/audit/{id}", get(audit::show))
}

/// An unknown path: the HTML 404 page under the pages or for a browser, else the protocol
/// endpoints' JSON.
async fn not_found(req: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    if ui::error::wants_page(&req) {
        ui::error::not_found().into_response()
    } else {
        oauth::error::not_found().await.into_response()
    }
}

pub fn router(state: AppState) -> Router {
    // Browser apps call these three; /introspect is for servers and sends no CORS headers.
    let browser_callable = Router::new()
        .route("/token", post(oauth::token::token).options(cors::preflight))
        .route(
            "/revoke",
            post(oauth::revoke::revoke).options(cors::preflight),
        )
        .route(
            "/userinfo",
            get(oidc::userinfo::userinfo)
                .post(oidc::userinfo::userinfo)
                .options(cors::preflight),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cors::errors,
        ));
    let protocol = Router::new()
        .merge(browser_callable)
        .route("/introspect", post(oauth::introspect::introspect))
        .method_not_allowed_fallback(oauth::error::method_not_allowed);
    let public = Router::new()
        .route("/jwks.json", get(oidc::jwks::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oidc::discovery::metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            get(oidc::discovery::metadata),
        )
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([axum::http::Method::GET]),
        )
        .method_not_allowed_fallback(oauth::error::method_not_allowed);
    let session_layer = session::layer(&state.config, state.session_store());
    let pages = Router::new()
        .route(
            "/authorize",
            get(ui::authorize::authorize).post(ui::authorize::authorize),
        )
        .route("/login", get(ui::login::show).post(ui::login::submit))
        .route("/consent", get(ui::consent::show).post(ui::consent::submit))
        .route("/logout", get(ui::logout::logout).post(ui::logout::logout))
        .merge(admin_pages())
        .method_not_allowed_fallback(ui::error::method_not_allowed)
        .layer(session_layer)
        // Inside the catch-all below: a page that panics answers with the HTML 500 page.
        .layer(CatchPanicLayer::custom(ui::error::panicked));
    Router::new()
        .merge(protocol)
        .merge(public)
        .merge(pages)
        .nest("/admin/api", admin_api::router(&state))
        .route("/", get(home::page))
        .route("/static/{name}", get(ui::statics::file))
        .route("/metrics", get(health::metrics))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(extract::refuse_nul))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            log::access_log,
        ))
        // Outside the access log, whose request id the error pages show.
        .layer(axum::middleware::from_fn(ui::error::error_pages))
        .layer(CatchPanicLayer::custom(oauth::error::panic_response))
        .with_state(state)
}
