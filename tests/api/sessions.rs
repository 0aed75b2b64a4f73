//! Browser sessions end when they should: at the absolute lifetime however active they stay
//! (pages, console, refresh tokens bound to the session), and at once when the account's
//! credentials change or an admin signs the user out everywhere.

use serde_json::Value;
use tessera::model::GrantType;

use crate::console::console_session;
use crate::helpers::{ADMIN_PASSWORD, TestApp, expect_error, spawn_app_with};
use crate::refresh::refresh;
use crate::signin::{Browser, Setup, authorize_for, hidden, setup_in, sign_in_tokens};

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
    let r = refresh(&s, &refresh_token(&tokens), "").await;
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
    let r = refresh(&s, &refresh_token(&tokens), "").await;
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

/// Alice signed in through the browser `b`, holding an offline refresh token and an access
/// token.
async fn signed_in_alice() -> (Setup, Browser, Value) {
    let s = code_and_refresh(crate::helpers::spawn_app().await).await;
    let b = Browser::new();
    let tokens = sign_in_tokens(&s, &b, "openid offline_access read").await;
    (s, b, tokens)
}

/// Alice's browser must sign in again, her offline refresh token is refused and the access
/// token issued with it is inactive.
async fn assert_signed_out(s: &Setup, b: &Browser, tokens: &Value) {
    let page = b.get(&authorize_for(s, "openid read")).await;
    assert_eq!(page.status, 303);
    let location = page.location.expect("location");
    assert!(location.contains("/login"), "signed out: {location}");
    let r = refresh(s, &refresh_token(tokens), "").await;
    assert_eq!(
        expect_error(r, 400).await,
        "invalid_grant",
        "refresh refused"
    );
    let access = tokens["access_token"].as_str().expect("access token");
    let answer = s.app.introspect(&s.client_id, &s.secret, access).await;
    assert_eq!(answer["active"], false, "access token revoked: {answer}");
}

