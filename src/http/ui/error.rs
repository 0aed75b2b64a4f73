//! What a page handler returns when it cannot show its page: [`PageError`]. A readable error
//! page (status, code, message, the request id and a way back), a redirect, or an internal error
//! whose cause goes to the log once (through the access log's [`ErrorCause`]) while the user
//! sees a generic page. Unknown page paths and panics in page handlers end here too, so a
//! browser never gets the protocol endpoints' JSON.

use std::any::Any;
use std::borrow::Cow;

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::secure_page;
use crate::error::StoreError;
use crate::http::log::ErrorCause;
use crate::service::ServiceError;

/// A page handler's failure; handlers return `Result<Response, PageError>` and use `?`.
#[derive(Debug)]
pub enum PageError {
    /// A readable error page; never a redirect to a client.
    Page(Problem),
    /// Somewhere else first: the sign-in page, the forced password change (303).
    Redirect(String),
    /// A failure of ours: a generic 500 page for the user, this cause for the log only.
    Internal(String),
}

/// The error page's content. Carried as a response extension so that the [`error_pages`]
/// layer can add what only the request knows (its id, which part of the site it was for).
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    /// A short stable name for the error, shown on the page (and quoted to support).
    code: &'static str,
    message: Cow<'static, str>,
    retry_after: Option<u64>,
    back: Option<Back>,
}

/// A link out of an error page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Back {
    pub href: String,
    pub label: String,
}

impl Back {
    /// Back to the application that sent the user, once its redirect URI is trusted (it is
    /// registered): the site it belongs to, for web redirect URIs only (a native app's custom
    /// scheme or loopback listener is no page to land on).
    pub fn to_client(name: &str, redirect_uri: &str) -> Option<Back> {
        let url = url::Url::parse(redirect_uri).ok()?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
        if url.scheme() != "https" || loopback {
            return None;
        }
        Some(Back {
            href: format!("{}/", url.origin().ascii_serialization()),
            label: format!("Back to {name}"),
        })
    }

    fn start() -> Back {
        Back {
            href: "/".to_owned(),
            label: "Go to the start page".to_owned(),
        }
    }

    fn console() -> Back {
        Back {
            href: "/admin".to_owned(),
            label: "Back to the console".to_owned(),
        }
    }
}

const CSRF_MESSAGE: &str =
    "This form has expired or did not come from this site. Go back, reload the page and try again.";

impl PageError {
    fn page(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        PageError::Page(Problem {
            status,
            code,
            message: message.into(),
            retry_after: None,
            back: None,
        })
    }

    /// A request we cannot act on (400).
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::page(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// Signed in, but not allowed here (403).
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::page(StatusCode::FORBIDDEN, "access_denied", message)
    }

