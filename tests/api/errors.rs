//! RFC 6749 §5.2 error rules at the token endpoint, and bad input of every kind: always a JSON
//! answer with the right status, never a 500, and the server keeps answering.

use serde_json::Value;
use tessera::model::SigningAlg;
use tessera::service::clients::ClientSpec;

use crate::helpers::{TestApp, basic, expect_error, spawn_app};

const API: &str = "https://api.example.com/orders";

async fn setup() -> (TestApp, String, String) {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let id = reg.client.client_id.0.clone();
    (app, id, reg.secret.expect("secret"))
}

#[tokio::test]
async fn invalid_client_is_always_401_with_a_basic_challenge() {
    let (app, id, secret) = setup().await;
    let cases: Vec<(Option<String>, String)> = vec![
        (
            Some(basic(&id, "wrong")),
            "grant_type=client_credentials".into(),
        ),
        (
            Some(basic("c_unknown", &secret)),
            "grant_type=client_credentials".into(),
        ),
        (None, "grant_type=client_credentials".into()),
        (
            None,
            format!("grant_type=client_credentials&client_id={id}"),
        ),
        (
            None,
            format!("grant_type=client_credentials&client_id={id}&client_secret=wrong"),
        ),
        (
            Some("Basic not-base64!".into()),
            "grant_type=client_credentials".into(),
        ),
        (
            Some("Bearer abc".into()),
            "grant_type=client_credentials".into(),
        ),
    ];
    for (auth, body) in cases {
        let r = app.post_form("/token", auth.as_deref(), &body).await;
        assert_eq!(
            r.headers()["www-authenticate"],
            "Basic realm=\"tessera\"",
            "{body}"
        );
        let r_body: Value = {
            assert_eq!(r.status(), 401, "{auth:?} {body}");
            assert_eq!(r.headers()["cache-control"], "no-store");
            r.json().await.expect("json")
        };
        assert_eq!(r_body["error"], "invalid_client");
        // The same description whatever was wrong: nothing tells which part failed.
        assert_eq!(r_body["error_description"], "client authentication failed");
    }
}

#[tokio::test]
async fn credentials_sent_two_ways_are_invalid_request() {
    let (app, id, secret) = setup().await;
    let body = format!("grant_type=client_credentials&client_secret={secret}");
    let r = app
        .post_form("/token", Some(&basic(&id, &secret)), &body)
        .await;
    assert_eq!(expect_error(r, 400).await, "invalid_request");
    let body = "grant_type=client_credentials&client_id=c_someone_else";
    let r = app
        .post_form("/token", Some(&basic(&id, &secret)), body)
        .await;
    assert_eq!(expect_error(r, 400).await, "invalid_request");
    // The same client_id in the body as in the header is harmless.
    let body = format!("grant_type=client_credentials&client_id={id}");
    let r = app
        .post_form("/token", Some(&basic(&id, &secret)), &body)
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn parameter_rules() {
    let (app, id, secret) = setup().await;
    let auth = basic(&id, &secret);
    let post = |body: &'static str| app.post_form("/token", Some(&auth), body);
    // Repeated parameters (RFC 6749 §3.2).
    let r = post("grant_type=client_credentials&grant_type=client_credentials").await;
    assert_eq!(expect_error(r, 400).await, "invalid_request");
    let r = post("grant_type=client_credentials&scope=read&scope=write").await;
    assert_eq!(expect_error(r, 400).await, "invalid_request");
    // Empty values count as absent.
    let r = post("grant_type=").await;
    assert_eq!(expect_error(r, 400).await, "invalid_request");
    let r = post("grant_type=client_credentials&scope=&resource=").await;
    assert_eq!(r.status(), 200, "empty scope and resource are absent");
    // Unknown parameters are ignored (RFC 6749 §3.1).
    let r = post("grant_type=client_credentials&frobnicate=1").await;
    assert_eq!(r.status(), 200);
    let r = post("grant_type=password&username=a&password=b").await;
    assert_eq!(expect_error(r, 400).await, "unsupported_grant_type");
    let r = post("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code").await;
    assert_eq!(expect_error(r, 400).await, "unsupported_grant_type");
    // A grant the server has but this client was not registered for.
    let r = post("grant_type=authorization_code&code=x").await;
    assert_eq!(expect_error(r, 400).await, "unauthorized_client");
}

#[tokio::test]
async fn success_responses_are_not_cacheable() {
    let (app, id, secret) = setup().await;
    let r = app
        .post_form(
            "/token",
            Some(&basic(&id, &secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn a_public_client_cannot_use_client_credentials() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let mut spec = ClientSpec::new("spa");
    spec.public = true;
    spec.resources = vec![API.into()];
    spec.redirect_uris = vec!["https://app.example.com/cb".into()];
    let reg = app
        .core
        .create_client(spec, &tessera::model::Actor::cli())
        .await
        .expect("public client");
    assert!(reg.secret.is_none());
    let id = reg.client.client_id.0;
    let r = app
        .post_form(
            "/token",
            None,
            &format!("grant_type=client_credentials&client_id={id}"),
        )
        .await;
    assert_eq!(expect_error(r, 400).await, "unauthorized_client");
    // Registering a public client with client_credentials is refused outright.
    let mut spec = ClientSpec::new("bad");
    spec.public = true;
    spec.grant_types = vec![tessera::model::GrantType::ClientCredentials];
    let err = app
        .core
        .create_client(spec, &tessera::model::Actor::cli())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("grant_types"), "{err}");
}

#[tokio::test]
async fn malformed_requests_get_json_4xx_and_the_server_keeps_answering() {
    let (app, id, secret) = setup().await;
    let auth = basic(&id, &secret);
    // Wrong content type.
    let r = app
        .http
        .post(app.url("/token"))
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(expect_error(r, 400).await, "invalid_request");
    // No content type at all.
    let r = app
        .http
        .post(app.url("/token"))
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("send");
    assert_eq!(expect_error(r, 400).await, "invalid_request");
    // Not UTF-8, raw and percent-encoded.
    for body in [
        &b"grant_type=client_credentials&scope=\xff\xfe"[..],
        b"grant_type=%FF",
    ] {
        let r = app
            .http
            .post(app.url("/token"))
            .header("authorization", &auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .expect("send");
        assert_eq!(expect_error(r, 400).await, "invalid_request");
    }
    // A body over the limit.
    let big = format!("grant_type=client_credentials&pad={}", "a".repeat(70_000));
    let r = app.post_form("/token", Some(&auth), &big).await;
    assert_eq!(expect_error(r, 413).await, "invalid_request");
    // GET on POST endpoints.
    for path in ["/token", "/introspect", "/revoke"] {
        let r = app.http.get(app.url(path)).send().await.expect("send");
        assert_eq!(expect_error(r, 405).await, "invalid_request", "{path}");
    }
    // Unknown paths.
    let r = app.http.get(app.url("/nope")).send().await.expect("send");
    assert_eq!(expect_error(r, 404).await, "invalid_request");
    // A header value that is not visible ASCII.
    let r = app
        .http
        .post(app.url("/token"))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Basic \xe9").expect("hv"),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("send");
    assert_eq!(expect_error(r, 401).await, "invalid_client");
    // Still serving.
    let r = app
        .post_form("/token", Some(&auth), "grant_type=client_credentials")
        .await;
    assert_eq!(r.status(), 200);
}
