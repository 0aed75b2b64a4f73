//! The authorization endpoint's rules, in order (RFC 6749 §4.1, RFC 7636, RFC 9207, OIDC Core
//! §3.1.2), and the code exchange rules at /token (RFC 6749 §4.1.3, RFC 9700 §2.1.1).

use std::collections::HashMap;

use tessera::model::ApplicationType;

use crate::helpers::oauth::{code_exchange_body, exchange_code, post_token, sign_in_code};
use crate::helpers::web::no_redirects;
use crate::helpers::{basic, expect_error};
use crate::signin::{
    Browser, CHALLENGE, REDIRECT, Setup, VERIFIER, callback_params, enc, hidden, setup_with,
    sign_in_and_consent,
};

/// Parameter changes: a new value, or None to remove the parameter.
type Changes<'a> = Vec<(&'a str, Option<&'a str>)>;

/// An authorize URL with good defaults; `changes` replace (or with None remove) parameters.
fn authorize_url(s: &Setup, changes: &[(&str, Option<&str>)]) -> String {
    let mut params: Vec<(String, String)> = vec![
        ("client_id".into(), s.client_id.clone()),
        ("redirect_uri".into(), REDIRECT.into()),
        ("response_type".into(), "code".into()),
        ("scope".into(), "openid read".into()),
        ("state".into(), "st-123".into()),
        ("code_challenge".into(), CHALLENGE.into()),
        ("code_challenge_method".into(), "S256".into()),
        ("nonce".into(), "n-1".into()),
    ];
    for (k, v) in changes {
        params.retain(|(name, _)| name != k);
        if let Some(v) = v {
            params.push(((*k).into(), (*v).into()));
        }
    }
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    s.app.url(&format!("/authorize?{}", query.join("&")))
}

/// Expects an error page (never a redirect) with the security headers of every page.
async fn expect_page(b: &Browser, url: &str) {
    let r = b.get(url).await;
    assert_eq!(r.status, 400, "{url}: {}", r.body);
    assert!(r.location.is_none(), "must not redirect: {url}");
    assert!(r.body.contains("<html"), "a readable page");
}

