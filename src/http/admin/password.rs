//! The forced password change for an admin whose password was generated at bootstrap (someone
//! else may have read the file it was written to).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Admin, Errors, Fields, see_other};
use crate::http::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::ui::{CsrfForm, PageError, render, rotate_csrf, signed_in};
use crate::model::User;

pub const PATH: &str = "/admin/password";

#[derive(Template)]
#[template(path = "admin/password.html")]
struct PasswordPage<'a> {
    admin: &'a User,
    section: &'static str,
    csrf: &'a str,
    errors: &'a Errors,
    min_length: u32,
}

fn page(admin: &Admin, state: &AppState, errors: &Errors) -> Result<Response, PageError> {
    render(
        errors.status(),
        &PasswordPage {
            admin: &admin.user,
            section: "",
            csrf: &admin.csrf,
            errors,
            min_length: state.config.passwords.min_length,
        },
    )
}

pub async fn show(admin: Admin, State(state): State<AppState>) -> Result<Response, PageError> {
    page(&admin, &state, &Errors::default())
}

pub async fn submit(
    admin: Admin,
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let password = f.get("password").unwrap_or_default();
    let current = f.get("current_password").unwrap_or_default();
    let mut errors = Errors::default();
    if f.get("confirm") != Some(password) {
        errors.add("confirm", "the two passwords differ");
        return page(&admin, &state, &errors);
    }
    let sid = signed_in(&admin.session)
        .await?
        .map(|s| s.sid)
        .unwrap_or_default();
    match state
        .change_own_password(&admin.user, current, password, &sid, &ip)
        .await
    {
        Ok(()) => {
            // A new session id too: whoever may have learnt the old cookie is out as well.
            admin.session.cycle_id().await?;
            rotate_csrf(&admin.session).await?;
            Ok(see_other("/admin"))
        }
        Err(e) => {
            errors.absorb(e)?;
            page(&admin, &state, &errors)
        }
    }
}
