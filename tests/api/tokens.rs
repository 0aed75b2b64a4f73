//! client_credentials end to end: an independent OAuth client (the `oauth2` crate) gets a token,
//! and a downstream service verifies it against /jwks.json exactly as it would in production.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use oauth2::{AuthType, Scope, TokenResponse};
use serde_json::Value;
use tessera::model::{AuthMethod, SigningAlg};
use tessera::service::clients::ClientSpec;

use crate::helpers::oauth::token_client;
use crate::helpers::web::no_redirects;
use crate::helpers::{TestApp, basic, expect_error, spawn_app};

const API: &str = "https://api.example.com/orders";

/// Verifies `token` as a resource server would: signature against the published JWKS, the
/// `at+jwt` type (jsonwebtoken does not check it), issuer, audience and expiry.
pub async fn verify(app: &TestApp, token: &str, audience: &str) -> (jsonwebtoken::Header, Value) {
    let jwks: JwkSet = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let header = decode_header(token).expect("header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1 typ");
    let kid = header.kid.clone().expect("kid");
    let jwk = jwks.find(&kid).expect("kid is published in JWKS");
    let key = DecodingKey::from_jwk(jwk).expect("decoding key");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&app.base]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = decode::<Value>(token, &key, &validation).expect("token verifies");
    (header, data.claims)
}

#[tokio::test]
async fn oauth2_client_gets_a_token_a_downstream_service_verifies() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let id = reg.client.client_id.0.clone();
    let client = token_client(
        &app,
        &id,
        reg.secret.as_deref().expect("secret"),
        AuthType::BasicAuth,
    );
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&no_redirects())
        .await
        .expect("token response");
    assert_eq!(token.token_type().as_ref(), "bearer");
    assert_eq!(token.expires_in().expect("expires_in").as_secs(), 600);
    let (header, claims) = verify(&app, token.access_token().secret(), API).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["scope"], "read");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 22));
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert_eq!(exp - iat, 600);
}

#[tokio::test]
async fn every_algorithm_signs_verifiable_tokens() {
    let app = spawn_app().await;
    for (alg, expected) in [
        (SigningAlg::RS256, jsonwebtoken::Algorithm::RS256),
        (SigningAlg::ES256, jsonwebtoken::Algorithm::ES256),
        (SigningAlg::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let api = format!("https://api.example.com/{}", alg.as_str());
        app.resource(&api, alg).await;
        let reg = app.client(&[&api]).await;
        let token = app
            .access_token(
                &reg.client.client_id.0,
                reg.secret.as_deref().expect("secret"),
            )
            .await;
        let (header, claims) = verify(&app, &token, &api).await;
        assert_eq!(header.alg, expected);
        assert_eq!(claims["scope"], "read write", "default scopes: all granted");
    }
}

#[tokio::test]
async fn client_secret_post_works_for_clients_registered_with_it() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::EdDSA).await;
    let mut spec = ClientSpec::new("post client");
    spec.resources = vec![API.into()];
    spec.auth_method = Some(AuthMethod::ClientSecretPost);
    let reg = app
        .core
        .create_client(spec, &tessera::model::Actor::cli())
        .await
        .expect("client");
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    let token = token_client(&app, &id, &secret, AuthType::RequestBody)
        .exchange_client_credentials()
        .request_async(&no_redirects())
        .await
        .expect("token");
    verify(&app, token.access_token().secret(), API).await;
    // Its registered method is client_secret_post: Basic is refused (RFC 6749 §2.3).
    let (status, body) = app.token(&id, &secret, "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64, so `:`, `%`, `+` and
/// spaces in a client_id or secret survive.
#[tokio::test]
async fn credentials_with_reserved_characters_round_trip() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let (id, secret) = ("svc:1%2+3 4", "s:e%c+r t");
    // Generated ids never contain these characters, so the row is written directly.
    let mut client = app.client(&[API]).await.client;
    client.client_id = tessera::model::ClientId(id.into());
    client.secret_hash = Some(app.core.hasher.hash(secret));
    let audit = tessera::model::Actor::cli().event("client.created", 0, id);
    tessera::store::clients::insert(&app.core.db, &client, &audit)
        .await
        .expect("insert");
    let token = token_client(&app, id, secret, AuthType::BasicAuth)
        .exchange_client_credentials()
        .request_async(&no_redirects())
        .await
        .expect("the oauth2 crate's encoding is understood");
    let (_, claims) = verify(&app, token.access_token().secret(), API).await;
    assert_eq!(claims["client_id"], id);
    // The same with our own encoder, and through client_secret_post's form encoding: the
    // client is registered for Basic, so post is refused even with the right secret.
    let (status, _) = app.token(id, secret, "").await;
    assert_eq!(status, 200);
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
    );
    let r = app.post_form("/token", None, &body).await;
    assert_eq!(expect_error(r, 401).await, "invalid_client");
    // A wrong secret with the same characters is still refused.
    let (status, _) = app.token(id, "s:e%c+r  t", "").await;
    assert_eq!(status, 401);
}

