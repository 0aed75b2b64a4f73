//! RFC 7662 introspection and RFC 7009 revocation policies.

use oauth2::{AccessToken, IntrospectionUrl, TokenIntrospectionResponse};
use tessera::clock::Clock;
use tessera::model::{GrantType, SigningAlg};
use tessera::service::clients::ClientSpec;

use crate::helpers::web::no_redirects;
use crate::helpers::{TestApp, basic, expect_error, spawn_app};
use crate::signin::{Browser, oidc_client, setup_with, sign_in_tokens};

const API: &str = "https://api.example.com/orders";

struct Parties {
    app: TestApp,
    owner: (String, String),
    stranger: (String, String),
    api_server: (String, String),
}

async fn parties() -> Parties {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    app.resource("https://api.example.com/other", SigningAlg::ES256)
        .await;
    let creds = |r: tessera::service::clients::Registered| {
        (r.client.client_id.0, r.secret.expect("secret"))
    };
    let owner = creds(app.client(&[API]).await);
    let stranger = creds(app.client(&[API]).await);
    let mut spec = ClientSpec::new("orders API");
    spec.resources = vec!["https://api.example.com/other".into()];
    spec.resource_server_for = Some(API.into());
    let api_server = creds(
        app.core
            .create_client(spec, &tessera::model::Actor::cli())
            .await
            .expect("rs client"),
    );
    Parties {
        app,
        owner,
        stranger,
        api_server,
    }
}

#[tokio::test]
async fn who_may_see_a_token_active() {
    let p = parties().await;
    let token = p.app.access_token(&p.owner.0, &p.owner.1).await;
    let mine = p.app.introspect(&p.owner.0, &p.owner.1, &token).await;
    assert_eq!(mine["active"], true);
    for field in [
        "scope",
        "client_id",
        "sub",
        "aud",
        "iss",
        "exp",
        "iat",
        "jti",
        "token_type",
    ] {
        assert!(!mine[field].is_null(), "{field} missing in {mine}");
    }
    assert_eq!(mine["client_id"], p.owner.0.as_str());
    assert_eq!(mine["aud"], API);
    assert_eq!(mine["iss"], p.app.base.as_str());
    // The resource server the token is for may introspect it.
    let rs = p
        .app
        .introspect(&p.api_server.0, &p.api_server.1, &token)
        .await;
    assert_eq!(rs["active"], true);
    // Anyone else learns nothing.
    let other = p.app.introspect(&p.stranger.0, &p.stranger.1, &token).await;
    assert_eq!(other, serde_json::json!({"active": false}));
    // Unknown and malformed tokens are simply inactive.
    for junk in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let v = p.app.introspect(&p.owner.0, &p.owner.1, junk).await;
        assert_eq!(v, serde_json::json!({"active": false}), "{junk}");
    }
}

#[tokio::test]
async fn introspection_requires_client_authentication() {
    let p = parties().await;
    let token = p.app.access_token(&p.owner.0, &p.owner.1).await;
    let r = p
        .app
        .post_form("/introspect", None, &format!("token={token}"))
        .await;
    assert_eq!(expect_error(r, 401).await, "invalid_client");
    let r = p
        .app
        .post_form(
            "/introspect",
            Some(&basic(&p.owner.0, "nope")),
            &format!("token={token}"),
        )
        .await;
    assert_eq!(expect_error(r, 401).await, "invalid_client");
    let r = p
        .app
        .post_form("/introspect", Some(&basic(&p.owner.0, &p.owner.1)), "")
        .await;
    assert_eq!(expect_error(r, 400).await, "invalid_request");
}

#[tokio::test]
async fn expired_tokens_are_inactive() {
    let p = parties().await;
    let token = p.app.access_token(&p.owner.0, &p.owner.1).await;
    p.app.clock.advance(601);
    let v = p.app.introspect(&p.owner.0, &p.owner.1, &token).await;
    assert_eq!(v["active"], false);
}

#[tokio::test]
async fn a_disabled_client_makes_its_tokens_inactive() {
    let p = parties().await;
    let token = p.app.access_token(&p.owner.0, &p.owner.1).await;
    let client = p.app.core.client(&p.owner.0).await.expect("client");
    let mut spec = ClientSpec::from_client(&client);
    spec.disabled = true;
    p.app
        .core
        .update_client(&p.owner.0, spec, &tessera::model::Actor::cli())
        .await
        .expect("disable");
    let v = p
        .app
        .introspect(&p.api_server.0, &p.api_server.1, &token)
        .await;
    assert_eq!(v["active"], false);
}