    /// A form without the session's CSRF token (403): forged, or older than the session.
    pub fn csrf() -> Self {
        Self::page(StatusCode::FORBIDDEN, "csrf_check_failed", CSRF_MESSAGE)
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::page(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// The parked authorization request is gone: finished, expired or never ours (400).
    pub fn request_expired() -> Self {
        Self::page(
            StatusCode::BAD_REQUEST,
            "request_expired",
            "This sign-in request has expired or was already completed. Return to the application and start again.",
        )
    }

    /// The application of a parked request was deleted or disabled meanwhile (400).
    pub fn client_gone() -> Self {
        Self::page(
            StatusCode::BAD_REQUEST,
            "unknown_client",
            "The application is no longer registered.",
        )
    }

    /// A 429 page with `Retry-After` (RFC 6585 §4).
    pub fn too_many(seconds: u64, message: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::page(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
        if let PageError::Page(p) = &mut e {
            p.retry_after = Some(seconds);
        }
        e
    }

    /// Any other status with its own code (413, 408, 415 …).
    pub fn status(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::page(status, code, message)
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        PageError::Internal(cause.to_string())
    }

    /// A 303 to `location`.
    pub fn redirect(location: impl Into<String>) -> Self {
        PageError::Redirect(location.into())
    }

    /// Offers a way back to the application instead of the start page.
    pub fn back_to(mut self, back: Option<Back>) -> Self {
        if let PageError::Page(p) = &mut self {
            p.back = back;
        }
        self
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<tower_sessions::session::Error> for PageError {
    fn from(e: tower_sessions::session::Error) -> Self {
        Self::internal(format!("session: {e}"))
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        Self::internal(format!("template: {e}"))
    }
}

/// A service refusal outside a form: a readable page (404 for missing objects, 409 for
/// conflicts). Inside a form, refusals are messages next to the field instead (`Errors`).
impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(m) => Self::not_found(format!("{m} was not found.")),
            ServiceError::Invalid { field, message } => {
                Self::bad_request(format!("{field}: {message}"))
            }
            ServiceError::Conflict(m) => Self::page(StatusCode::CONFLICT, "conflict", m),
            ServiceError::Internal(e) => Self::internal(e),
        }
    }
}

impl Problem {
    fn server_error() -> Problem {
        Problem {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "server_error",
            message: Cow::Borrowed("Please try again in a moment."),
            retry_after: None,
            back: None,
        }
    }

    fn title(&self) -> &'static str {
        match self.status {
            StatusCode::NOT_FOUND => "Page not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            s if s.is_server_error() => "Something went wrong",
            _ => "This request cannot be completed",
        }
    }

    /// The page, with the request id when it is known (it is, behind the access log).
    fn html(&self, request_id: Option<&str>, fallback: &Back) -> Result<String, askama::Error> {
        let back = self.back.as_ref().unwrap_or(fallback);
        ErrorPage {
            title: self.title(),
            message: &self.message,
            code: self.code,
            status: self.status.as_u16(),
            request_id: request_id.unwrap_or_default(),
            back_href: &back.href,
            back_label: &back.label,
        }
        .render()
    }

    fn into_response(self) -> Response {
        let html = self.html(None, &Back::start()).unwrap_or_default();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self);
        secure_page(response)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    code: &'a str,
    status: u16,
    request_id: &'a str,
    back_href: &'a str,
    back_label: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Page(problem) => problem.into_response(),
            PageError::Redirect(location) => secure_page(Redirect::to(&location).into_response()),
            PageError::Internal(cause) => {
                let mut response = Problem::server_error().into_response();
                response.extensions_mut().insert(ErrorCause(cause));
                response
            }
        }
    }
}

