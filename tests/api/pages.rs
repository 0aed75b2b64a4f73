//! The pages' error answers (issue 15, points 3 and 10): unknown page paths get the HTML 404,
//! every console form refuses a missing or wrong CSRF token with the 403 page, and an error page
//! names its code and the request id and offers a way back. Screenshots of the error pages:
//! `cargo test --test api pages::screenshots -- --ignored` with `SCREENSHOT_DIR` set.

use std::path::PathBuf;

use tessera::model::SigningAlg;

use crate::console::console_session;
use crate::helpers::{ADMIN_PASSWORD, TestApp, spawn_app};
use crate::signin::{API, Browser, CHALLENGE, PASSWORD, enc, hidden, setup_with};

/// A GET as a browser sends it: status, content type, request id and body.
async fn get_html(http: &reqwest::Client, url: &str) -> (u16, String, String, String) {
    let r = http
        .get(url)
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("GET");
    answer(r).await
}

async fn answer(r: reqwest::Response) -> (u16, String, String, String) {
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default()
    };
    let (content_type, request_id) = (header("content-type"), header("x-request-id"));
    let status = r.status().as_u16();
    (
        status,
        content_type,
        request_id,
        r.text().await.expect("body"),
    )
}

/// The error page's parts: its code, the request id of the answer and the way back.
fn assert_error_page(what: &str, html: &str, code: &str, request_id: &str, back: &str) {
    assert!(!request_id.is_empty(), "{what}: no x-request-id");
    for part in [
        format!("<code>{code}</code>"),
        format!("<code id=\"request-id\">{request_id}</code>"),
        format!("href=\"{back}\""),
    ] {
        assert!(html.contains(&part), "{what}: no {part} in {html}");
    }
}

#[tokio::test]
async fn unknown_page_paths_get_the_html_404() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    for path in [
        "/admin/x",
        "/login/x",
        "/consent/x",
        "/logout/x",
        "/admin/clients/a/b",
    ] {
        // Whatever the client asks for: these are pages.
        let r = http.get(app.url(path)).send().await.expect("GET");
        let (status, content_type, request_id, html) = answer(r).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(content_type, "text/html; charset=utf-8", "{path}");
        assert!(html.contains("Page not found"), "{path}: {html}");
        let back = if path.starts_with("/admin") {
            "/admin"
        } else {
            "/"
        };
        assert_error_page(path, &html, "not_found", &request_id, back);
    }
    // Any unknown path a browser opens is a page too.
    let (status, content_type, _, _) = get_html(&http, &app.url("/nope")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (404, "text/html; charset=utf-8")
    );
    // Protocol clients keep their JSON, and so does the admin API.
    for (path, error) in [
        ("/nope", "invalid_request"),
        ("/admin/api/nope", "not_found"),
    ] {
        let r = http.get(app.url(path)).send().await.expect("GET");
        assert_eq!(r.status(), 404, "{path}");
        let body: serde_json::Value = r.json().await.expect("JSON");
        assert_eq!(body["error"], error, "{path}");
    }
}

#[tokio::test]
async fn an_error_page_names_its_code_the_request_id_and_the_way_back() {
    let app = spawn_app().await;
    let b = Browser::new();
    let (status, _, request_id, html) =
        get_html(&b.http, &app.url("/login?request=no-such-request")).await;
    assert_eq!(status, 400);
    assert!(html.contains("has expired"), "{html}");
    assert_error_page(
        "expired request",
        &html,
        "request_expired",
        &request_id,
        "/",
    );

    // A caller's own request id is kept, and shown.
    let r = b
        .http
        .get(app.url("/authorize?client_id=nobody"))
        .header("x-request-id", "support-ticket-42")
        .send()
        .await
        .expect("GET");
    let (status, _, request_id, html) = answer(r).await;
    assert_eq!((status, request_id.as_str()), (400, "support-ticket-42"));
    assert_error_page("unknown client", &html, "invalid_request", &request_id, "/");

    // A console page leads back to the console.
    let b = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let (status, _, request_id, html) =
        get_html(&b.http, &app.url("/admin/clients/no-such-client")).await;
    assert_eq!(status, 404);
    assert_error_page("no such client", &html, "not_found", &request_id, "/admin");
}

