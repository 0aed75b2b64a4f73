//! RFC 9068 §4 against real Tessera tokens: what is accepted, what is refused and how.

use serde_json::json;
use tessera::model::SigningAlg;
use tessera::oauth::tokens::SignIn;

use crate::support::{Tessera, call, protected_service};

const ORDERS: &str = "https://orders.test";

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A token from /token for this service, signed with each algorithm Tessera offers, reaches
/// the handler with its claims; the same service refuses it once it expired (by the clock).
#[tokio::test]
async fn a_valid_token_reaches_the_handler_until_it_expires() {
    let tessera = Tessera::start().await;
    let verifier = tessera.verifier(ORDERS).build().unwrap();
    let service = protected_service(&verifier).await;
    let mut tokens = Vec::new();
    for alg in SigningAlg::ALL {
        let resource = format!("{ORDERS}/{}", alg.as_str());
        let client = tessera.client_for(&resource, alg).await;
        let other = tessera.verifier(&resource).build().unwrap();
        let other_service = protected_service(&other).await;
        let token = tessera.token(&client, None).await;
        let (status, _, body) = call(&format!("{other_service}/any"), Some(&bearer(&token))).await;
        assert_eq!(status, 200, "{alg:?}: {body}");
        assert_eq!(body["client_id"], client.client.client_id.0.as_str());
        assert_eq!(body["aud"], json!([resource]));
        assert_eq!(body["scope"], json!(["read", "write"]));
        tokens.push((other_service, token));
    }
    let client = tessera.client_for(ORDERS, SigningAlg::ES256).await;
    let token = tessera.token(&client, None).await;
    assert_eq!(
        call(&format!("{service}/any"), Some(&bearer(&token)))
            .await
            .0,
        200
    );

    // Past every lifetime (and the leeway): refused, whatever the algorithm.
    tessera.clock.advance(24 * 3600);
    tokens.push((service, token));
    for (service, token) in tokens {
        let (status, challenge, body) =
            call(&format!("{service}/any"), Some(&bearer(&token))).await;
        assert_eq!(status, 401);
        assert_eq!(
            challenge,
            "Bearer error=\"invalid_token\", error_description=\"expired\""
        );
        assert_eq!(body["error"], "invalid_token");
    }
}

/// RFC 9068 §4 step 3: a token for another resource is not for this service.
#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let tessera = Tessera::start().await;
    let billing = tessera
        .client_for("https://billing.test", SigningAlg::ES256)
        .await;
    tessera.client_for(ORDERS, SigningAlg::ES256).await;
    let verifier = tessera.verifier(ORDERS).build().unwrap();
    let service = protected_service(&verifier).await;
    let token = tessera.token(&billing, None).await;
    let (status, challenge, _) = call(&format!("{service}/any"), Some(&bearer(&token))).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("issued for another audience"),
        "{challenge}"
    );
}

/// RFC 9068 §4 step 2: an ID token, signed by the same issuer with a published key and naming
/// an audience the service accepts, is still not an access token.
#[tokio::test]
async fn an_id_token_is_not_an_access_token() {
    let tessera = Tessera::start().await;
    let client = tessera.client_for(ORDERS, SigningAlg::ES256).await;
    let client_id = client.client.client_id.0.clone();
    let sign_in = SignIn {
        sub: "user-1".into(),
        auth_time: 0,
        sid: "sid".into(),
        nonce: None,
    };
    let id_token =
        tessera::oidc::id_token::issue(&tessera.core, &client.client, &sign_in, "at", 300)
            .expect("ID token");
    // The client id as an audience too, so that only the type can be the reason.
    let verifier = tessera
        .verifier(ORDERS)
        .audience(&client_id)
        .build()
        .unwrap();
    let service = protected_service(&verifier).await;
    let (status, challenge, _) = call(&format!("{service}/any"), Some(&bearer(&id_token))).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("typ is not at+jwt"), "{challenge}");
}

/// RFC 6750 §3.1: 403 insufficient_scope naming the route's scope; a route whose scope the
/// token has answers.
#[tokio::test]
async fn a_missing_scope_is_403_naming_it() {
    let tessera = Tessera::start().await;
    let client = tessera.client_for(ORDERS, SigningAlg::ES256).await;
    let verifier = tessera.verifier(ORDERS).build().unwrap();
    let service = protected_service(&verifier).await;
    let token = tessera.token(&client, Some("read")).await;
    let (status, _, body) = call(&format!("{service}/read"), Some(&bearer(&token))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], json!(["read"]));
    let (status, challenge, body) = call(&format!("{service}/write"), Some(&bearer(&token))).await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge,
        "Bearer error=\"insufficient_scope\", \
         error_description=\"the route requires scope write\", scope=\"write\""
    );
    assert_eq!(body["error"], "insufficient_scope");
}

/// RFC 6750 §3.1: no credentials is a bare challenge; two tokens is invalid_request; `none`
/// and HMAC "signatures" (with a real kid) are refused before any key is used.
#[tokio::test]
async fn requests_without_a_usable_token() {
    let tessera = Tessera::start().await;
    let client = tessera.client_for(ORDERS, SigningAlg::ES256).await;
    let verifier = tessera.verifier(ORDERS).build().unwrap();
    let service = protected_service(&verifier).await;
    let url = format!("{service}/any");
    let (status, challenge, _) = call(&url, None).await;
    assert_eq!((status, challenge.as_str()), (401, "Bearer"));
    let (status, challenge, _) = call(&url, Some("Basic dXNlcjpwYXNz")).await;
    assert_eq!((status, challenge.as_str()), (401, "Bearer"));

    let token = tessera.token(&client, None).await;
    let response = reqwest::Client::new()
        .get(&url)
        .header("authorization", bearer(&token))
        .header("authorization", bearer(&token))
        .send()
        .await
        .unwrap();
    let (status, challenge, _) = crate::support::answer(response).await;
    assert_eq!(status, 400);
    assert!(
        challenge.starts_with("Bearer error=\"invalid_request\""),
        "{challenge}"
    );

    let [_, payload, _]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    for alg in ["none", "HS256"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid}).to_string();
        let header =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header);
        let forged = format!("{header}.{payload}.c2lnbmF0dXJl");
        let (status, challenge, _) = call(&url, Some(&bearer(&forged))).await;
        assert_eq!(status, 401, "{alg}");
        assert!(challenge.contains("invalid_token"), "{alg}: {challenge}");
    }
}