/// RFC 8707: `resource` selects the audience; it must be absolute, fragment-free and granted.
#[tokio::test]
async fn resource_indicator_rules() {
    let app = spawn_app().await;
    let other = "https://api.example.com/billing";
    let ungranted = "https://api.example.com/secret";
    app.resource(API, SigningAlg::ES256).await;
    app.resource(other, SigningAlg::EdDSA).await;
    app.resource(ungranted, SigningAlg::EdDSA).await;
    let reg = app.client(&[API, other]).await;
    let (id, secret) = (
        reg.client.client_id.0.as_str(),
        reg.secret.as_deref().expect("secret"),
    );
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();

    let (status, body) = app
        .token(id, secret, &format!("&resource={}", enc(other)))
        .await;
    assert_eq!(status, 200, "{body}");
    let (header, claims) = verify(&app, body["access_token"].as_str().expect("token"), other).await;
    assert_eq!(claims["aud"], other);
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::EdDSA,
        "the resource's algorithm"
    );

    for bad in [
        format!("&resource={}", enc(ungranted)),
        "&resource=%2Frelative".to_owned(),
        format!("&resource={}", enc("https://api.example.com/orders#frag")),
        format!("&resource={}&resource={}", enc(API), enc(other)),
    ] {
        let (status, body) = app.token(id, secret, &bad).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_target")),
            "{bad}"
        );
    }
    // The same resource twice is one audience.
    let (status, _) = app
        .token(
            id,
            secret,
            &format!("&resource={}&resource={}", enc(API), enc(API)),
        )
        .await;
    assert_eq!(status, 200);
    // Two resources granted and no default: a request without `resource` has no audience.
    let (status, body) = app.token(id, secret, "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
}

#[tokio::test]
async fn scope_rules() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let mut spec = ClientSpec::new("narrow");
    spec.resources = vec![API.into()];
    spec.scopes = tessera::model::Scope::parse("read");
    let reg = app
        .core
        .create_client(spec, &tessera::model::Actor::cli())
        .await
        .expect("client");
    let (id, secret) = (
        reg.client.client_id.0.as_str(),
        reg.secret.as_deref().expect("secret"),
    );
    let (status, body) = app.token(id, secret, "&scope=write").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = app.token(id, secret, "&scope=read+unknown").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = app.token(id, secret, "&scope=%22bad%22").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = app.token(id, secret, "").await;
    assert_eq!(
        (status, body["scope"].as_str()),
        (200, Some("read")),
        "default scopes"
    );
}

#[tokio::test]
async fn client_ids_are_server_generated_and_never_look_like_a_subject() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let a = app.client(&[API]).await.client.client_id.0;
    let b = app.client(&[API]).await.client.client_id.0;
    assert_ne!(a, b);
    for id in [a, b] {
        assert!(id.starts_with("c_") && id.len() == 24, "{id}");
        assert!(
            uuid::Uuid::parse_str(&id).is_err(),
            "user subjects are UUIDs"
        );
    }
}

#[tokio::test]
async fn disabled_and_deleted_clients_are_refused() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    app.access_token(&id, &secret).await;
    let mut spec = ClientSpec::from_client(&reg.client);
    spec.disabled = true;
    app.core
        .update_client(&id, spec, &tessera::model::Actor::cli())
        .await
        .expect("disable");
    let r = app
        .post_form(
            "/token",
            Some(&basic(&id, &secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"tessera\"");
    assert_eq!(expect_error(r, 401).await, "invalid_client");
    app.core
        .delete_client(&id, &tessera::model::Actor::cli())
        .await
        .expect("delete");
    let (status, _) = app.token(&id, &secret, "").await;
    assert_eq!(status, 401);
}