/// Once the application's redirect URI is trusted, the way back leads to its site.
#[tokio::test]
async fn a_locked_out_sign_in_leads_back_to_the_application() {
    const SHOP: &str = "https://shop.example.com/cb";
    let s = setup_with(|spec| spec.redirect_uris = vec![SHOP.into()]).await;
    let app = &s.app;
    let b = Browser::new();
    let start = b
        .get(&app.url(&format!(
            "/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=s\
             &code_challenge={CHALLENGE}&code_challenge_method=S256",
            s.client_id,
            enc(SHOP)
        )))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let login = b
        .get(&app.url(&start.location.expect("to the sign-in page")))
        .await;
    let (csrf, request) = (hidden(&login.body, "csrf"), hidden(&login.body, "request"));
    let guess = |password: &'static str| {
        let (b, csrf, request, url) = (&b, &csrf, &request, app.url("/login"));
        async move {
            b.post(
                &url,
                &[
                    ("csrf", csrf.as_str()),
                    ("request", request.as_str()),
                    ("username", "alice"),
                    ("password", password),
                ],
            )
            .await
        }
    };
    for _ in 0..app.core.config.limits.login_failures_before_delay {
        assert_eq!(guess("wrong").await.status, 401);
    }
    let locked = guess(PASSWORD).await;
    assert_eq!(locked.status, 429);
    assert!(
        locked.body.contains("<code>rate_limited</code>"),
        "{}",
        locked.body
    );
    assert!(
        locked
            .body
            .contains("<a href=\"https://shop.example.com/\">Back to Orders Web</a>"),
        "{}",
        locked.body
    );
}

/// Every console POST, with what it needs in the path.
fn console_forms(client_id: &str, sub: &str) -> Vec<String> {
    let mut forms: Vec<String> = [
        "/admin/password",
        "/admin/clients",
        "/admin/resources",
        "/admin/resources/update",
        "/admin/resources/delete",
        "/admin/users",
        "/admin/keys/rotate",
        "/admin/keys/retire",
        "/admin/lockouts/clear",
    ]
    .map(str::to_owned)
    .to_vec();
    for action in ["", "/rotate", "/delete"] {
        forms.push(format!("/admin/clients/{client_id}{action}"));
    }
    for action in ["", "/password", "/claims", "/disabled", "/revoke"] {
        forms.push(format!("/admin/users/{sub}{action}"));
    }
    forms
}

