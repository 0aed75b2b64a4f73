//! The admin console: server-rendered pages for signed-in admins over the same service layer
//! the CLI and the admin API use. Every form carries the session's CSRF token; destructive
//! actions first render a confirmation page that re-posts the form.

pub mod audit;
pub mod clients;
pub mod keys;
pub mod password;
pub mod resources;
pub mod users;

use std::collections::HashMap;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::http::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::ui::{
    SIGNED_IN, check_csrf, csrf_token, error_page, internal, render, secure_page,
};
use crate::model::{Actor, User};
use crate::oauth::authorize::decision::SignedIn;
use crate::service::ServiceError;

/// Rows per list page.
pub const PAGE_SIZE: i64 = 50;

/// A signed-in, enabled admin, with what every console page needs.
pub struct Admin {
    pub user: User,
    pub session: Session,
    pub ip: String,
    pub csrf: String,
}

impl Admin {
    pub fn actor(&self) -> Actor {
        Actor::admin(&self.user.username, &self.ip)
    }

    /// Checks the submitted form's CSRF token (a 403 page when it does not match).
    pub async fn check(&self, form: &Fields) -> Result<(), Response> {
        check_csrf(&self.session, form.get("csrf")).await
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    /// Anonymous visitors go to the sign-in page and come back; signed-in users without the
    /// admin role get 403; an admin with a generated password must replace it first.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(status, message)| error_page(status, message))?;
        let ClientIp(ip) = match ClientIp::from_request_parts(parts, state).await {
            Ok(ip) => ip,
            Err(never) => match never {},
        };
        let here = parts
            .uri
            .path_and_query()
            .map_or("/admin", |p| p.as_str())
            .to_owned();
        let login = || {
            let next = if parts.method == axum::http::Method::GET {
                here.as_str()
            } else {
                "/admin"
            };
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish();
            secure_page(Redirect::to(&format!("/login?{query}")).into_response())
        };
        let signed_in: Option<SignedIn> = session.get(SIGNED_IN).await.map_err(internal)?;
        let Some(signed_in) = signed_in else {
            return Err(login());
        };
        let user = match state.user_by_sub(&signed_in.sub).await {
            Ok(Some(u)) if !u.disabled => u,
            Ok(_) => return Err(login()),
            Err(e) => return Err(internal(e)),
        };
        if !user.admin {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "The admin console is for administrators. Ask one to give your account the admin role.",
            ));
        }
        if user.must_change_password && parts.uri.path() != password::PATH {
            return Err(secure_page(Redirect::to(password::PATH).into_response()));
        }
        let csrf = csrf_token(&session).await?;
        Ok(Admin {
            user,
            session,
            ip,
            csrf,
        })
    }
}

/// A submitted form as ordered pairs: repeated names (checkbox groups) keep every value.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A trimmed value; None when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A checkbox: present means on.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// One entry per non-blank line of a textarea.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// An optional whole number; a message for the field when it is not one.
    pub fn number(&self, name: &'static str, errors: &mut Errors) -> Option<i64> {
        let raw = self.text(name)?;
        match raw.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add(name, "must be a whole number of seconds");
                None
            }
        }
    }

    /// Whether the admin already confirmed this destructive action.
    pub fn confirmed(&self) -> bool {
        self.get("confirmed") == Some("yes")
    }
}

