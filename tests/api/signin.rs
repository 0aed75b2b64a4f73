//! Browser sign-in over real HTTP: the `oauth2` crate builds the authorization URL and redeems
//! the code; a cookie-keeping HTTP client plays the browser (the Chromium test drives the same
//! pages in a real browser).

use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, Scope};
use serde_json::Value;
use tessera::model::SigningAlg;

// The code flow's setup and steps, the browser and the OIDC client types are shared helpers;
// modules that take them from here keep working.
pub use crate::helpers::oauth::{
    API, CHALLENGE, OidcClient, OidcResponse, PASSWORD, REDIRECT, Setup, VERIFIER, authorize_for,
    callback_params, enc, oidc_client, setup_in, setup_with, sign_in_and_consent, sign_in_tokens,
};
use crate::helpers::oauth::{CodeFlow, code_flow, post_token, verify_id_token};
use crate::helpers::web::no_redirects;
pub use crate::helpers::web::{Browser, hidden};

/// The ID token, verified against JWKS (OIDC Core §3.1.3.7).
#[tokio::test]
async fn the_code_flow_issues_an_id_token_that_verifies_against_jwks() {
    let CodeFlow {
        s,
        nonce,
        access,
        id_token,
        ..
    } = code_flow().await;
    let (header, claims) = verify_id_token(&s.app, &s.client_id, &id_token).await;
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::RS256,
        "default id_token alg"
    );
    assert_eq!(claims["sub"], s.sub.as_str());
    assert_eq!(claims["nonce"], nonce);
    assert_eq!(claims["azp"], s.client_id.as_str());
    assert!(claims["auth_time"].as_i64().is_some());
    assert!(claims["sid"].as_str().is_some_and(|x| !x.is_empty()));
    assert_eq!(
        claims["at_hash"],
        tessera::oidc::id_token::at_hash(SigningAlg::RS256, &access)
    );
}

/// The access token: for the API and for userinfo, about the same subject.
#[tokio::test]
async fn the_code_flows_access_token_serves_the_api_and_userinfo() {
    let CodeFlow { s, access, .. } = code_flow().await;
    let (_, at) = crate::tokens::verify(&s.app, &access, API).await;
    assert_eq!(at["sub"], s.sub.as_str());
    assert_eq!(at["client_id"], s.client_id.as_str());
    let r = s
        .app
        .http
        .get(s.app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(r.status(), 200);
    let info: Value = r.json().await.expect("json");
    assert_eq!(info["sub"], s.sub.as_str());
    assert_eq!(info["preferred_username"], "alice");
    assert_eq!(info["name"], "Alice Example");
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["email_verified"], true);
}

/// A second redemption fails and revokes what the first one issued.
#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_it_issued() {
    let CodeFlow {
        s,
        client,
        code,
        access,
        ..
    } = code_flow().await;
    let again = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(oauth2::PkceCodeVerifier::new("x".repeat(43)))
        .request_async(&no_redirects())
        .await;
    assert!(again.is_err());
    let body = format!("grant_type=authorization_code&code={code}");
    let r = post_token(&s, &body).await;
    assert_eq!(crate::helpers::expect_error(r, 400).await, "invalid_grant");
    let v = s.app.introspect(&s.client_id, &s.secret, &access).await;
    assert_eq!(
        v["active"], false,
        "tokens from a replayed code are revoked"
    );
}

/// Consent is remembered: the next sign-in goes straight back with a code.
#[tokio::test]
async fn consent_is_remembered_for_the_next_sign_in() {
    // The whole flow stays bound: dropping its setup would stop the server.
    let flow = code_flow().await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = flow
        .client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .set_pkce_challenge(challenge)
        .url();
    let r = flow.browser.get(url.as_str()).await;
    assert_eq!(r.status, 303);
    assert!(callback_params(r.location.as_deref().expect("location")).contains_key("code"));
}