#[tokio::test]
async fn revocation_policies() {
    let p = parties().await;
    let token = p.app.access_token(&p.owner.0, &p.owner.1).await;
    // Another client may not revoke it, and the token stays valid.
    let r = p
        .app
        .post_form(
            "/revoke",
            Some(&basic(&p.stranger.0, &p.stranger.1)),
            &format!("token={token}"),
        )
        .await;
    assert_eq!(expect_error(r, 400).await, "unauthorized_client");
    assert_eq!(
        p.app.introspect(&p.owner.0, &p.owner.1, &token).await["active"],
        true
    );
    // Unknown tokens: 200 (RFC 7009 §2.2).
    let r = p
        .app
        .post_form(
            "/revoke",
            Some(&basic(&p.owner.0, &p.owner.1)),
            "token=unknown",
        )
        .await;
    assert_eq!(r.status(), 200);
    // Unauthenticated: 401.
    let r = p
        .app
        .post_form("/revoke", None, &format!("token={token}"))
        .await;
    assert_eq!(expect_error(r, 401).await, "invalid_client");
    // The owner revokes: inactive for everyone from now on, and revoking twice is fine.
    for _ in 0..2 {
        let r = p
            .app
            .post_form(
                "/revoke",
                Some(&basic(&p.owner.0, &p.owner.1)),
                &format!("token={token}&token_type_hint=access_token"),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
    assert_eq!(
        p.app.introspect(&p.owner.0, &p.owner.1, &token).await["active"],
        false
    );
    assert_eq!(
        p.app
            .introspect(&p.api_server.0, &p.api_server.1, &token)
            .await["active"],
        false
    );
    // Other tokens of the same client are untouched.
    let fresh = p.app.access_token(&p.owner.0, &p.owner.1).await;
    assert_eq!(
        p.app.introspect(&p.owner.0, &p.owner.1, &fresh).await["active"],
        true
    );
}

/// RFC 7662 §2.1: the token may be a refresh token, whatever `token_type_hint` says. Its own
/// client sees it active while it is the live token of its family; nobody else ever does.
#[tokio::test]
async fn refresh_tokens_are_active_only_to_their_client_while_live() {
    let s = setup_with(|spec| {
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        spec.refresh_idle_ttl = Some(3600);
    })
    .await;
    let t = sign_in_tokens(&s, &Browser::new(), "openid offline_access read").await;
    let rt = t["refresh_token"].as_str().expect("rt").to_owned();

    // Through an independent client, with the hint saying otherwise.
    let client = oidc_client(&s)
        .set_introspection_url(IntrospectionUrl::new(s.app.url("/introspect")).expect("url"));
    let http = no_redirects();
    let answer = client
        .introspect(&AccessToken::new(rt.clone()))
        .set_token_type_hint("access_token")
        .request_async(&http)
        .await
        .expect("introspection");
    assert!(answer.active());
    assert_eq!(answer.scopes().map(Vec::len), Some(3));

    let v = s.app.introspect(&s.client_id, &s.secret, &rt).await;
    let now = s.app.clock.now();
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["token_type"], "refresh_token");
    assert_eq!(v["client_id"], s.client_id.as_str());
    assert_eq!(v["scope"], "offline_access openid read");
    assert_eq!(v["sub"], s.sub.as_str());
    assert_eq!(v["iat"], now);
    assert_eq!(v["exp"], now + 3600);

    // Another client, even one that may introspect: nothing.
    let other = s.app.client(&[API]).await;
    let other = (other.client.client_id.0, other.secret.expect("secret"));
    let v = s.app.introspect(&other.0, &other.1, &rt).await;
    assert_eq!(v, serde_json::json!({"active": false}));

    // Rotated out: inactive; its successor is live.
    let r = crate::refresh::refresh(&s, &rt, "").await;
    let next: serde_json::Value = r.json().await.expect("json");
    let next = next["refresh_token"]
        .as_str()
        .expect("successor")
        .to_owned();
    assert_eq!(
        s.app.introspect(&s.client_id, &s.secret, &rt).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        s.app.introspect(&s.client_id, &s.secret, &next).await["active"],
        true
    );

    // Expired (idle lifetime): inactive.
    s.app.clock.advance(3601);
    assert_eq!(
        s.app.introspect(&s.client_id, &s.secret, &next).await["active"],
        false
    );

    // Revoked: inactive.
    let t = sign_in_tokens(&s, &Browser::new(), "openid offline_access read").await;
    let rt = t["refresh_token"].as_str().expect("rt");
    assert_eq!(
        s.app.introspect(&s.client_id, &s.secret, rt).await["active"],
        true
    );
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
        s.app.introspect(&s.client_id, &s.secret, rt).await["active"],
        false
    );
}
