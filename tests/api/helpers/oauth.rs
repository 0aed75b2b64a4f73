//! Independent OAuth clients (the `oauth2` crate) pointed at a test server: what a real client
//! application or service would use, so flows prove interoperability, not self-consistency. And
//! the code flow's shared steps: a web client's setup, alice's sign-in and consent in a
//! [`Browser`], the code's exchange, and the ID token's verification.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Header, Validation, decode, decode_header};
use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, RedirectUrl, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera::model::{GrantType, SigningAlg};
use tessera::service::clients::ClientSpec;
use tessera::service::users::UserSpec;

use super::web::{Browser, hidden, no_redirects};
use super::{TestApp, basic, spawn_app};

/// A confidential client of `app`'s token endpoint (client credentials, refresh), presenting
/// its secret the `auth` way.
pub fn token_client(
    app: &TestApp,
    id: &str,
    secret: &str,
    auth: AuthType,
) -> BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet> {
    BasicClient::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_token_uri(TokenUrl::new(app.url("/token")).expect("url"))
        .set_auth_type(auth)
}

/// The `id_token` of an OpenID Connect token response, which plain OAuth types leave out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

pub type OidcResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;
pub type OidcClient = oauth2::Client<
    BasicErrorResponse,
    OidcResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A confidential web client of `app` for the code flow (Basic authentication at /token),
/// coming back to `redirect`.
pub fn code_flow_client(app: &TestApp, id: &str, secret: &str, redirect: &str) -> OidcClient {
    oauth2::Client::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_auth_uri(AuthUrl::new(app.url("/authorize")).expect("url"))
        .set_token_uri(TokenUrl::new(app.url("/token")).expect("url"))
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).expect("url"))
}

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
    exchange_code(s, b, &authorize_for(s, scope)).await
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

/// The body of a code exchange: `code`, the redirect URI and the RFC 7636 verifier.
pub fn code_exchange_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(REDIRECT)
    )
}

/// Signs alice in through `authorize_url` (consenting if asked): the code sent back.
pub async fn sign_in_code(s: &Setup, b: &Browser, authorize_url: &str) -> String {
    let back = sign_in_and_consent(b, &s.app, authorize_url).await;
    callback_params(&back)["code"].clone()
}

/// POSTs `body` to /token as the setup's client (Basic authentication).
pub async fn post_token(s: &Setup, body: &str) -> reqwest::Response {
    s.app
        .post_form("/token", Some(&basic(&s.client_id, &s.secret)), body)
        .await
}

/// Signs alice in through `authorize_url` (`b` keeps her session) and redeems the code with
/// the verifier: the token response.
pub async fn exchange_code(s: &Setup, b: &Browser, authorize_url: &str) -> Value {
    let code = sign_in_code(s, b, authorize_url).await;
    let r = post_token(s, &code_exchange_body(&code)).await;
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// Verifies `id_token` by a key of the app's JWKS, with the app as issuer and `client_id` as
/// audience (OIDC Core §3.1.3.7): its header and claims.
pub async fn verify_id_token(app: &TestApp, client_id: &str, id_token: &str) -> (Header, Value) {
    let header = decode_header(id_token).expect("header");
    let jwks: JwkSet = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("the ID token's key is published");
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&app.base]);
    v.set_audience(&[client_id]);
    let claims = decode::<Value>(id_token, &DecodingKey::from_jwk(jwk).expect("key"), &v)
        .expect("the ID token verifies")
        .claims;
    (header, claims)
}

/// One run of the code flow with PKCE through the `oauth2` crate, up to the token response.
pub struct CodeFlow {
    pub s: Setup,
    pub client: OidcClient,
    pub browser: Browser,
    pub nonce: &'static str,
    pub code: String,
    pub access: String,
    pub id_token: String,
}

/// Alice signs in and consents to openid, profile, email and read; the code is redeemed. The
/// state comes back unchanged with RFC 9207's `iss`.
pub async fn code_flow() -> CodeFlow {
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