#[tokio::test]
async fn a_password_set_by_an_admin_signs_the_user_out_everywhere() {
    let (s, b, tokens) = signed_in_alice().await;
    let admin = console_session(&s.app, "admin", ADMIN_PASSWORD).await;
    let sub = s.sub.clone();
    let page = admin.get(&s.app.url(&format!("/admin/users/{sub}"))).await;
    let csrf = hidden(&page.body, "csrf");
    let done = admin
        .post(
            &s.app.url(&format!("/admin/users/{sub}/password")),
            &[
                ("csrf", &csrf),
                ("password", "a brand new password for alice"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_signed_out(&s, &b, &tokens).await;
}

#[tokio::test]
async fn sign_out_everywhere_from_the_console() {
    let (s, b, tokens) = signed_in_alice().await;
    let admin = console_session(&s.app, "admin", ADMIN_PASSWORD).await;
    let sub = s.sub.clone();
    let page = admin.get(&s.app.url(&format!("/admin/users/{sub}"))).await;
    assert!(page.body.contains("Sign out everywhere"), "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    let url = s.app.url(&format!("/admin/users/{sub}/revoke"));
    let form = [("csrf", csrf.as_str()), ("what", "everywhere")];
    let ask = admin.post(&url, &form).await;
    assert_eq!(ask.status, 200, "a confirmation page first");
    let r = refresh(&s, &refresh_token(&tokens), "").await;
    assert_eq!(r.status(), 200, "nothing ended before the confirmation");
    let tokens: Value = r.json().await.expect("json");
    let done = admin
        .post(&url, &[form[0], form[1], ("confirmed", "yes")])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_signed_out(&s, &b, &tokens).await;
    let events = s
        .app
        .core
        .audit_events(
            &tessera::model::AuditFilter {
                kind: Some("user.signed_out_everywhere".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .expect("audit");
    assert_eq!(events.len(), 1, "one audit line: {events:?}");
}

/// Disabling revokes the refresh tokens themselves: enabling the user again revives none.
#[tokio::test]
async fn disabling_revokes_refresh_tokens_for_good() {
    let (s, b, tokens) = signed_in_alice().await;
    let cli = tessera::model::Actor::cli();
    s.app
        .core
        .set_user_disabled("alice", true, &cli)
        .await
        .expect("disable");
    s.app
        .core
        .set_user_disabled("alice", false, &cli)
        .await
        .expect("enable");
    assert_signed_out(&s, &b, &tokens).await;
}

/// Changing your own password needs the current one and a different new one; the session in
/// use stays (with a new id), every other session of the account ends.
#[tokio::test]
async fn changing_your_own_password_needs_the_current_one_and_ends_other_sessions() {
    let app = crate::helpers::spawn_app().await;
    let elsewhere = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let b = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let form = b.get(&app.url("/admin/password")).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Current password"), "{}", form.body);
    let csrf = hidden(&form.body, "csrf");
    let new = "a new admin password, long enough";
    let post = |current: &'static str, password: &'static str| {
        let csrf = csrf.clone();
        let b = &b;
        let url = app.url("/admin/password");
        async move {
            b.post(
                &url,
                &[
                    ("csrf", csrf.as_str()),
                    ("current_password", current),
                    ("password", password),
                    ("confirm", password),
                ],
            )
            .await
        }
    };
    let wrong = post("not the password at all", new).await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.body.contains("is not your current password"),
        "{}",
        wrong.body
    );
    let same = post(ADMIN_PASSWORD, ADMIN_PASSWORD).await;
    assert_eq!(same.status, 422);
    assert!(same.body.contains("must differ"), "{}", same.body);
    assert_eq!(elsewhere.get(&app.url("/admin/clients")).await.status, 200);

    let done = post(ADMIN_PASSWORD, new).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        b.get(&app.url("/admin/clients")).await.status,
        200,
        "this session stays"
    );
    let other = elsewhere.get(&app.url("/admin/clients")).await;
    assert_eq!(other.status, 303, "the other session ended");
    assert!(
        app.core
            .authenticate_user("admin", new)
            .await
            .expect("auth")
            .is_some()
    );
}

/// OWASP Authentication Cheat Sheet, "Account Lockout": guesses of the current password on the
/// change-password form count like failed sign-ins, so a stolen session cannot guess faster than
/// the login page allows; once delayed, even the right password waits.
#[tokio::test]
async fn guesses_of_the_current_password_are_delayed_like_failed_sign_ins() {
    let app = crate::helpers::spawn_app().await;
    let b = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let form = b.get(&app.url("/admin/password")).await;
    let csrf = hidden(&form.body, "csrf");
    let new = "a new admin password, long enough";
    let post = |current: &'static str| {
        let (csrf, b, url) = (csrf.clone(), &b, app.url("/admin/password"));
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("current_password", current),
                ("password", new),
                ("confirm", new),
            ];
            b.post(&url, &fields).await
        }
    };
    for _ in 0..5 {
        let wrong = post("a guess").await;
        assert_eq!(wrong.status, 422);
        assert!(
            wrong.body.contains("is not your current password"),
            "{}",
            wrong.body
        );
    }
    let delayed = post(ADMIN_PASSWORD).await;
    assert_eq!(delayed.status, 422);
    assert!(
        delayed.body.contains("too many wrong passwords"),
        "{}",
        delayed.body
    );
    assert!(
        app.core
            .authenticate_user("admin", ADMIN_PASSWORD)
            .await
            .expect("auth")
            .is_some(),
        "the password did not change"
    );
    // The first delay is a second (limits.login_max_delay_seconds caps the doubling).
    app.clock.advance(10);
    let done = post(ADMIN_PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/admin"),
        "changed, not signed out"
    );
}

/// OWASP CSRF Prevention Cheat Sheet, "Login CSRF": the token of the signed-out login page (which
/// an attacker can fetch for a browser, or plant) is worthless once signed in.
#[tokio::test]
async fn signing_in_rotates_the_csrf_token() {
    let app = crate::helpers::spawn_app().await;
    let b = Browser::new();
    let login = b.get(&app.url("/login?next=%2Fadmin%2Fpassword")).await;
    let before = hidden(&login.body, "csrf");
    let done = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &before),
                ("next", "/admin/password"),
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let form = b.get(&app.url("/admin/password")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let after = hidden(&form.body, "csrf");
    assert_ne!(before, after, "a new token after sign-in");
    fn fields(csrf: &str) -> [(&str, &str); 4] {
        [
            ("csrf", csrf),
            ("current_password", ADMIN_PASSWORD),
            ("password", "a brand new passphrase 42"),
            ("confirm", "a brand new passphrase 42"),
        ]
    }
    let old = b.post(&app.url("/admin/password"), &fields(&before)).await;
    assert_eq!(
        old.status, 403,
        "the pre-sign-in token is refused: {}",
        old.body
    );
    let new = b.post(&app.url("/admin/password"), &fields(&after)).await;
    assert_eq!(new.status, 303, "{}", new.body);
}
