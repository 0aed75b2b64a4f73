//! The forced password change for an admin whose password was generated at bootstrap (someone
//! else may have read the file it was written to).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{Admin, Errors, Fields, see_other};
use crate::http::AppState;
use crate::http::ui::{SIGNED_IN, internal, render, rotate_csrf};
use crate::model::User;
use crate::oauth::authorize::decision::SignedIn;

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

fn page(admin: &Admin, state: &AppState, errors: &Errors) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &PasswordPage {
            admin: &admin.user,
            section: "",
            csrf: &admin.csrf,
            errors,
            min_length: state.config.passwords.min_length,
        },
    )
}

pub async fn show(admin: Admin, State(state): State<AppState>) -> Response {
    page(&admin, &state, &Errors::default())
}

pub async fn submit(
    admin: Admin,
    State(state): State<AppState>,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(response) = admin.check(&f).await {
        return response;
    }
    let password = f.get("password").unwrap_or_default();
    let current = f.get("current_password").unwrap_or_default();
    let mut errors = Errors::default();
    if f.get("confirm") != Some(password) {
        errors.add("confirm", "the two passwords differ");
        return page(&admin, &state, &errors);
    }
    let signed_in: Option<SignedIn> = match admin.session.get(SIGNED_IN).await {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    let sid = signed_in.map(|s| s.sid).unwrap_or_default();
    match state
        .change_own_password(&admin.user, current, password, &sid)
        .await
    {
        // A new session id too: whoever may have learnt the old cookie is out as well.
        Ok(()) => match admin.session.cycle_id().await {
            Ok(()) => match rotate_csrf(&admin.session).await {
                Ok(()) => see_other("/admin"),
                Err(page) => page,
            },
            Err(e) => internal(e),
        },
        Err(e) => match errors.absorb(e) {
            None => page(&admin, &state, &errors),
            Some(response) => response,
        },
    }
}
