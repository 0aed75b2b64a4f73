//! Every HTML page carries the security headers (no inline script, no framing, no sniffing, no
//! referrer, no caching), and every answer carrying a token does not get cached.

use crate::helpers::basic;
use crate::helpers::oauth::{code_exchange_body, post_token, sign_in_code};
use crate::signin::{Browser, REDIRECT, Setup, hidden, setup_with};

fn check_page(what: &str, status: u16, headers: &reqwest::header::HeaderMap) {
    let h = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("{what} ({status}): no {name}"))
            .to_str()
            .expect("ascii")
            .to_owned()
    };
    let csp = h("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{what}: {csp}"
    );
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(h("cache-control"), "no-store", "{what}");
    if !(300..400).contains(&status) {
        assert!(h("content-type").starts_with("text/html"), "{what}");
    }
    assert!(
        headers.get("strict-transport-security").is_none(),
        "{what}: no HSTS over plain http"
    );
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = http.get(url).send().await.expect("get");
    (
        r.status().as_u16(),
        r.headers().clone(),
        r.text().await.expect("body"),
    )
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let r = http.post(url).form(form).send().await.expect("post");
    (
        r.status().as_u16(),
        r.headers().clone(),
        r.text().await.expect("body"),
    )
}

/// The authorization request of `s` with `extra` parameters appended.
fn authorize(s: &Setup, extra: &str) -> String {
    s.app.url(&format!(
        "/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid%20read&state=s\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256{extra}",
        s.client_id,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    ))
}

/// Follows a fresh authorization request to the login page, checking both: its csrf and
/// request fields.
async fn open_login(s: &Setup, http: &reqwest::Client) -> (String, String) {
    let (status, h, _) = get(http, &authorize(s, "")).await;
    check_page("authorize redirect", status, &h);
    let login_url = s.app.url(h["location"].to_str().expect("ascii"));
    let (status, h, login) = get(http, &login_url).await;
    check_page("login", status, &h);
    (hidden(&login, "csrf"), hidden(&login, "request"))
}

#[tokio::test]
async fn error_and_login_pages_carry_the_security_headers() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let http = &b.http;
    let mut walked = Vec::new();
    // The error page for an untrusted request.
    let (status, h, _) = get(http, &s.app.url("/authorize?client_id=nobody")).await;
    check_page("authorize error page", status, &h);
    walked.push("error");
    // The login page, the login error, a refused form (CSRF).
    let (csrf, request) = open_login(&s, http).await;
    let (status, h, _) = post(
        http,
        &s.app.url("/login"),
        &[
            ("csrf", &csrf),
            ("request", &request),
            ("username", "alice"),
            ("password", "wrong password!"),
        ],
    )
    .await;
    check_page("login error", status, &h);
    let (status, h, _) = post(
        http,
        &s.app.url("/login"),
        &[("csrf", "forged"), ("request", &request)],
    )
    .await;
    assert_eq!(status, 403);
    check_page("csrf refusal", status, &h);
    walked.extend(["login", "login error", "csrf refusal"]);
    assert_eq!(walked.len(), 4, "{walked:?}");
}

#[tokio::test]
async fn consent_and_the_answers_carry_the_security_headers() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let http = &b.http;
    let mut walked = Vec::new();
    let (csrf, request) = open_login(&s, http).await;
    let (_, h, _) = post(
        http,
        &s.app.url("/login"),
        &[
            ("csrf", &csrf),
            ("request", &request),
            ("username", "alice"),
            ("password", crate::signin::PASSWORD),
        ],
    )
    .await;
    let (status, h, consent) = get(http, &s.app.url(h["location"].to_str().expect("ascii"))).await;
    check_page("consent", status, &h);
    let (status, h, _) = post(
        http,
        &s.app.url("/consent"),
        &[
            ("csrf", &hidden(&consent, "csrf")),
            ("request", &hidden(&consent, "request")),
            ("decision", "allow"),
        ],
    )
    .await;
    check_page("redirect with code", status, &h);
    // form_post.
    let (status, h, _) = get(http, &authorize(&s, "&response_mode=form_post")).await;
    assert_eq!(status, 200);
    check_page("form_post", status, &h);
    walked.extend(["consent", "form_post"]);
    // Logout: the confirmation page and the signed-out page.
    let (status, h, confirm) = get(http, &s.app.url("/logout")).await;
    check_page("logout confirmation", status, &h);
    let (status, h, _) = post(
        http,
        &s.app.url("/logout"),
        &[("confirm", "yes"), ("csrf", &hidden(&confirm, "csrf"))],
    )
    .await;
    check_page("signed out", status, &h);
    walked.extend(["logout", "signed out"]);
    assert_eq!(walked.len(), 4, "{walked:?}");
}