#[tokio::test]
async fn every_console_form_refuses_a_missing_or_wrong_csrf_token() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let client = app.client(&[API]).await;
    let client_id = client.client.client_id.0.clone();
    let carol = app.user("carol", PASSWORD).await;
    let b = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let resources = app.core.resources().await.expect("resources");
    let forms = console_forms(&client_id, &carol.sub);
    assert_eq!(forms.len(), 17, "every POST route of the console");
    let values = [
        ("confirmed", "yes"),
        ("name", "Forged"),
        ("identifier", API),
        ("disabled", "true"),
        ("what", "everywhere"),
        ("alg", "ES256"),
        ("password", "a forged new password"),
        ("confirm", "a forged new password"),
    ];
    for path in &forms {
        for csrf in [None, Some("wrong"), Some("")] {
            let mut form = values.to_vec();
            if let Some(token) = csrf {
                form.push(("csrf", token));
            }
            let r = b
                .http
                .post(app.url(path))
                .form(&form)
                .send()
                .await
                .expect("POST");
            let (status, content_type, request_id, html) = answer(r).await;
            assert_eq!(status, 403, "{path} with {csrf:?}");
            assert_eq!(content_type, "text/html; charset=utf-8", "{path}");
            assert!(
                html.contains("did not come from this site"),
                "{path}: {html}"
            );
            assert_error_page(path, &html, "csrf_check_failed", &request_id, "/admin");
        }
    }
    // Nothing changed.
    let still = app
        .core
        .client(&client_id)
        .await
        .expect("the client is still there");
    assert_eq!(still.name, "test client");
    let carol = app
        .core
        .user_by_sub(&carol.sub)
        .await
        .expect("lookup")
        .expect("carol");
    assert!(!carol.disabled);
    assert_eq!(app.core.resources().await.expect("resources"), resources);
    assert!(
        app.core
            .user_by_username("Forged")
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(
        app.core
            .authenticate_user("admin", ADMIN_PASSWORD)
            .await
            .expect("auth")
            .is_some(),
        "the admin's password is unchanged"
    );
    // The same session's real token still works.
    let page = b.get(&app.url("/admin/users/new")).await;
    let csrf = hidden(&page.body, "csrf");
    let made = b
        .post(
            &app.url("/admin/users"),
            &[
                ("csrf", csrf.as_str()),
                ("username", "dave"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
}

#[tokio::test]
async fn the_sign_in_consent_and_sign_out_forms_refuse_a_missing_csrf_token() {
    let app = spawn_app().await;
    let b = Browser::new();
    let (status, _, request_id, html) = answer(
        b.http
            .post(app.url("/login"))
            .form(&[
                ("next", "/admin"),
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
            ])
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(status, 403);
    assert_error_page("/login", &html, "csrf_check_failed", &request_id, "/");
    for (path, form) in [
        ("/consent", vec![("request", "r"), ("decision", "allow")]),
        ("/logout", vec![("confirm", "yes"), ("csrf", "wrong")]),
    ] {
        let r = b
            .http
            .post(app.url(path))
            .form(&form)
            .send()
            .await
            .expect("POST");
        let (status, _, request_id, html) = answer(r).await;
        assert_eq!(status, 403, "{path}");
        assert_error_page(path, &html, "csrf_check_failed", &request_id, "/");
    }
}

/// The error pages at desktop and phone width, for looking at.
#[tokio::test]
#[ignore = "writes screenshots; needs chromium"]
async fn screenshots() {
    let dir = std::env::var_os("SCREENSHOT_DIR").map(PathBuf::from);
    if let Some(d) = &dir {
        std::fs::create_dir_all(d).expect("screenshot dir");
    }
    let app: TestApp = spawn_app().await;
    let (_driver, c) = crate::browser::chromium(false).await;
    let mut problems = Vec::new();
    for (name, path) in [
        ("error-404", "/login/x"),
        ("error-expired", "/login?request=no-such-request"),
        ("error-console-404", "/admin/x"),
    ] {
        c.goto(&app.url(path)).await.expect("open");
        c.wait()
            .at_most(crate::browser::WAIT)
            .for_element(fantoccini::Locator::Id("request-id"))
            .await
            .expect("the error page");
        problems.extend(crate::browser::photograph(&c, dir.as_deref(), name).await);
    }
    c.close().await.expect("close the browser");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// RFC 9110 §15.5.6: a page asked for with a method it does not take gets the HTML 405 page
/// with its request id and an `Allow` header, like the 404 (axum's default is an empty answer).
#[tokio::test]
async fn a_page_asked_for_with_another_method_gets_the_html_405() {
    let app: TestApp = spawn_app().await;
    for path in ["/login", "/admin/clients/new", "/consent"] {
        let r = app.http.put(app.url(path)).send().await.expect("send");
        assert_eq!(r.status(), 405, "{path}");
        let allow = r.headers()["allow"].to_str().expect("ascii").to_owned();
        assert!(allow.contains("GET"), "{path}: {allow}");
        let id = r.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            r.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/html"),
            "{path}"
        );
        let body = r.text().await.expect("body");
        assert!(body.contains("method_not_allowed"), "{path}: {body}");
        assert!(body.contains(&id), "{path}: the request id is shown");
    }
}