/// Messages shown next to form fields, by field name.
#[derive(Debug, Default)]
pub struct Errors(pub HashMap<&'static str, String>);

impl Errors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&String> {
        self.0.get(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes in a refusal from the service layer: a field message, or the page-level message
    /// for conflicts and missing objects. Internal errors are not form errors: they come back as
    /// the 500 page to send instead.
    pub fn absorb(&mut self, e: ServiceError) -> Option<Response> {
        match e {
            ServiceError::Invalid { field, message } => self.add(field, message),
            ServiceError::Conflict(m) => self.add("form", m),
            ServiceError::NotFound(m) => self.add("form", format!("{m} no longer exists")),
            ServiceError::Internal(e) => return Some(internal(e)),
        }
        None
    }
}

/// A service refusal outside a form: a readable page (404 for missing objects).
pub fn service_error(e: ServiceError) -> Response {
    match e {
        ServiceError::NotFound(m) => {
            error_page(StatusCode::NOT_FOUND, &format!("{m} was not found."))
        }
        ServiceError::Invalid { field, message } => {
            error_page(StatusCode::BAD_REQUEST, &format!("{field}: {message}"))
        }
        ServiceError::Conflict(m) => error_page(StatusCode::CONFLICT, &m),
        ServiceError::Internal(e) => internal(e),
    }
}

/// After a successful POST: back to a page with a GET (post/redirect/get).
pub fn see_other(location: &str) -> Response {
    secure_page(Redirect::to(location).into_response())
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct ConfirmPage<'a> {
    admin: &'a User,
    section: &'static str,
    csrf: &'a str,
    title: &'a str,
    message: &'a str,
    action: &'a str,
    button: &'a str,
    cancel: &'a str,
    fields: Vec<(&'a str, &'a str)>,
}

/// What a confirmation page says and where its buttons go.
pub struct Ask<'a> {
    pub title: &'a str,
    pub message: &'a str,
    /// Where the confirmed form is posted again.
    pub action: &'a str,
    pub button: &'a str,
    /// Where "Cancel" leads.
    pub cancel: &'a str,
}

/// Asks before a destructive action: the page re-posts the same form with `confirmed=yes`.
pub fn confirm(admin: &Admin, form: &Fields, ask: Ask<'_>) -> Response {
    let fields = form
        .0
        .iter()
        .filter(|(k, _)| k != "csrf" && k != "confirmed")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    render(
        StatusCode::OK,
        &ConfirmPage {
            admin: &admin.user,
            section: "",
            csrf: &admin.csrf,
            title: ask.title,
            message: ask.message,
            action: ask.action,
            button: ask.button,
            cancel: ask.cancel,
            fields,
        },
    )
}

/// A destructive action: the confirmation page until the form comes back confirmed, then
/// `act`, answered with a redirect to `done` or the error page.
pub async fn after_confirmation<T>(
    admin: &Admin,
    form: &Fields,
    ask: Ask<'_>,
    done: &str,
    act: impl AsyncFnOnce() -> Result<T, ServiceError>,
) -> Response {
    if !form.confirmed() {
        return confirm(admin, form, ask);
    }
    match act().await {
        Ok(_) => see_other(done),
        Err(e) => service_error(e),
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM UTC` for tables.
pub fn when(unix: &i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(*unix)
        .ok()
        .and_then(|t| {
            let format =
                time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
            t.format(&format).ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// `/admin` opens the clients list.
pub async fn home(_admin: Admin) -> Response {
    see_other("/admin/clients")
}

/// A console list's query string: a search prefix and the keyset cursor of the page.
#[derive(serde::Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
    after_id: Option<String>,
}

impl ListQuery {
    /// The search prefix, when one was typed.
    pub fn prefix(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The (sort key, id) of the last row of the previous page.
    pub fn after(&self) -> Option<(&str, &str)> {
        self.after.as_deref().zip(self.after_id.as_deref())
    }
}

/// The query string that continues a list after its last row, when the page was full (a
/// shorter page is the end). `cursor` gives a row's (sort key, id); the key is lower-cased as
/// the store orders by it.
pub fn next_page<T>(
    q: Option<&str>,
    rows: &[T],
    cursor: impl Fn(&T) -> (&str, &str),
) -> Option<String> {
    let last = rows.last().filter(|_| rows.len() as i64 == PAGE_SIZE)?;
    let (key, id) = cursor(last);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(q) = q {
        query.append_pair("q", q);
    }
    query
        .append_pair("after", &key.to_lowercase())
        .append_pair("after_id", id);
    Some(query.finish())
}
