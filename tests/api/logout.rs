//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and CORS for browser apps.

use tessera::model::GrantType;
use tessera::model::kind;

use crate::audit::events;
use crate::helpers::oauth::{code_exchange_body, sign_in_code};
use crate::helpers::{basic, expect_error};
use crate::signin::{Browser, Setup, authorize_for, enc, hidden, setup_with, sign_in_tokens};

const AFTER: &str = "http://127.0.0.1:9/signed-out";

async fn logout_setup() -> Setup {
    setup_with(|spec| {
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        spec.post_logout_redirect_uris = vec![AFTER.into()];
        spec.allowed_origins = vec!["https://spa.example.com".into()];
    })
    .await
}

async fn refresh_status(s: &Setup, token: &str) -> u16 {
    crate::refresh::refresh(s, token, "")
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn logout_with_a_hint_ends_the_session_and_its_refresh_tokens() {
    let s = logout_setup().await;
    let b = Browser::new();
    let bound = sign_in_tokens(&s, &b, "openid").await;
    let offline = sign_in_tokens(&s, &b, "openid offline_access").await;
    let hint = bound["id_token"].as_str().expect("id token");
    // Expiry of the hint is tolerated.
    s.app.clock.advance(3600);
    let r = b
        .get(&s.app.url(&format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye",
            enc(AFTER)
        )))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some("http://127.0.0.1:9/signed-out?state=bye")
    );
    // The session is gone: signing in is needed again.
    let r = b.get(&authorize_for(&s, "openid")).await;
    assert!(r.location.expect("location").starts_with("/login"));
    // Session-bound refresh tokens died with it; offline ones did not.
    assert_eq!(
        refresh_status(&s, bound["refresh_token"].as_str().expect("rt")).await,
        400
    );
    assert_eq!(
        refresh_status(&s, offline["refresh_token"].as_str().expect("rt")).await,
        200
    );
}

#[tokio::test]
async fn logout_without_a_hint_asks_first_and_needs_the_csrf_token() {
    let s = logout_setup().await;
    let b = Browser::new();
    let bound = sign_in_tokens(&s, &b, "openid").await;
    let page = b.get(&s.app.url("/logout")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign out?"));
    let r = b
        .post(
            &s.app.url("/logout"),
            &[("confirm", "yes"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        refresh_status(&s, bound["refresh_token"].as_str().expect("rt")).await,
        200,
        "still signed in"
    );
    let page = b.get(&s.app.url("/logout")).await;
    let r = b
        .post(
            &s.app.url("/logout"),
            &[("confirm", "yes"), ("csrf", &hidden(&page.body, "csrf"))],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("You are signed out"));
}

#[tokio::test]
async fn logout_refuses_unregistered_destinations_and_bad_hints() {
    let s = logout_setup().await;
    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid").await;
    let hint = t["id_token"].as_str().expect("id token");
    for url in [
        format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            enc("https://evil.example/")
        ),
        format!("/logout?post_logout_redirect_uri={}", enc(AFTER)),
        format!("/logout?id_token_hint={hint}&client_id=c_other"),
        "/logout?id_token_hint=not.a.token".to_owned(),
    ] {
        let r = b.get(&s.app.url(&url)).await;
        assert_eq!(r.status, 400, "{url}");
        assert!(r.location.is_none());
    }
}

#[tokio::test]
async fn cors_only_for_registered_origins() {
    let s = logout_setup().await;
    let http = &s.app.http;
    let preflight = |origin: &'static str, path: &'static str| {
        http.request(reqwest::Method::OPTIONS, s.app.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    for path in ["/token", "/revoke", "/userinfo"] {
        // Explicitly allowed, and derived from the redirect URI.
        for origin in ["https://spa.example.com", "http://127.0.0.1:9"] {
            let r = preflight(origin, path).await.expect("preflight");
            assert_eq!(r.status(), 204, "{path} {origin}");
            assert_eq!(r.headers()["access-control-allow-origin"], origin);
            assert!(
                r.headers()
                    .get("access-control-allow-credentials")
                    .is_none()
            );
        }
        let r = preflight("https://evil.example", path)
            .await
            .expect("preflight");
        assert_eq!(r.status(), 403);
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }
    // The token answer is readable by the client's own origin only.
    let m2m = s.app.client(&[crate::signin::API]).await;
    let (id, secret) = (
        m2m.client.client_id.0.clone(),
        m2m.secret.clone().expect("secret"),
    );
    let send = |origin: &'static str, auth: String| {
        http.post(s.app.url("/token"))
            .header("origin", origin)
            .header("authorization", auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
    };
    let r = send("https://spa.example.com", basic(&id, &secret))
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("access-control-allow-origin").is_none(),
        "not this client's origin"
    );
    // Introspection never sends CORS headers.
    let r = http
        .post(s.app.url("/introspect"))
        .header("origin", "https://spa.example.com")
        .header("authorization", basic(&s.client_id, &s.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=x")
        .send()
        .await
        .expect("introspect");
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // An error for a registered origin is readable.
    let r = send("https://spa.example.com", basic(&s.client_id, "wrong"))
        .await
        .expect("token");
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://spa.example.com"
    );
    // The signed-in app's own token request from its origin is readable.
    let b = Browser::new();
    let code = sign_in_code(&s, &b, &authorize_for(&s, "openid")).await;
    let r = http
        .post(s.app.url("/token"))
        .header("origin", "https://spa.example.com")
        .header("authorization", basic(&s.client_id, &s.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(code_exchange_body(&code))
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://spa.example.com"
    );
    assert_ne!(r.headers()["access-control-allow-origin"], "*");
}

/// Logout revokes the session's refresh tokens; using one afterwards is `invalid_grant` and
/// audited as a revoked token, not as a replay (nothing was rotated out).
#[tokio::test]
async fn a_token_revoked_by_logout_is_refused_without_a_replay() {
    let s = logout_setup().await;
    let b = Browser::new();
    let bound = sign_in_tokens(&s, &b, "openid").await;
    let rt = bound["refresh_token"].as_str().expect("rt");
    let hint = bound["id_token"].as_str().expect("id token");
    let r = b
        .get(&s.app.url(&format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            enc(AFTER)
        )))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    let r = crate::refresh::refresh(&s, rt, "").await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
    assert!(
        events(&s.app, kind::REFRESH_REPLAY_DETECTED)
            .await
            .is_empty()
    );
    let used = events(&s.app, kind::REFRESH_REVOKED_TOKEN_USED).await;
    assert_eq!(used.len(), 1);
    let e = &used[0].event;
    assert_eq!(e.client_id.as_deref(), Some(s.client_id.as_str()));
    assert_eq!(e.target.as_deref(), Some(s.sub.as_str()));
    assert!(!serde_json::to_string(&used[0]).expect("json").contains(rt));
}
