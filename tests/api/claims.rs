//! The standard OpenID scopes and claims (OIDC Core §5.1, §5.4): `profile`, `email`, `address`
//! and `phone` release what the user has at /userinfo; unknown scope values in an OpenID
//! request are ignored (§3.1.2.1); discovery lists them all.

use serde_json::{Value, json};
use tessera::clock::Clock;
use tessera::model::{Actor, Address, UserClaims};
use tessera::service::ServiceError;

use crate::signin::{
    Browser, Setup, authorize_for, callback_params, setup_with, sign_in_and_consent, sign_in_tokens,
};

async fn userinfo(s: &Setup, token: &str) -> Value {
    let r = s
        .app
        .http
        .get(s.app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

fn ada() -> UserClaims {
    UserClaims {
        given_name: Some("Ada".into()),
        family_name: Some("Lovelace".into()),
        nickname: Some("ada".into()),
        website: Some("https://example.com/ada".into()),
        birthdate: Some("1815-12-10".into()),
        zoneinfo: Some("Europe/London".into()),
        locale: Some("en-GB".into()),
        phone_number: Some("+44 20 7946 0958".into()),
        phone_number_verified: true,
        address: Some(Address {
            locality: Some("London".into()),
            country: Some("UK".into()),
            ..Address::default()
        }),
        ..UserClaims::default()
    }
}

#[tokio::test]
async fn each_scope_releases_its_claims_at_userinfo() {
    let s = setup_with(|_| {}).await;
    s.app.clock.advance(60);
    let user = s
        .app
        .core
        .update_user_claims(&s.sub, ada(), &Actor::cli())
        .await
        .expect("claims");
    assert_eq!(user.updated_at, s.app.clock.now(), "set on every change");

    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid profile email address phone").await;
    let all = userinfo(&s, t["access_token"].as_str().expect("at")).await;
    assert_eq!(
        all,
        json!({
            "sub": s.sub,
            "name": "Alice Example",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "nickname": "ada",
            "preferred_username": "alice",
            "website": "https://example.com/ada",
            "birthdate": "1815-12-10",
            "zoneinfo": "Europe/London",
            "locale": "en-GB",
            "updated_at": user.updated_at,
            "email": "alice@example.com",
            "email_verified": true,
            "phone_number": "+44 20 7946 0958",
            "phone_number_verified": true,
            "address": {"locality": "London", "country": "UK"},
        })
    );

    let t = sign_in_tokens(&s, &b, "openid phone").await;
    let phone = userinfo(&s, t["access_token"].as_str().expect("at")).await;
    assert_eq!(
        phone,
        json!({"sub": s.sub, "phone_number": "+44 20 7946 0958", "phone_number_verified": true})
    );
}

/// OIDC Core §3.1.2.1: unknown scope values are ignored in an OpenID request; a plain OAuth
/// request still refuses them (RFC 6749 §3.3).
#[tokio::test]
async fn unknown_scopes_are_ignored_in_openid_requests_only() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let t = sign_in_tokens(&s, &b, "openid profile shoe_size").await;
    assert_eq!(t["scope"], "openid profile");

    let r = b.get(&authorize_for(&s, "read shoe_size")).await;
    let location = r.location.expect("redirect");
    assert_eq!(callback_params(&location)["error"], "invalid_scope");
    let back = sign_in_and_consent(&b, &s.app, &authorize_for(&s, "read")).await;
    assert!(callback_params(&back).contains_key("code"));
}

#[tokio::test]
async fn discovery_lists_the_standard_scopes_and_claims() {
    let s = setup_with(|_| {}).await;
    let d: Value = s
        .app
        .http
        .get(s.app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    let list = |key: &str| -> Vec<String> {
        serde_json::from_value(d[key].clone()).expect("a list of strings")
    };
    let scopes = list("scopes_supported");
    for scope in [
        "openid",
        "profile",
        "email",
        "address",
        "phone",
        "offline_access",
    ] {
        assert!(scopes.iter().any(|s| s == scope), "{scope}: {scopes:?}");
    }
    let claims = list("claims_supported");
    for claim in [
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
        "address",
        "phone_number",
        "phone_number_verified",
    ] {
        assert!(claims.iter().any(|c| c == claim), "{claim}: {claims:?}");
    }
}

#[tokio::test]
async fn malformed_claims_are_refused_naming_the_field() {
    let s = setup_with(|_| {}).await;
    let bad = UserClaims {
        picture: Some("javascript:alert(1)".into()),
        ..UserClaims::default()
    };
    match s
        .app
        .core
        .update_user_claims(&s.sub, bad, &Actor::cli())
        .await
    {
        Err(ServiceError::Invalid { field, .. }) => assert_eq!(field, "picture"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