/// Expects a redirect to the client with `error`, the unchanged `state` and `iss`.
async fn expect_redirect_error(
    s: &Setup,
    b: &Browser,
    url: &str,
    error: &str,
) -> HashMap<String, String> {
    let r = b.get(url).await;
    assert_eq!(r.status, 303, "{url}: {}", r.body);
    let p = callback_params(r.location.as_deref().expect("location"));
    assert_eq!(
        p.get("error").map(String::as_str),
        Some(error),
        "{url}: {p:?}"
    );
    assert_eq!(p["state"], "st-123");
    assert_eq!(p["iss"], s.app.base);
    p
}

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gives_a_page_never_a_redirect() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    expect_page(&b, &authorize_url(&s, &[("client_id", Some("c_unknown"))])).await;
    expect_page(&b, &authorize_url(&s, &[("client_id", None)])).await;
    expect_page(
        &b,
        &authorize_url(&s, &[("redirect_uri", Some("https://evil.example/cb"))]),
    )
    .await;
    // Exact matching: no prefix, no extra path, no other port for web clients.
    expect_page(
        &b,
        &authorize_url(
            &s,
            &[("redirect_uri", Some("http://127.0.0.1:9/callback/x"))],
        ),
    )
    .await;
    expect_page(
        &b,
        &authorize_url(
            &s,
            &[("redirect_uri", Some("http://127.0.0.1:10/callback"))],
        ),
    )
    .await;
    // OpenID requests must carry redirect_uri.
    expect_page(&b, &authorize_url(&s, &[("redirect_uri", None)])).await;
    // Repeated parameters are refused before anything is trusted.
    let url = format!("{}&client_id={}", authorize_url(&s, &[]), s.client_id);
    expect_page(&b, &url).await;
    let r = b
        .get(&authorize_url(&s, &[("client_id", Some("c_unknown"))]))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_trusted_go_back_with_state_and_iss() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let cases: Vec<(Changes, &str)> = vec![
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (vec![("response_type", None)], "invalid_request"),
        (vec![("response_mode", Some("fragment"))], "invalid_request"),
        (
            vec![("scope", Some("read write-everything"))],
            "invalid_scope",
        ),
        (vec![("scope", Some("openid \"bad\""))], "invalid_scope"),
        (
            vec![("code_challenge", None), ("code_challenge_method", None)],
            "invalid_request",
        ),
        (
            vec![("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (vec![("code_challenge_method", None)], "invalid_request"),
        (
            vec![("code_challenge", Some("too-short"))],
            "invalid_request",
        ),
        (vec![("prompt", Some("none login"))], "invalid_request"),
        (vec![("prompt", Some("sometimes"))], "invalid_request"),
        (vec![("max_age", Some("-1"))], "invalid_request"),
        (vec![("max_age", Some("soon"))], "invalid_request"),
        (
            vec![("id_token_hint", Some("not.a.jwt"))],
            "invalid_request",
        ),
        (
            vec![("request", Some("eyJhbGciOiJub25lIn0.e30."))],
            "request_not_supported",
        ),
        (
            vec![("request_uri", Some("https://client.example/r"))],
            "request_uri_not_supported",
        ),
        (
            vec![("resource", Some("https://api.example.com/other"))],
            "invalid_target",
        ),
        (vec![("prompt", Some("none"))], "login_required"),
    ];
    for (changes, error) in cases {
        let url = authorize_url(&s, &changes);
        expect_redirect_error(&s, &b, &url, error).await;
    }
}

/// The admin API's scope is for client credentials only: even a client granted it cannot have
/// a person approve it on a consent page.
#[tokio::test]
async fn the_admin_scope_is_refused_at_the_authorization_endpoint() {
    let s = setup_with(|_| {}).await;
    let client = s.app.core.client(&s.client_id).await.expect("client");
    let admin_api = s.app.core.admin_api_identifier();
    let mut spec = tessera::service::clients::ClientSpec::from_client(&client);
    spec.admin_api = true;
    spec.resources.push(admin_api.clone());
    spec.scopes = None;
    s.app
        .core
        .update_client(&s.client_id, spec, &tessera::model::Actor::cli())
        .await
        .expect("granted the admin API");
    let b = Browser::new();
    let url = authorize_url(
        &s,
        &[
            ("scope", Some("openid tessera:admin")),
            ("resource", Some(&admin_api)),
        ],
    );
    let p = expect_redirect_error(&s, &b, &url, "invalid_scope").await;
    assert!(
        p["error_description"].contains("client credentials"),
        "{p:?}"
    );
}

#[tokio::test]
async fn form_post_answers_with_an_auto_submitting_page() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let r = b
        .get(&authorize_url(
            &s,
            &[
                ("response_mode", Some("form_post")),
                ("response_type", Some("token")),
            ],
        ))
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains(&format!("action=\"{REDIRECT}\"")),
        "{}",
        r.body
    );
    assert_eq!(hidden(&r.body, "error"), "unsupported_response_type");
    assert_eq!(hidden(&r.body, "state"), "st-123");
    assert_eq!(hidden(&r.body, "iss"), s.app.base);
    assert!(
        r.body.contains("/static/form_post.js"),
        "a static script, not inline"
    );
    assert!(!r.body.contains("<script>"), "no inline script");
    assert!(
        r.body.contains("type=\"submit\""),
        "a visible button without JavaScript"
    );
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let s = setup_with(|_| {}).await;
    let http = no_redirects();
    for url in [
        authorize_url(&s, &[("client_id", Some("nope"))]),
        authorize_url(&s, &[]),
    ] {
        let r = http.get(&url).send().await.expect("get");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
}

#[tokio::test]
async fn login_errors_are_generic_and_forms_need_the_csrf_token() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let r = b.get(&authorize_url(&s, &[])).await;
    let login = b
        .get(&s.app.url(r.location.as_deref().expect("login")))
        .await;
    let (csrf, request) = (hidden(&login.body, "csrf"), hidden(&login.body, "request"));
    let mut bodies = Vec::new();
    for (user, pass) in [("alice", "wrong password!"), ("nobody", "wrong password!")] {
        let r = b
            .post(
                &s.app.url("/login"),
                &[
                    ("csrf", &csrf),
                    ("request", &request),
                    ("username", user),
                    ("password", pass),
                ],
            )
            .await;
        assert_eq!(r.status, 401);
        assert!(r.body.contains("Incorrect username or password."));
        bodies.push(r.body.replace(user, "USER"));
    }
    assert_eq!(
        bodies[0], bodies[1],
        "unknown and known users get the same page"
    );
    // Without (or with a wrong) CSRF token the form is refused.
    for token in ["", "forged"] {
        let r = b
            .post(
                &s.app.url("/login"),
                &[
                    ("csrf", token),
                    ("request", &request),
                    ("username", "alice"),
                    ("password", crate::signin::PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, 403, "csrf {token:?}");
    }
    // A disabled user is refused with the same message.
    s.app
        .core
        .set_user_disabled("alice", true, &tessera::model::Actor::cli())
        .await
        .expect("disable");
    let r = b
        .post(
            &s.app.url("/login"),
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("username", "alice"),
                ("password", crate::signin::PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("Incorrect username or password."));
}

#[tokio::test]
async fn deny_returns_access_denied_and_first_party_skips_consent() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let r = b.get(&authorize_url(&s, &[])).await;
    let login = b
        .get(&s.app.url(r.location.as_deref().expect("login")))
        .await;
    let r = b
        .submit_login(&s.app, &login.body, "alice", crate::signin::PASSWORD)
        .await;
    let consent = b
        .get(&s.app.url(r.location.as_deref().expect("consent")))
        .await;
    assert!(
        consent.body.contains("127.0.0.1"),
        "shows where the code goes"
    );
    assert!(
        consent.body.contains("read things"),
        "the resource's words for the scope"
    );
    let r = b
        .post(
            &s.app.url("/consent"),
            &[
                ("csrf", &hidden(&consent.body, "csrf")),
                ("request", &hidden(&consent.body, "request")),
                ("decision", "deny"),
            ],
        )
        .await;
    let p = callback_params(r.location.as_deref().expect("location"));
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "st-123");
    // prompt=none now that the user is signed in but has not consented.
    expect_redirect_error(
        &s,
        &b,
        &authorize_url(&s, &[("prompt", Some("none"))]),
        "consent_required",
    )
    .await;

    let fp = setup_with(|spec| spec.first_party = true).await;
    let b = Browser::new();
    let back = sign_in_and_consent(&b, &fp.app, &authorize_url(&fp, &[])).await;
    assert!(
        callback_params(&back).contains_key("code"),
        "no consent page for first-party apps"
    );
}

#[tokio::test]
async fn native_clients_may_use_any_loopback_port() {
    let s = setup_with(|spec| {
        spec.public = true;
        spec.application_type = ApplicationType::Native;
        spec.redirect_uris = vec!["http://127.0.0.1/callback".into()];
    })
    .await;
    let b = Browser::new();
    let url = authorize_url(
        &s,
        &[("redirect_uri", Some("http://127.0.0.1:51234/callback"))],
    );
    let r = b.get(&url).await;
    assert_eq!(r.status, 303);
    assert!(r.location.expect("login").starts_with("/login"));
    expect_page(
        &b,
        &authorize_url(
            &s,
            &[("redirect_uri", Some("http://127.0.0.1:51234/other"))],
        ),
    )
    .await;
}

/// Signs in and returns a fresh code issued for the default request.
async fn code(s: &Setup, b: &Browser, changes: &[(&str, Option<&str>)]) -> String {
    sign_in_code(s, b, &authorize_url(s, changes)).await
}

#[tokio::test]
async fn code_exchange_rules() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let auth = basic(&s.client_id, &s.secret);
    let exchange = |code: String, extra: &'static str| {
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}{extra}",
            enc(REDIRECT)
        );
        let auth = auth.clone();
        let app = &s.app;
        async move { app.post_form("/token", Some(&auth), &body).await }
    };
    // Wrong verifier, missing verifier, malformed verifier.
    let c = code(&s, &b, &[]).await;
    let r = exchange(
        c,
        "&code_verifier=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    )
    .await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
    let c = code(&s, &b, &[]).await;
    let r = exchange(c, "").await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
    let c = code(&s, &b, &[]).await;
    let r = exchange(c, "&code_verifier=short").await;
    assert_eq!(expect_error(r, 400).await, "invalid_request");
    // redirect_uri must be repeated exactly when the request had one.
    let c = code(&s, &b, &[]).await;
    let body = format!("grant_type=authorization_code&code={c}&code_verifier={VERIFIER}");
    let r = s.app.post_form("/token", Some(&auth), &body).await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
    // Expired after 60 s.
    let c = code(&s, &b, &[]).await;
    s.app.clock.advance(61);
    let r = exchange(
        c,
        "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    )
    .await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
    // The right verifier works.
    let b = Browser::new();
    let c = code(&s, &b, &[]).await;
    let r = exchange(
        c,
        "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    )
    .await;
    assert_eq!(r.status(), 200);
    // Another client cannot redeem it; the client must authenticate.
    let c = code(&s, &b, &[]).await;
    let other = s.app.client(&[crate::signin::API]).await;
    let body = code_exchange_body(&c);
    let r = s.app.post_form("/token", None, &body).await;
    assert_eq!(expect_error(r, 401).await, "invalid_client");
    let r = s
        .app
        .post_form(
            "/token",
            Some(&basic(
                &other.client.client_id.0,
                other.secret.as_deref().expect("secret"),
            )),
            &body,
        )
        .await;
    let status = r.status().as_u16();
    assert!(status == 400, "another client: {status}");
}

#[tokio::test]
async fn a_verifier_for_a_code_issued_without_a_challenge_is_refused() {
    let s = setup_with(|spec| spec.pkce_required = false).await;
    let b = Browser::new();
    let c = code(
        &s,
        &b,
        &[("code_challenge", None), ("code_challenge_method", None)],
    )
    .await;
    let body = code_exchange_body(&c);
    let r = post_token(&s, &body).await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
}

/// RFC 6749 §4.1.2: concurrent redemptions of one code succeed at most once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_succeed_at_most_once() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let c = code(&s, &b, &[]).await;
    let body = code_exchange_body(&c);
    let auth = basic(&s.client_id, &s.secret);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, url, body, auth) = (
            s.app.http.clone(),
            s.app.url("/token"),
            body.clone(),
            auth.clone(),
        );
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .header("authorization", auth)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            200 => ok += 1,
            400 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn userinfo_challenges_a_missing_or_garbage_token() {
    let s = setup_with(|_| {}).await;
    let http = &s.app.http;
    let url = s.app.url("/userinfo");
    // No credentials: a bare Bearer challenge.
    let r = http.get(&url).send().await.expect("get");
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"tessera\"");
    // Garbage: invalid_token.
    let r = http
        .get(&url)
        .bearer_auth("garbage")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .contains("error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn userinfo_refuses_client_tokens_and_tokens_in_the_query() {
    let s = setup_with(|_| {}).await;
    let http = &s.app.http;
    let url = s.app.url("/userinfo");
    // A client-credentials token has no user and no openid: insufficient_scope.
    let m2m = s.app.client(&[crate::signin::API]).await;
    let token = s
        .app
        .access_token(
            &m2m.client.client_id.0,
            m2m.secret.as_deref().expect("secret"),
        )
        .await;
    let r = http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 403);
    // Tokens in the query are refused; two places at once too.
    let r = http
        .get(format!("{url}?access_token={token}"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 400);
    let r = http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={token}"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
}

/// A user token works by GET and by POST body; an ID token is never accepted.
#[tokio::test]
async fn userinfo_answers_a_user_token_by_get_or_post_but_never_an_id_token() {
    let s = setup_with(|_| {}).await;
    let http = &s.app.http;
    let url = s.app.url("/userinfo");
    let tokens = exchange_code(
        &s,
        &Browser::new(),
        &authorize_url(&s, &[("scope", Some("openid email"))]),
    )
    .await;
    let access = tokens["access_token"].as_str().expect("access");
    let id_token = tokens["id_token"].as_str().expect("id");
    let r = http
        .get(&url)
        .bearer_auth(access)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let info: serde_json::Value = r.json().await.expect("json");
    assert_eq!(info["sub"], s.sub.as_str());
    assert_eq!(info["email"], "alice@example.com");
    assert!(
        info.get("preferred_username").is_none(),
        "no profile scope, no profile claims"
    );
    let r = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={access}"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let r = http
        .get(&url)
        .bearer_auth(id_token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401, "an ID token is not an access token");
}

#[tokio::test]
async fn userinfo_refuses_a_revoked_token() {
    let s = setup_with(|_| {}).await;
    let http = &s.app.http;
    let url = s.app.url("/userinfo");
    let tokens = exchange_code(
        &s,
        &Browser::new(),
        &authorize_url(&s, &[("scope", Some("openid email"))]),
    )
    .await;
    let access = tokens["access_token"].as_str().expect("access");
    let r = http
        .get(&url)
        .bearer_auth(access)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let r = s
        .app
        .post_form(
            "/revoke",
            Some(&basic(&s.client_id, &s.secret)),
            &format!("token={access}"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = http
        .get(&url)
        .bearer_auth(access)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
}

/// A first-party client's setup and a browser alice signed in with.
async fn signed_in_first_party() -> (Setup, Browser) {
    let s = setup_with(|spec| spec.first_party = true).await;
    let b = Browser::new();
    let back = sign_in_and_consent(&b, &s.app, &authorize_url(&s, &[])).await;
    assert!(callback_params(&back).contains_key("code"));
    (s, b)
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_sign_in() {
    let (s, b) = signed_in_first_party().await;
    // Signed in: a plain request goes straight back.
    let r = b.get(&authorize_url(&s, &[])).await;
    assert!(r.location.expect("location").starts_with(REDIRECT));
    // prompt=login and max_age=0 both ask for the password again.
    for changes in [
        vec![("prompt", Some("login"))],
        vec![("max_age", Some("0"))],
    ] {
        let r = b.get(&authorize_url(&s, &changes)).await;
        assert!(
            r.location.expect("location").starts_with("/login"),
            "{changes:?}"
        );
    }
    // max_age larger than the session's age: no new sign-in.
    let r = b
        .get(&authorize_url(&s, &[("max_age", Some("3600"))]))
        .await;
    assert!(r.location.expect("location").starts_with(REDIRECT));
}

/// An id_token_hint about another user: prompt=none cannot proceed (login_required).
#[tokio::test]
async fn an_id_token_hint_about_another_user_requires_a_new_sign_in() {
    let (s, b) = signed_in_first_party().await;
    let other = s
        .app
        .core
        .create_user(
            tessera::service::users::UserSpec {
                username: "bob".into(),
                email: None,
                email_verified: false,
                name: None,
                admin: false,
                claims: Default::default(),
            },
            "another long password",
            &tessera::model::Actor::cli(),
        )
        .await
        .expect("bob");
    let tokens = exchange_code(&s, &b, &authorize_url(&s, &[])).await;
    let alice_hint = tokens["id_token"].as_str().expect("id token").to_owned();
    let hinted = authorize_url(
        &s,
        &[
            ("prompt", Some("none")),
            ("id_token_hint", Some(&alice_hint)),
        ],
    );
    let r = b.get(&hinted).await;
    assert!(
        callback_params(r.location.as_deref().expect("loc")).contains_key("code"),
        "same user: fine"
    );
    // Bob signs in in another browser; Alice's hint there is another user.
    let b2 = Browser::new();
    let r = b2.get(&authorize_url(&s, &[])).await;
    let login = b2
        .get(&s.app.url(r.location.as_deref().expect("login")))
        .await;
    let r = b2
        .submit_login(&s.app, &login.body, "bob", "another long password")
        .await;
    assert!(
        r.location.expect("loc").starts_with(REDIRECT),
        "{}",
        other.sub
    );
    expect_redirect_error(&s, &b2, &hinted, "login_required").await;
}

/// After 10 hours the session is over whatever the cookie says.
#[tokio::test]
async fn a_session_ends_after_ten_hours_whatever_the_cookie_says() {
    let (s, b) = signed_in_first_party().await;
    s.app.clock.advance(10 * 3600 + 1);
    expect_redirect_error(
        &s,
        &b,
        &authorize_url(&s, &[("prompt", Some("none"))]),
        "login_required",
    )
    .await;
}
