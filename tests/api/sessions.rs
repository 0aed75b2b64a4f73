//! Browser sessions end when they should: at the absolute lifetime however active they stay
//! (pages, console, refresh tokens bound to the session), and at once when the account's
//! credentials change or an admin signs the user out everywhere.

use serde_json::Value;
use tessera::model::GrantType;

use crate::console::console_session;
use crate::helpers::{ADMIN_PASSWORD, TestApp, basic, expect_error, spawn_app_with};
use crate::signin::{Browser, Setup, authorize_for, setup_in, sign_in_tokens};

/// Sessions that stay alive for 10 idle hours but end one hour after sign-in.
async fn short_absolute() -> TestApp {
    spawn_app_with(|c| {
        c.sessions.idle_minutes = 600;
        c.sessions.absolute_hours = 1;
    })
    .await
}

async fn code_and_refresh(app: TestApp) -> Setup {
    setup_in(app, |spec| {
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    })
    .await
}

async fn refresh(s: &Setup, token: &str) -> reqwest::Response {
    let body = format!("grant_type=refresh_token&refresh_token={token}");
    s.app
        .post_form("/token", Some(&basic(&s.client_id, &s.secret)), &body)
        .await
}

fn refresh_token(tokens: &Value) -> String {
    tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned()
}

/// OWASP Session Management, "Absolute Timeout": activity every 40 minutes keeps the session
/// idle-fresh, yet an hour after sign-in /authorize asks to sign in again and the refresh token
/// bound to the session stops working.
#[tokio::test]
async fn the_absolute_lifetime_ends_pages_and_session_bound_refresh_tokens() {
    let s = code_and_refresh(short_absolute().await).await;
    let b = Browser::new();
    let tokens = sign_in_tokens(&s, &b, "openid read").await;
    s.app.clock.advance(40 * 60);
    let again = b.get(&authorize_for(&s, "openid read")).await;
    assert_eq!(again.status, 303);
    let location = again.location.expect("location");
    assert!(!location.contains("/login"), "still signed in: {location}");
    let r = refresh(&s, &refresh_token(&tokens)).await;
    assert_eq!(r.status(), 200, "the session is alive at 40 minutes");
    let tokens: Value = r.json().await.expect("json");

    s.app.clock.advance(21 * 60);
    let after = b.get(&authorize_for(&s, "openid read")).await;
    assert_eq!(after.status, 303);
    let location = after.location.expect("location");
    assert!(
        location.contains("/login"),
        "signed out at 61 minutes: {location}"
    );
    let r = refresh(&s, &refresh_token(&tokens)).await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
}

#[tokio::test]
async fn the_absolute_lifetime_ends_console_sessions() {
    let app = short_absolute().await;
    let b = console_session(&app, "admin", ADMIN_PASSWORD).await;
    app.clock.advance(40 * 60);
    assert_eq!(b.get(&app.url("/admin/clients")).await.status, 200);
    app.clock.advance(21 * 60);
    let page = b.get(&app.url("/admin/clients")).await;
    assert_eq!(page.status, 303, "back to sign-in: {}", page.body);
    assert!(
        page.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/login")),
        "{:?}",
        page.location
    );
}
