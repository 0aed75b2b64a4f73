//! Rate limits and brute-force protection (429 with Retry-After; delays, never locks).

use std::sync::Arc;

use tessera::model::SigningAlg;

use crate::helpers::{basic, spawn_app, spawn_app_with, spawn_on};
use crate::signin::{Browser, hidden, setup_with};

const API: &str = "https://api.example.com/orders";

#[tokio::test]
async fn failed_client_authentication_is_limited_per_client_and_ip() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    // The allowance is 20 a minute: the attempt that finds it used up is still answered (401)
    // and closes the door for the rest of the minute.
    for _ in 0..21 {
        assert_eq!(app.token(&id, "wrong", "").await.0, 401);
    }
    let r = app
        .post_form(
            "/token",
            Some(&basic(&id, "wrong")),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(body["error_description"], "rate limit exceeded");
    // Even the right secret waits: the guesser may have found it.
    assert_eq!(app.token(&id, &secret, "").await.0, 429);
    // Other clients are not affected.
    let other = app.client(&[API]).await;
    assert_eq!(
        app.token(
            &other.client.client_id.0,
            other.secret.as_deref().expect("s"),
            ""
        )
        .await
        .0,
        200
    );
    // The allowance refills.
    app.clock.advance(60);
    assert_eq!(app.token(&id, &secret, "").await.0, 200);
}

#[tokio::test]
async fn successful_traffic_is_only_limited_when_configured() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    for _ in 0..50 {
        assert_eq!(
            app.token(&id, &secret, "").await.0,
            200,
            "no limit by default"
        );
    }
    let limited = spawn_app_with(|c| c.limits.token_per_client_per_second = 3).await;
    limited.resource(API, SigningAlg::ES256).await;
    let reg = limited.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    for _ in 0..3 {
        assert_eq!(limited.token(&id, &secret, "").await.0, 200);
    }
    assert_eq!(limited.token(&id, &secret, "").await.0, 429);
    limited.clock.advance(1);
    assert_eq!(limited.token(&id, &secret, "").await.0, 200);
}

/// Logs in through the form; returns the status.
async fn login(
    b: &Browser,
    app: &crate::helpers::TestApp,
    url: &str,
    user: &str,
    password: &str,
) -> (u16, String) {
    let r = b.get(url).await;
    let page = b.get(&app.url(r.location.as_deref().expect("login"))).await;
    let r = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("request", &hidden(&page.body, "request")),
                ("username", user),
                ("password", password),
            ],
        )
        .await;
    (r.status, r.body)
}

#[tokio::test]
async fn repeated_login_failures_delay_the_account_known_or_not() {
    let s = setup_with(|_| {}).await;
    let url = s.app.url(&format!(
        "/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=x\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        s.client_id,
        url::form_urlencoded::byte_serialize(crate::signin::REDIRECT.as_bytes())
            .collect::<String>()
    ));
    let b = Browser::new();
    for user in ["alice", "nobody"] {
        for _ in 0..5 {
            assert_eq!(
                login(&b, &s.app, &url, user, "wrong password!!").await.0,
                401,
                "{user}"
            );
        }
        let (status, body) = login(&b, &s.app, &url, user, crate::signin::PASSWORD).await;
        assert_eq!(status, 429, "{user}: delayed even with the right password");
        assert!(body.contains("Too many failed sign-in attempts"), "{body}");
    }
    // Visible to an admin, and clearable.
    let keys: Vec<String> = s
        .app
        .core
        .lockouts()
        .await
        .expect("list")
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert!(
        keys.contains(&"account:alice".to_owned()) && keys.contains(&"account:nobody".to_owned()),
        "{keys:?}"
    );
    s.app
        .core
        .clear_lockout("alice", &tessera::model::Actor::cli())
        .await
        .expect("clear");
    let (status, _) = login(&b, &s.app, &url, "alice", crate::signin::PASSWORD).await;
    assert_eq!(status, 303, "cleared by the admin");
    // Delays grow but stay capped, and run out by themselves.
    // (A new browser each time: moving the test clock past the idle lifetime ends sessions.)
    for _ in 0..5 {
        login(&Browser::new(), &s.app, &url, "nobody", "x").await;
        s.app.clock.advance(301);
    }
    let lockout = s
        .app
        .core
        .lockouts()
        .await
        .expect("list")
        .into_iter()
        .find(|l| l.key == "account:nobody")
        .expect("nobody");
    let now = tessera::clock::Clock::now(&s.app.clock);
    assert!(
        lockout.delay_until - now <= 300,
        "capped at the configured maximum"
    );
    s.app.clock.advance(301);
    assert_eq!(
        login(&Browser::new(), &s.app, &url, "nobody", "y").await.0,
        401,
        "a delay, not a permanent lock"
    );
}

#[tokio::test]
async fn login_delays_hold_across_instances() {
    let s = setup_with(|_| {}).await;
    let other = spawn_on(Arc::clone(&s.app.db), s.app.clock.clone()).await;
    let url = |app: &crate::helpers::TestApp| {
        app.url(&format!(
            "/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=x\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            s.client_id,
            url::form_urlencoded::byte_serialize(crate::signin::REDIRECT.as_bytes()).collect::<String>()
        ))
    };
    let b = Browser::new();
    for _ in 0..5 {
        assert_eq!(
            login(&b, &s.app, &url(&s.app), "alice", "wrong password!!")
                .await
                .0,
            401
        );
    }
    let b2 = Browser::new();
    assert_eq!(
        login(&b2, &other, &url(&other), "alice", crate::signin::PASSWORD)
            .await
            .0,
        429
    );
}
