//! Browser sign-in over real HTTP: the `oauth2` crate builds the authorization URL and redeems
//! the code; a cookie-keeping HTTP client plays the browser (the Chromium test drives the same
//! pages in a real browser).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, Scope, TokenResponse};
use serde_json::Value;
use tessera::model::{GrantType, SigningAlg};
use tessera::service::clients::ClientSpec;
use tessera::service::users::UserSpec;

use crate::helpers::oauth::code_flow_client;
// The browser and the OIDC client types are shared helpers; modules that take them from here
// keep working.
pub use crate::helpers::oauth::{OidcClient, OidcResponse};
use crate::helpers::web::no_redirects;
pub use crate::helpers::web::{Browser, hidden};
use crate::helpers::{TestApp, basic, spawn_app};

pub const API: &str = "https://api.example.com/orders";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const PASSWORD: &str = "correct horse battery";
/// RFC 7636 Appendix B: a PKCE verifier and its S256 challenge.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Form-urlencodes one value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An authorization request for `scope` with the fixed PKCE challenge, state `s` and nonce `n1`.
pub fn authorize_for(s: &Setup, scope: &str) -> String {
    s.app.url(&format!(
        "/authorize?client_id={}&redirect_uri={}&response_type=code&scope={}&state=s&nonce=n1\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        s.client_id,
        enc(REDIRECT),
        enc(scope)
    ))
}

/// Signs in (consenting if asked) for `scope` and redeems the code: the token response.
pub async fn sign_in_tokens(s: &Setup, b: &Browser, scope: &str) -> Value {
    let back = sign_in_and_consent(b, &s.app, &authorize_for(s, scope)).await;
    let code = callback_params(&back)["code"].clone();
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(REDIRECT)
    );
    let r = s
        .app
        .post_form("/token", Some(&basic(&s.client_id, &s.secret)), &body)
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// The query parameters of a redirect to the client.
pub fn callback_params(location: &str) -> std::collections::HashMap<String, String> {
    let url = url::Url::parse(location).expect("absolute redirect");
    assert!(location.starts_with(REDIRECT), "{location}");
    url.query_pairs().into_owned().collect()
}

pub struct Setup {
    pub app: TestApp,
    pub client_id: String,
    pub secret: String,
    pub sub: String,
}

/// A resource, a user and a confidential web client allowed the code flow.
pub async fn setup_with(customise: impl FnOnce(&mut ClientSpec)) -> Setup {
    setup_in(spawn_app().await, customise).await
}

/// [`setup_with`] on an app started with its own settings.
pub async fn setup_in(app: TestApp, customise: impl FnOnce(&mut ClientSpec)) -> Setup {
    app.resource(API, SigningAlg::ES256).await;
    let user = app
        .core
        .create_user(
            UserSpec {
                username: "alice".into(),
                email: Some("alice@example.com".into()),
                email_verified: true,
                name: Some("Alice Example".into()),
                admin: false,
                claims: Default::default(),
            },
            PASSWORD,
            &tessera::model::Actor::cli(),
        )
        .await
        .expect("user");
    let mut spec = ClientSpec::new("Orders Web");
    spec.grant_types = vec![GrantType::AuthorizationCode];
    spec.redirect_uris = vec![REDIRECT.into()];
    spec.resources = vec![API.into()];
    customise(&mut spec);
    let reg = app
        .core
        .create_client(spec, &tessera::model::Actor::cli())
        .await
        .expect("client");
    Setup {
        client_id: reg.client.client_id.0,
        secret: reg.secret.unwrap_or_default(),
        sub: user.sub,
        app,
    }
}

/// The oauth2-crate client of the setup's web client.
pub fn oidc_client(s: &Setup) -> OidcClient {
    code_flow_client(&s.app, &s.client_id, &s.secret, REDIRECT)
}

/// Signs in and consents through the pages; returns the redirect back to the client.
pub async fn sign_in_and_consent(browser: &Browser, app: &TestApp, authorize_url: &str) -> String {
    let r = browser.get(authorize_url).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let first = r.location.expect("location");
    if first.starts_with(REDIRECT) {
        // Already signed in and consented.
        return first;
    }
    let next = if first.starts_with("/consent") {
        // Signed in already; only consent is missing.
        first
    } else {
        let login = app.url(&first);
        assert!(login.contains("/login?request="), "{login}");
        let page = browser.get(&login).await;
        assert_eq!(page.status, 200);
        let r = browser
            .submit_login(app, &page.body, "alice", PASSWORD)
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let next = r.location.expect("location");
        if next.starts_with(REDIRECT) {
            return next;
        }
        next
    };
    let page = browser.get(&app.url(&next)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Orders Web"));
    let r = browser
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("request", &hidden(&page.body, "request")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location.expect("back to the client")
}

async fn jwks(app: &TestApp) -> JwkSet {
    app.http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json")
}

/// One run of the code flow with PKCE through the `oauth2` crate, up to the token response.
struct CodeFlow {
    s: Setup,
    client: OidcClient,
    browser: Browser,
    nonce: &'static str,
    code: String,
    access: String,
    id_token: String,
}

/// Alice signs in and consents to openid, profile, email and read; the code is redeemed. The
/// state comes back unchanged with RFC 9207's `iss`.
async fn code_flow() -> CodeFlow {
    let s = setup_with(|_| {}).await;
    let client = oidc_client(&s);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = "n-0S6_WzA2Mj";
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("read".into()))
        .add_extra_param("nonce", nonce)
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::new();
    let back = sign_in_and_consent(&browser, &s.app, url.as_str()).await;
    let params = callback_params(&back);
    assert_eq!(
        params["state"],
        *csrf.secret(),
        "state comes back unchanged"
    );
    assert_eq!(params["iss"], s.app.base, "RFC 9207 iss");
    let code = params["code"].clone();
    let token = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&no_redirects())
        .await
        .expect("code exchange");
    CodeFlow {
        access: token.access_token().secret().clone(),
        id_token: token.extra_fields().id_token.clone().expect("id_token"),
        s,
        client,
        browser,
        nonce,
        code,
    }
}

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
    let header = decode_header(&id_token).expect("header");
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::RS256,
        "default id_token alg"
    );
    let keys = jwks(&s.app).await;
    let jwk = keys
        .find(header.kid.as_deref().expect("kid"))
        .expect("published");
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&s.app.base]);
    v.set_audience(&[&s.client_id]);
    let claims = decode::<Value>(&id_token, &DecodingKey::from_jwk(jwk).expect("key"), &v)
        .expect("id token verifies")
        .claims;
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
    let r = s
        .app
        .post_form("/token", Some(&basic(&s.client_id, &s.secret)), &body)
        .await;
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
