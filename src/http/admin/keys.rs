//! Console pages for signing keys (per algorithm: next, active, retired; rotate; retire) and
//! for login lockouts (list and clear).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{Admin, Ask, Fields, after_confirmation, when};
use crate::http::AppState;
use crate::http::ui::{CsrfForm, PageError, render};
use crate::model::LoginFailure;
use crate::model::{SigningAlg, User};
use crate::oauth::keys::KeyInfo;

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

pub async fn list(admin: Admin, State(state): State<AppState>) -> Result<Response, PageError> {
    state.reload_keys().await?;
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
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let alg: SigningAlg = f
        .get("alg")
        .unwrap_or_default()
        .parse()
        .map_err(|e: crate::model::UnknownValue| crate::service::invalid("alg", e.to_string()))?;
    let ask = Ask {
        title: &format!("Rotate the {} key?", alg.as_str()),
        message: "The next key starts signing, the active key retires (still published until its tokens expire) and a new next key is published.",
        action: "/admin/keys/rotate",
        button: "Rotate key",
        cancel: "/admin/keys",
    };
    after_confirmation(&admin, &f, ask, "/admin/keys", async || {
        state.rotate_key(alg, false, &admin.actor()).await
    })
    .await
}

pub async fn retire(
    admin: Admin,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let kid = f.get("kid").unwrap_or_default().to_owned();
    let ask = Ask {
        title: "Retire this key now?",
        message: &format!(
            "Key {kid}: an active key is replaced at once by the next key (verifiers that have not fetched it yet reject new tokens until they refresh the JWKS); a retired key stops being published and the tokens it signed stop verifying. Use this after a compromise."
        ),
        action: "/admin/keys/retire",
        button: "Retire key",
        cancel: "/admin/keys",
    };
    after_confirmation(&admin, &f, ask, "/admin/keys", async || {
        state.retire_key(&kid, &admin.actor()).await
    })
    .await
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

pub async fn lockouts(admin: Admin, State(state): State<AppState>) -> Result<Response, PageError> {
    let lockouts = state.lockouts().await?;
    render(
        StatusCode::OK,
        &LockoutsPage {
            admin: &admin.user,
            section: "lockouts",
            csrf: &admin.csrf,
            lockouts: &lockouts,
            now: state.now(),
        },
    )
}

pub async fn clear_lockout(
    admin: Admin,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let key = f.get("key").unwrap_or_default().to_owned();
    let ask = Ask {
        title: "Clear this lockout?",
        message: &format!(
            "{key}: its failure count is reset and sign-in attempts are no longer delayed."
        ),
        action: "/admin/lockouts/clear",
        button: "Clear lockout",
        cancel: "/admin/lockouts",
    };
    after_confirmation(&admin, &f, ask, "/admin/lockouts", async || {
        state.clear_lockout(&key, &admin.actor()).await
    })
    .await
}

/// For the keys page: `when` of an optional time, or a dash.
pub fn when_opt(t: &Option<i64>) -> String {
    t.as_ref().map(when).unwrap_or_else(|| "—".to_owned())
}
