//! The admin console: server-rendered pages for signed-in admins over the same service layer
//! the CLI and the admin API use. Every form carries the session's CSRF token and every POST
//! handler reads its form through `CsrfForm`, which checks it; destructive actions first render
//! a confirmation page that re-posts the form. Handlers return `Result<Response, PageError>`.

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
use crate::http::ui::{PageError, csrf_token, render, secure_page, signed_in};
use crate::model::{Actor, User};
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
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = PageError;

    /// Anonymous visitors go to the sign-in page and come back; signed-in users without the
    /// admin role get 403; an admin with a generated password must replace it first.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, why)| PageError::internal(why))?;
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
        let Some(signed_in) = signed_in(&session).await? else {
            return Err(to_login(parts));
        };
        let user = match state.user_by_sub(&signed_in.sub).await? {
            Some(u) if !u.disabled => u,
            _ => return Err(to_login(parts)),
        };
        if !user.admin {
            return Err(PageError::forbidden(
                "The admin console is for administrators. Ask one to give your account the admin role.",
            ));
        }
        if user.must_change_password && parts.uri.path() != password::PATH {
            return Err(PageError::redirect(password::PATH));
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

/// To the sign-in page, which comes back to the page asked for (a GET) or the console (a POST,
/// which cannot be repeated).
fn to_login(parts: &Parts) -> PageError {
    let next = match parts.uri.path_and_query() {
        Some(here) if parts.method == axum::http::Method::GET => here.as_str(),
        _ => "/admin",
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    PageError::redirect(format!("/login?{query}"))
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
    /// the error to answer with instead.
    pub fn absorb(&mut self, e: ServiceError) -> Result<(), PageError> {
        match e {
            ServiceError::Invalid { field, message } => self.add(field, message),
            ServiceError::Conflict(m) => self.add("form", m),
            ServiceError::NotFound(m) => self.add("form", format!("{m} no longer exists")),
            ServiceError::Internal(e) => return Err(PageError::internal(e)),
        }
        Ok(())
    }

    /// 422 when a field is refused, so the re-rendered form is not taken for a success.
    pub fn status(&self) -> StatusCode {
        if self.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
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
pub fn confirm(admin: &Admin, form: &Fields, ask: Ask<'_>) -> Result<Response, PageError> {
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
) -> Result<Response, PageError> {
    if !form.confirmed() {
        return confirm(admin, form, ask);
    }
    act().await?;
    Ok(see_other(done))
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