/// Paths served as pages: their unknown paths and their errors are HTML. The admin API
/// (`/admin/api/…`) answers JSON.
pub fn is_page_path(path: &str) -> bool {
    if path == "/admin/api" || path.starts_with("/admin/api/") {
        return false;
    }
    ["/authorize", "/login", "/consent", "/logout", "/admin"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// Whether an unknown path gets the HTML 404: a page path, or a browser asking for HTML.
pub fn wants_page(req: &Request) -> bool {
    is_page_path(req.uri().path())
        || req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

/// The 404 page of an unknown page path.
pub fn not_found() -> PageError {
    PageError::not_found("There is no page at this address. Check the link, or start again.")
}

/// RFC 9110 §15.5.6: a page asked for with a method it does not take (`PUT /login`) gets the
/// 405 page; the router adds the `Allow` header naming the methods it does take.
pub async fn method_not_allowed() -> PageError {
    PageError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This page cannot be used that way. Open it from a link instead.",
    )
}

/// The 500 page of a panicking page handler; the panic message goes to the log only.
pub fn panicked(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    PageError::internal(format!("page handler panicked: {message}")).into_response()
}

/// The access log's header: the id it logged the request under.
const REQUEST_ID: &str = "x-request-id";

/// Completes every error page on its way out: the request id (the access log, which runs
/// inside this layer, has put it on the response) and, unless the handler offered the way back
/// to an application, a link to the console for console pages or to the start page for the rest.
/// Answers without an error page pass untouched.
pub async fn error_pages(req: Request, next: Next) -> Response {
    let console = req.uri().path().starts_with("/admin");
    let mut response = next.run(req).await;
    let Some(problem) = response.extensions_mut().remove::<Problem>() else {
        return response;
    };
    let fallback = if console {
        Back::console()
    } else {
        Back::start()
    };
    let id = response
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok());
    if let Ok(html) = problem.html(id, &fallback) {
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = Body::from(html);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    async fn boom() -> Response {
        panic!("the page broke")
    }

    /// The pages' layers as the router stacks them: panics caught inside, the access log's
    /// request id, the error page completed outside.
    fn app() -> Router {
        Router::new()
            .route("/admin/boom", get(boom))
            .route(
                "/login/gone",
                get(|| async { Err::<Response, _>(PageError::request_expired()) }),
            )
            .layer(CatchPanicLayer::custom(panicked))
            .layer(axum::middleware::from_fn(
                |req: Request, next: Next| async move {
                    let mut response = next.run(req).await;
                    response
                        .headers_mut()
                        .insert(REQUEST_ID, HeaderValue::from_static("req-42"));
                    response
                },
            ))
            .layer(axum::middleware::from_fn(error_pages))
    }

    async fn get_page(path: &str) -> Response {
        app()
            .oneshot(
                axum::http::Request::get(path)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response")
    }

    #[tokio::test]
    async fn a_panic_is_an_html_500_with_the_cause_logged_not_shown() {
        let response = get_page("/admin/boom").await;
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let cause = response.extensions().get::<ErrorCause>().expect("cause");
        assert!(cause.0.contains("the page broke"), "{cause:?}");
        let html = body(response).await;
        assert!(html.contains("Something went wrong"), "{html}");
        assert!(html.contains("server_error"), "{html}");
        assert!(html.contains("req-42"), "{html}");
        assert!(html.contains("href=\"/admin\""), "{html}");
        assert!(!html.contains("the page broke"), "{html}");
    }

    #[tokio::test]
    async fn an_error_page_shows_its_code_the_request_id_and_a_way_back() {
        let response = get_page("/login/gone").await;
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let html = body(response).await;
        for part in ["request_expired", "req-42", "has expired", "href=\"/\""] {
            assert!(html.contains(part), "{part}: {html}");
        }
    }

    #[test]
    fn service_errors_map_to_statuses() {
        use crate::error::AppError;
        let cases = [
            (
                ServiceError::Invalid {
                    field: "name",
                    message: "bad".into(),
                },
                400,
            ),
            (ServiceError::NotFound("client c_1".into()), 404),
            (ServiceError::Conflict("taken".into()), 409),
            (
                ServiceError::Internal(AppError::Startup("secret detail".into())),
                500,
            ),
        ];
        for (error, status) in cases {
            let r = PageError::from(error).into_response();
            assert_eq!(r.status().as_u16(), status);
        }
    }

    #[test]
    fn the_way_back_to_an_application_is_its_web_site_only() {
        let back = Back::to_client("Shop", "https://shop.example.com/cb?x=1").expect("web");
        assert_eq!(back.href, "https://shop.example.com/");
        assert_eq!(back.label, "Back to Shop");
        for native in [
            "com.example.app:/cb",
            "http://127.0.0.1:4000/cb",
            "http://shop.example.com/cb",
        ] {
            assert_eq!(Back::to_client("App", native), None, "{native}");
        }
    }

    #[test]
    fn page_paths() {
        for page in [
            "/admin",
            "/admin/x",
            "/login",
            "/login/x",
            "/consent/y",
            "/logout",
        ] {
            assert!(is_page_path(page), "{page}");
        }
        for api in ["/admin/api", "/admin/api/clients", "/token", "/nope", "/"] {
            assert!(!is_page_path(api), "{api}");
        }
    }
}
