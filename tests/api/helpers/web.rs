//! HTTP clients that play the browser: nothing is followed automatically, so a test sees every
//! redirect, and the cookie-keeping [`Browser`] carries the session from page to page.

use reqwest::redirect::Policy;

use super::TestApp;

/// A client builder that never follows redirects.
pub fn no_redirects_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(Policy::none())
}

/// A client that never follows redirects (what an OAuth client library must be given, and how a
/// test sees a 302 or 303 itself).
pub fn no_redirects() -> reqwest::Client {
    no_redirects_builder().build().expect("client")
}

/// A cookie-keeping client that never follows redirects, like a browser we can inspect.
pub struct Browser {
    pub http: reqwest::Client,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new() -> Self {
        Self::with(no_redirects_builder())
    }

    /// A browser built from `builder` (default headers, …), keeping cookies.
    pub fn with(builder: reqwest::ClientBuilder) -> Self {
        let http = builder.cookie_store(true).build().expect("client");
        Self { http }
    }

    async fn page(r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().expect("ascii").to_owned());
        Page {
            status,
            location,
            body: r.text().await.expect("body"),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        Self::page(self.http.get(url).send().await.expect("GET")).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        Self::page(self.http.post(url).form(form).send().await.expect("POST")).await
    }

    /// Signs in through the form of `login_page` (a sign-in page of an authorization request):
    /// its CSRF token and request, with `username` and `password`.
    pub async fn submit_login(
        &self,
        app: &TestApp,
        login_page: &str,
        username: &str,
        password: &str,
    ) -> Page {
        self.post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(login_page, "csrf")),
                ("request", &hidden(login_page, "request")),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }
}

/// A raw-HTTP session signed in to the console.
pub async fn console_session(app: &TestApp, username: &str, password: &str) -> Browser {
    let b = Browser::new();
    let login = b.get(&app.url("/login?next=%2Fadmin%2Fclients")).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let csrf = hidden(&login.body, "csrf");
    let done = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &csrf),
                ("next", "/admin/clients"),
                ("username", username),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/admin/clients"));
    b
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}
