//! Refresh tokens: rotation, replay detection, session binding, narrower scopes, revocation
//! (RFC 6749 §6, RFC 9700 §4.14, OIDC Core §12).

use jsonwebtoken::dangerous::insecure_decode;
use oauth2::{RefreshToken, TokenResponse};
use serde_json::Value;
use tessera::model::GrantType;
use tessera::model::kind;

use crate::audit::events;
use crate::helpers::oauth::post_token;
use crate::helpers::web::no_redirects;
use crate::helpers::{basic, expect_error};
use crate::signin::{
    Browser, CHALLENGE, REDIRECT, Setup, callback_params, enc, oidc_client, setup_with,
    sign_in_and_consent, sign_in_tokens,
};

async fn refresh_setup() -> Setup {
    setup_with(|spec| {
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    })
    .await
}

pub async fn refresh(s: &Setup, token: &str, extra: &str) -> reqwest::Response {
    let body = format!("grant_type=refresh_token&refresh_token={token}{extra}");
    post_token(s, &body).await
}

fn claims(jwt: &str) -> Value {
    insecure_decode::<Value>(jwt).expect("jwt").claims
}

#[tokio::test]
async fn rotation_and_replay_revokes_the_family() {
    let s = refresh_setup().await;
    let b = Browser::new();
    let first = sign_in_tokens(&s, &b, "openid profile offline_access read").await;
    let rt1 = first["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let id1 = claims(first["id_token"].as_str().expect("id token"));
    s.app.clock.advance(5);

    // The oauth2 crate refreshes: a new access token, a new refresh token and an ID token.
    let client = oidc_client(&s);
    let http = no_redirects();
    let second = client
        .exchange_refresh_token(&RefreshToken::new(rt1.clone()))
        .request_async(&http)
        .await
        .expect("refresh");
    let rt2 = second.refresh_token().expect("rotated").secret().clone();
    assert_ne!(rt1, rt2, "every use rotates");
    let id2 = claims(
        second
            .extra_fields()
            .id_token
            .as_deref()
            .expect("id token on refresh"),
    );
    // OIDC Core §12.2: same iss, sub, aud, azp, auth_time; new iat; no nonce.
    for k in ["iss", "sub", "aud", "azp", "auth_time"] {
        assert_eq!(id1[k], id2[k], "{k}");
    }
    assert!(id2["iat"].as_i64() > id1["iat"].as_i64());
    assert!(id2.get("nonce").is_none());
    assert_eq!(id1["nonce"], "n1");
    let access2 = second.access_token().secret().clone();
    assert_eq!(
        s.app.introspect(&s.client_id, &s.secret, &access2).await["active"],
        true
    );

    // The rotated token used again: refused, and the whole family dies with it.
    let r = refresh(&s, &rt1, "").await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
    let r = refresh(&s, &rt2, "").await;
    assert_eq!(
        expect_error(r, 400).await,
        "invalid_grant",
        "the successor is revoked too"
    );
    assert_eq!(
        s.app.introspect(&s.client_id, &s.secret, &access2).await["active"],
        false
    );
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_the_grant_stays() {
    let s = refresh_setup().await;
    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid offline_access read").await;
    let r = refresh(&s, t["refresh_token"].as_str().expect("rt"), "&scope=read").await;
    assert_eq!(r.status(), 200);
    let narrow: Value = r.json().await.expect("json");
    assert_eq!(narrow["scope"], "read");
    assert!(
        narrow.get("id_token").is_none(),
        "no openid in this access token's scope"
    );
    let r = refresh(&s, narrow["refresh_token"].as_str().expect("rt"), "").await;
    let full: Value = r.json().await.expect("json");
    assert_eq!(
        full["scope"], "offline_access openid read",
        "the new refresh token kept the grant"
    );
    let r = refresh(
        &s,
        full["refresh_token"].as_str().expect("rt"),
        "&scope=write",
    )
    .await;
    assert_eq!(expect_error(r, 400).await, "invalid_scope");
}

#[tokio::test]
async fn without_offline_access_the_token_dies_with_the_session() {
    let s = refresh_setup().await;
    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid read").await;
    let rt = t["refresh_token"]
        .as_str()
        .expect("session-bound refresh token");
    let r = refresh(&s, rt, "").await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.expect("json");
    // 31 idle minutes end the browser session, and the refresh token with it.
    s.app.clock.advance(31 * 60);
    let r = refresh(&s, t["refresh_token"].as_str().expect("rt"), "").await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
}

#[tokio::test]
async fn offline_tokens_outlive_the_session_until_their_idle_lifetime() {
    let s = refresh_setup().await;
    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid offline_access").await;
    s.app.clock.advance(2 * 86_400);
    let r = refresh(&s, t["refresh_token"].as_str().expect("rt"), "").await;
    assert_eq!(r.status(), 200, "offline: the session is long gone");
    let t: Value = r.json().await.expect("json");
    s.app.clock.advance(31 * 86_400);
    let r = refresh(&s, t["refresh_token"].as_str().expect("rt"), "").await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant", "30 idle days");
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_and_disabled_users_cannot_refresh() {
    let s = refresh_setup().await;
    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid offline_access read").await;
    let (rt, access) = (
        t["refresh_token"].as_str().expect("rt"),
        t["access_token"].as_str().expect("at"),
    );
    // Another client may not revoke it.
    let other = s.app.client(&[crate::signin::API]).await;
    let r = s
        .app
        .post_form(
            "/revoke",
            Some(&basic(
                &other.client.client_id.0,
                other.secret.as_deref().expect("secret"),
            )),
            &format!("token={rt}"),
        )
        .await;
    assert_eq!(expect_error(r, 400).await, "unauthorized_client");
    let r = s
        .app
        .post_form(
            "/revoke",
            Some(&basic(&s.client_id, &s.secret)),
            &format!("token={rt}&token_type_hint=refresh_token"),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.app.introspect(&s.client_id, &s.secret, access).await["active"],
        false
    );
    let r = refresh(&s, rt, "").await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");

    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid offline_access read").await;
    s.app
        .core
        .set_user_disabled("alice", true, &tessera::model::Actor::cli())
        .await
        .expect("disable");
    let access = t["access_token"].as_str().expect("at");
    assert_eq!(
        s.app.introspect(&s.client_id, &s.secret, access).await["active"],
        false
    );
    let r = refresh(&s, t["refresh_token"].as_str().expect("rt"), "").await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
}

#[tokio::test]
async fn offline_access_always_asks_for_consent() {
    let s = setup_with(|spec| {
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        spec.first_party = true;
    })
    .await;
    let b = Browser::new();
    let url = |scope: &str| {
        s.app.url(&format!(
            "/authorize?client_id={}&redirect_uri={}&response_type=code&scope={}&state=s\
             &code_challenge={CHALLENGE}&code_challenge_method=S256",
            s.client_id,
            enc(REDIRECT),
            enc(scope)
        ))
    };
    // First-party: no consent page for openid…
    let back = sign_in_and_consent(&b, &s.app, &url("openid")).await;
    assert!(callback_params(&back).contains_key("code"));
    // …but offline_access still needs the user's word (OIDC Core §11).
    let r = b.get(&url("openid offline_access")).await;
    assert_eq!(r.status, 303);
    assert!(r.location.expect("location").starts_with("/consent"));
}

#[tokio::test]
async fn a_grace_window_gives_two_tabs_the_same_successor() {
    let s = setup_with(|spec| {
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        spec.refresh_grace_seconds = Some(5);
    })
    .await;
    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid offline_access").await;
    let rt1 = t["refresh_token"].as_str().expect("rt").to_owned();
    let first: Value = refresh(&s, &rt1, "").await.json().await.expect("json");
    let rt2 = first["refresh_token"].as_str().expect("rt2").to_owned();
    // The other tab, a moment later, with the same token: the same successor.
    s.app.clock.advance(2);
    let r = refresh(&s, &rt1, "").await;
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.expect("json");
    assert_eq!(second["refresh_token"], rt2.as_str());
    assert_ne!(second["access_token"], first["access_token"]);
    // After the window it is a replay: refused, and the family is revoked.
    s.app.clock.advance(10);
    let r = refresh(&s, &rt1, "").await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
    let r = refresh(&s, &rt2, "").await;
    assert_eq!(expect_error(r, 400).await, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_without_a_grace_window_succeed_at_most_once() {
    let s = refresh_setup().await;
    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid offline_access").await;
    let rt = t["refresh_token"].as_str().expect("rt").to_owned();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (http, url, auth) = (
            s.app.http.clone(),
            s.app.url("/token"),
            basic(&s.client_id, &s.secret),
        );
        let body = format!("grant_type=refresh_token&refresh_token={rt}");
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
    for task in tasks {
        if task.await.expect("task") == 200 {
            ok += 1;
        }
    }
    assert!(ok <= 1, "{ok} concurrent refreshes succeeded");
}

/// A token revoked while live (at /revoke, by "sign out everywhere") is refused as revoked, not
/// as a replay; a token rotated out before the revocation is still a replay.
#[tokio::test]
async fn revoked_tokens_are_refused_as_revoked_and_rotated_ones_as_replays() {
    let s = refresh_setup().await;
    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid offline_access read").await;
    let rt = t["refresh_token"].as_str().expect("rt");
    let r = s
        .app
        .post_form(
            "/revoke",
            Some(&basic(&s.client_id, &s.secret)),
            &format!("token={rt}"),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        expect_error(refresh(&s, rt, "").await, 400).await,
        "invalid_grant"
    );

    let t = sign_in_tokens(&s, &b, "openid offline_access read").await;
    let rotated = t["refresh_token"].as_str().expect("rt");
    let r = refresh(&s, rotated, "").await;
    let live: Value = r.json().await.expect("json");
    let live = live["refresh_token"].as_str().expect("successor");
    s.app
        .core
        .sign_out_everywhere(&s.sub, &tessera::model::Actor::cli())
        .await
        .expect("sign out everywhere");
    assert_eq!(
        expect_error(refresh(&s, live, "").await, 400).await,
        "invalid_grant"
    );

    let used = events(&s.app, kind::REFRESH_REVOKED_TOKEN_USED).await;
    assert_eq!(used.len(), 2, "{used:?}");
    assert!(
        events(&s.app, kind::REFRESH_REPLAY_DETECTED)
            .await
            .is_empty()
    );
    assert_eq!(
        expect_error(refresh(&s, rotated, "").await, 400).await,
        "invalid_grant"
    );
    assert_eq!(events(&s.app, kind::REFRESH_REPLAY_DETECTED).await.len(), 1);
}
