//! Console pages for signing keys (per algorithm: next, active, retired; rotate; retire) and
//! for login lockouts (list and clear).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{Admin, Fields, confirm, see_other, service_error, when};
use crate::http::AppState;
use crate::http::ui::render;
use crate::model::{SigningAlg, User};
use crate::service::keys::KeyInfo;
use crate::store::login_failures::LoginFailure;

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage<'a> {
    admin: &'a User,
    section: &'static str,
    csrf: &'a str,
    keys: &'a [KeyInfo],
    algs: [&'static str; 3],
    now: i64,
}

pub async fn list(admin: Admin, State(state): State<AppState>) -> Response {
    if let Err(e) = state.reload_keys().await {
        return service_error(e);
    }
    let set = state.keys.current();
    render(
        StatusCode::OK,
        &KeysPage {
            admin: &admin.user,
            section: "keys",
            csrf: &admin.csrf,
            keys: &set.info,
            algs: SigningAlg::ALL.map(SigningAlg::as_str),
            now: state.now(),
        },
    )
}

pub async fn rotate(
    admin: Admin,
    State(state): State<AppState>,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(page) = admin.check(&f).await {
        return page;
    }
    let alg: SigningAlg = match f.get("alg").unwrap_or_default().parse() {
        Ok(a) => a,
        Err(e) => return service_error(crate::service::invalid("alg", e.to_string())),
    };
    if !f.confirmed() {
        return confirm(
            &admin,
            &f,
            &format!("Rotate the {} key?", alg.as_str()),
            "The next key starts signing, the active key retires (still published until its tokens expire) and a new next key is published.",
            "/admin/keys/rotate",
            "Rotate key",
            "/admin/keys",
        );
    }
    match state.rotate_key(alg, false, &admin.actor()).await {
        Ok(_) => see_other("/admin/keys"),
        Err(e) => service_error(e),
    }
}

pub async fn retire(
    admin: Admin,
    State(state): State<AppState>,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(page) = admin.check(&f).await {
        return page;
    }
    let kid = f.get("kid").unwrap_or_default().to_owned();
    if !f.confirmed() {
        return confirm(
            &admin,
            &f,
            "Retire this key now?",
            &format!(
                "Key {kid}: an active key is replaced at once by the next key (verifiers that have not fetched it yet reject new tokens until they refresh the JWKS); a retired key stops being published and the tokens it signed stop verifying. Use this after a compromise."
            ),
            "/admin/keys/retire",
            "Retire key",
            "/admin/keys",
        );
    }
    match state.retire_key(&kid, &admin.actor()).await {
        Ok(()) => see_other("/admin/keys"),
        Err(e) => service_error(e),
    }
}

#[derive(Template)]
#[template(path = "admin/lockouts.html")]
struct LockoutsPage<'a> {
    admin: &'a User,
    section: &'static str,
    csrf: &'a str,
    lockouts: &'a [LoginFailure],
    now: i64,
}

pub async fn lockouts(admin: Admin, State(state): State<AppState>) -> Response {
    match state.lockouts().await {
        Ok(lockouts) => render(
            StatusCode::OK,
            &LockoutsPage {
                admin: &admin.user,
                section: "lockouts",
                csrf: &admin.csrf,
                lockouts: &lockouts,
                now: state.now(),
            },
        ),
        Err(e) => service_error(e),
    }
}

pub async fn clear_lockout(
    admin: Admin,
    State(state): State<AppState>,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(page) = admin.check(&f).await {
        return page;
    }
    let key = f.get("key").unwrap_or_default().to_owned();
    if !f.confirmed() {
        return confirm(
            &admin,
            &f,
            "Clear this lockout?",
            &format!(
                "{key}: its failure count is reset and sign-in attempts are no longer delayed."
            ),
            "/admin/lockouts/clear",
            "Clear lockout",
            "/admin/lockouts",
        );
    }
    match state.clear_lockout(&key, &admin.actor()).await {
        Ok(()) => see_other("/admin/lockouts"),
        Err(e) => service_error(e),
    }
}

/// For the keys page: `when` of an optional time, or a dash.
pub fn when_opt(t: &Option<i64>) -> String {
    t.as_ref().map(when).unwrap_or_else(|| "—".to_owned())
}