/// Everything carrying a token is not cached either.
#[tokio::test]
async fn answers_carrying_a_token_are_not_cached() {
    let s = setup_with(|_| {}).await;
    let code = sign_in_code(&s, &Browser::new(), &authorize(&s, "")).await;
    let r = post_token(&s, &code_exchange_body(&code)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let tokens: serde_json::Value = r.json().await.expect("json");
    let r = s
        .app
        .http
        .get(s.app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = s
        .app
        .post_form(
            "/introspect",
            Some(&basic(&s.client_id, &s.secret)),
            "token=x",
        )
        .await;
    assert_eq!(r.headers()["cache-control"], "no-store");
}

/// The console's pages carry the same headers, including its confirmation page, the page that
/// shows a secret once, and the refusal a non-admin gets.
#[tokio::test]
async fn every_console_page_carries_the_security_headers() {
    use tessera::model::Actor;

    let s = setup_with(|_| {}).await;
    let app = &s.app;
    let user = app.user("carol", crate::signin::PASSWORD).await;
    let b = crate::console::console_session(app, "admin", crate::helpers::ADMIN_PASSWORD).await;
    let mut walked = 0;
    for path in [
        "/admin".to_owned(),
        "/admin/clients".to_owned(),
        "/admin/clients?q=te".to_owned(),
        "/admin/clients/new".to_owned(),
        format!("/admin/clients/{}", s.client_id),
        "/admin/resources".to_owned(),
        "/admin/resources/new".to_owned(),
        format!(
            "/admin/resources/edit?identifier={}",
            crate::signin::enc(crate::signin::API)
        ),
        "/admin/users".to_owned(),
        "/admin/users/new".to_owned(),
        format!("/admin/users/{}", user.sub),
        "/admin/keys".to_owned(),
        "/admin/lockouts".to_owned(),
        "/admin/audit".to_owned(),
        "/admin/password".to_owned(),
        "/admin/clients/no-such-client".to_owned(),
    ] {
        let (status, h, _) = get(&b.http, &app.url(&path)).await;
        assert!(matches!(status, 200 | 303 | 404), "{path}: {status}");
        check_page(&path, status, &h);
        walked += 1;
    }
    let (_, _, page) = get(&b.http, &app.url("/admin/clients/new")).await;
    let csrf = hidden(&page, "csrf");
    let rotate = app.url(&format!("/admin/clients/{}/rotate", s.client_id));
    let (status, h, _) = post(&b.http, &rotate, &[("csrf", &csrf)]).await;
    assert_eq!(status, 200, "the confirmation page");
    check_page("confirmation", status, &h);
    let (status, h, body) = post(&b.http, &rotate, &[("csrf", &csrf), ("confirmed", "yes")]).await;
    assert!(body.contains("client-secret"));
    check_page("secret shown once", status, &h);
    let (status, h, _) = post(&b.http, &app.url("/admin/clients"), &[("name", "x")]).await;
    assert_eq!(status, 403);
    check_page("CSRF refusal", status, &h);
    app.core
        .set_user_password("carol", crate::signin::PASSWORD, &Actor::cli())
        .await
        .expect("password");
    let carol = crate::console::console_session(app, "carol", crate::signin::PASSWORD).await;
    let (status, h, _) = get(&carol.http, &app.url("/admin/users")).await;
    assert_eq!(status, 403);
    check_page("not an admin", status, &h);
    assert_eq!(walked, 16);
}
