//! The JSON admin API over real HTTP: tokens come from /token (the `oauth2` crate as client)
//! for a client registered with `admin_api` and the admin API resource; every operation, its
//! refusals, the token rules, the audit lines and the OpenAPI document.

use oauth2::{AuthType, Scope, TokenResponse};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tessera::model::AuditFilter;
use tessera::model::{Actor, GrantType, SigningAlg};
use tessera::service::ServiceError;
use tessera::service::clients::ClientSpec;
use tessera::service::lockouts::LoginGate;

use crate::helpers::oauth::token_client;
use crate::helpers::web::no_redirects;
use crate::helpers::{TestApp, basic, spawn_app};
use crate::signin::{
    API, Browser, CHALLENGE, REDIRECT, callback_params, enc, setup_with, sign_in_tokens,
};

const ADMIN_SCOPE: &str = "tessera:admin";

/// An answer: status, headers and the JSON body (Null when empty).
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    /// A refusal naming `field`.
    #[track_caller]
    fn refused(&self, status: u16, field: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], "invalid_request", "{}", self.body);
        assert_eq!(self.body["field"], field, "{}", self.body);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
    }

    #[track_caller]
    fn is(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        &self.body
    }
}

/// A client registered as `tessera clients create --admin-api --resource {issuer}/admin/api
/// --grant-type client_credentials` would be.
async fn admin_client(app: &TestApp, name: &str) -> (String, String) {
    let mut spec = ClientSpec::new(name);
    spec.admin_api = true;
    spec.grant_types = vec![GrantType::ClientCredentials];
    spec.resources = vec![app.core.admin_api_identifier()];
    let reg = app
        .core
        .create_client(spec, &Actor::cli())
        .await
        .expect("admin client");
    (reg.client.client_id.0, reg.secret.expect("secret"))
}

/// A client_credentials token from /token, through an independent OAuth client.
async fn token_for(
    app: &TestApp,
    id: &str,
    secret: &str,
    resource: &str,
    scope: &[&str],
) -> String {
    let client = token_client(app, id, secret, AuthType::BasicAuth);
    let mut request = client
        .exchange_client_credentials()
        .add_extra_param("resource", resource);
    for s in scope {
        request = request.add_scope(Scope::new((*s).to_owned()));
    }
    let token = request
        .request_async(&no_redirects())
        .await
        .expect("token response");
    token.access_token().secret().clone()
}

async fn admin_token(app: &TestApp, id: &str, secret: &str) -> String {
    token_for(
        app,
        id,
        secret,
        &app.core.admin_api_identifier(),
        &[ADMIN_SCOPE],
    )
    .await
}

/// Calls with an admin-API token.
struct Api<'a> {
    app: &'a TestApp,
    client_id: String,
    token: String,
}

impl<'a> Api<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let (client_id, secret) = admin_client(app, "automation").await;
        let token = admin_token(app, &client_id, &secret).await;
        Self {
            app,
            client_id,
            token,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        call(self.app, Some(&self.token), Method::GET, path, None).await
    }

    async fn send(&self, method: Method, path: &str, body: Value) -> Answer {
        call(self.app, Some(&self.token), method, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Answer {
        call(self.app, Some(&self.token), Method::DELETE, path, None).await
    }
}

async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut req = app
        .http
        .request(method, app.url(&format!("/admin/api{path}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON answer: {text}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// One percent-encoded path segment.
fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The status `GET /keys` answers with `token`: whether the admin API still takes it.
async fn keys_status(app: &TestApp, token: &str) -> u16 {
    call(app, Some(token), Method::GET, "/keys", None)
        .await
        .status
}

#[tokio::test]
async fn admin_api_challenges_a_call_without_a_token() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    assert_eq!(admin.get("/clients").await.status, 200);

    // RFC 6750 §3.1: no credentials, a bare challenge.
    let r = call(app, None, Method::GET, "/clients", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"tessera\"");
    assert_eq!(r.headers["cache-control"], "no-store");
    let r = call(app, Some(""), Method::GET, "/clients", None).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn admin_api_refuses_another_audience_and_its_audience_without_the_scope() {
    let app = &spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let mut spec = ClientSpec::new("both");
    spec.admin_api = true;
    spec.resources = vec![API.into(), app.core.admin_api_identifier()];
    let both = app
        .core
        .create_client(spec, &Actor::cli())
        .await
        .expect("client");
    let (both_id, both_secret) = (both.client.client_id.0, both.secret.expect("secret"));
    let orders = token_for(app, &both_id, &both_secret, API, &["read"]).await;
    let r = call(app, Some(&orders), Method::GET, "/clients", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "invalid_token");
    assert_eq!(
        r.headers["www-authenticate"],
        "Bearer realm=\"tessera\", error=\"invalid_token\""
    );

    let bare = token_for(
        app,
        &both_id,
        &both_secret,
        &app.core.admin_api_identifier(),
        &[],
    )
    .await;
    let r = call(app, Some(&bare), Method::GET, "/clients", None).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["error"], "insufficient_scope");
}

#[tokio::test]
async fn admin_api_refuses_garbage_and_a_token_sent_in_the_url() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let r = call(app, Some("not.a.jwt"), Method::GET, "/clients", None).await;
    assert_eq!(r.status, 401);
    let r = call(
        app,
        None,
        Method::GET,
        &format!("/clients?access_token={}", admin.token),
        None,
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn admin_api_refuses_a_token_revoked_at_revoke() {
    let app = &spawn_app().await;
    let (id, secret) = admin_client(app, "short-lived").await;
    let token = admin_token(app, &id, &secret).await;
    assert_eq!(keys_status(app, &token).await, 200);
    let r = app
        .post_form(
            "/revoke",
            Some(&basic(&id, &secret)),
            &format!("token={token}"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = call(app, Some(&token), Method::GET, "/keys", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "invalid_token");
}

#[tokio::test]
async fn admin_api_refuses_live_tokens_of_disabled_demoted_and_deleted_clients() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;

    // Disabled through the API itself: its live token stops working at once.
    let (id, secret) = admin_client(app, "to-disable").await;
    let token = admin_token(app, &id, &secret).await;
    assert_eq!(keys_status(app, &token).await, 200);
    let r = admin
        .send(
            Method::PATCH,
            &format!("/clients/{id}"),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.is(200)["disabled"], true);
    assert_eq!(keys_status(app, &token).await, 401);

    // No longer marked admin_api (its grant removed with it): refused too.
    let (id, secret) = admin_client(app, "to-demote").await;
    let token = admin_token(app, &id, &secret).await;
    let r = admin
        .send(
            Method::PATCH,
            &format!("/clients/{id}"),
            json!({"admin_api": false, "resources": [], "scopes": null,
                   "default_resource": null, "default_scopes": ""}),
        )
        .await;
    assert_eq!(r.is(200)["admin_api"], false);
    assert_eq!(keys_status(app, &token).await, 401);

    // Deleted.
    let (id, secret) = admin_client(app, "to-delete").await;
    let token = admin_token(app, &id, &secret).await;
    assert_eq!(admin.delete(&format!("/clients/{id}")).await.status, 204);
    assert_eq!(keys_status(app, &token).await, 401);
}

#[tokio::test]
async fn only_clients_marked_admin_api_hold_the_scope_and_never_by_default() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let admin_api = app.core.admin_api_identifier();

    // The service refuses it to an unmarked client, whoever asks.
    let mut spec = ClientSpec::new("sneaky");
    spec.resources = vec![admin_api.clone()];
    match app.core.create_client(spec, &Actor::cli()).await {
        Err(ServiceError::Invalid { field, .. }) => assert_eq!(field, "resources"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    admin
        .send(
            Method::POST,
            "/clients",
            json!({"name": "sneaky", "resources": [admin_api]}),
        )
        .await
        .refused(422, "resources");
    let r = admin
        .send(Method::POST, "/clients", json!({"name": "ordinary"}))
        .await;
    let id = r.is(201)["client"]["client_id"]
        .as_str()
        .expect("id")
        .to_owned();
    admin
        .send(
            Method::PATCH,
            &format!("/clients/{id}"),
            json!({"resources": [admin_api]}),
        )
        .await
        .refused(422, "resources");

    // Marked: granted, yet never a default scope.
    let r = admin
        .send(
            Method::POST,
            "/clients",
            json!({"name": "robot", "admin_api": true, "resources": [admin_api]}),
        )
        .await;
    let body = r.is(201);
    assert_eq!(body["client"]["grants"][0]["scopes"], ADMIN_SCOPE);
    assert_eq!(body["client"]["default_scopes"], "");
    admin
        .send(
            Method::POST,
            "/clients",
            json!({"name": "robot", "admin_api": true, "resources": [admin_api],
                   "default_scopes": ADMIN_SCOPE}),
        )
        .await
        .refused(422, "default_scopes");

    // Its secret, shown once, gets a token that works here.
    let robot = body["client"]["client_id"].as_str().expect("id");
    let secret = body["client_secret"].as_str().expect("secret");
    let token = admin_token(app, robot, secret).await;
    assert_eq!(
        call(app, Some(&token), Method::GET, "/users", None)
            .await
            .status,
        200
    );
    assert!(admin.get(&format!("/clients/{robot}")).await.body["client_secret"].is_null());
}

/// `authorize::the_admin_scope_is_refused_at_the_authorization_endpoint` covers a fresh
/// request; a signed-in user who already consented to the client is refused before any consent
/// page too.
#[tokio::test]
async fn tessera_admin_never_reaches_a_signed_in_users_consent_page() {
    let s = setup_with(|_| {}).await;
    let mut spec = ClientSpec::from_client(&s.app.core.client(&s.client_id).await.expect("client"));
    spec.admin_api = true;
    spec.resources.push(s.app.core.admin_api_identifier());
    spec.scopes = None;
    s.app
        .core
        .update_client(&s.client_id, spec, &Actor::cli())
        .await
        .expect("granted the admin API");
    let b = Browser::new();
    sign_in_tokens(&s, &b, "openid read").await;
    for scope in [ADMIN_SCOPE, "openid read tessera:admin"] {
        let url = s.app.url(&format!(
            "/authorize?client_id={}&redirect_uri={}&response_type=code&scope={}&resource={}\
             &state=st&prompt=consent&code_challenge={CHALLENGE}&code_challenge_method=S256",
            s.client_id,
            enc(REDIRECT),
            enc(scope),
            enc(&s.app.core.admin_api_identifier())
        ));
        let r = b.get(&url).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let location = r.location.expect("location");
        assert!(!location.contains("/consent"), "{location}");
        let p = callback_params(&location);
        assert_eq!(p["error"], "invalid_scope", "{p:?}");
        assert_eq!(p["state"], "st");
    }
}

/// `API` registered through the admin API as "Orders" with a `read` scope; the answer.
async fn create_orders(admin: &Api<'_>) -> Value {
    let r = admin
        .send(
            Method::POST,
            "/resources",
            json!({"identifier": API, "name": "Orders",
                   "scopes": [{"name": "read", "description": "Read your orders"}]}),
        )
        .await;
    r.is(201).clone()
}

#[tokio::test]
async fn resources_are_listed_and_created_once() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let builtin = app.core.admin_api_identifier();
    let r = admin.get("/resources").await;
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(
        r.is(200)["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["identifier"] == builtin.as_str())
    );

    let created = create_orders(&admin).await;
    assert_eq!(created["name"], "Orders");
    assert_eq!(created["signing_alg"], "ES256");
    assert_eq!(created["access_token_ttl"], 600);
    let r = admin
        .send(Method::POST, "/resources", json!({"identifier": API}))
        .await;
    assert_eq!(r.is(409)["error"], "conflict");
}

/// Refusals name the field: the service's, and serde's.
#[tokio::test]
async fn resource_refusals_name_the_field() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    for (body, field) in [
        (json!({"identifier": "orders"}), "identifier"),
        (
            json!({"identifier": "urn:x", "scopes": [{"name": "tessera:x", "description": ""}]}),
            "scopes",
        ),
        (
            json!({"identifier": "urn:x", "access_token_ttl": 0}),
            "access_token_ttl",
        ),
        (
            json!({"identifier": "urn:x", "access_token_ttl": "long"}),
            "access_token_ttl",
        ),
        (
            json!({"identifier": "urn:x", "signing_alg": "HS256"}),
            "signing_alg",
        ),
        (json!({"identifier": "urn:x", "colour": "blue"}), "colour"),
        (json!({"name": "no identifier"}), "identifier"),
        (
            json!({"identifier": "urn:x", "scopes": [{"name": "a"}]}),
            "scopes[0].description",
        ),
    ] {
        admin
            .send(Method::POST, "/resources", body)
            .await
            .refused(422, field);
    }
}

#[tokio::test]
async fn unreadable_resource_bodies_get_400_or_415_never_500() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let url = app.url("/admin/api/resources");
    let r = app
        .http
        .post(&url)
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body("{\"identifier\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("not valid JSON")
    );
    let r = app
        .http
        .post(&url)
        .bearer_auth(&admin.token)
        .header("content-type", "text/plain")
        .body("identifier=urn:x")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 415);
}

/// Addressed by the identifier as one percent-encoded segment; the built-in one is fixed.
#[tokio::test]
async fn resources_are_changed_by_their_encoded_identifier_but_not_the_builtin() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let builtin = app.core.admin_api_identifier();
    create_orders(&admin).await;
    let path = format!("/resources/{}", seg(API));
    assert_eq!(admin.get(&path).await.is(200)["identifier"], API);
    let r = admin
        .send(
            Method::PATCH,
            &path,
            json!({"name": "Orders API", "access_token_ttl": 120,
                   "scopes": [{"name": "read", "description": "Read"},
                              {"name": "write", "description": "Write"}]}),
        )
        .await;
    let changed = r.is(200);
    assert_eq!(changed["name"], "Orders API");
    assert_eq!(changed["access_token_ttl"], 120);
    assert_eq!(changed["scopes"][1]["name"], "write");
    admin
        .send(Method::PATCH, &path, json!({"access_token_ttl": 100000}))
        .await
        .refused(422, "access_token_ttl");
    let r = admin
        .send(
            Method::PATCH,
            &format!("/resources/{}", seg(&builtin)),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(r.is(409)["error"], "conflict");
    assert_eq!(
        admin
            .delete(&format!("/resources/{}", seg(&builtin)))
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn deleted_resources_are_gone() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    create_orders(&admin).await;
    let path = format!("/resources/{}", seg(API));
    assert_eq!(admin.delete(&path).await.status, 204);
    assert_eq!(admin.get(&path).await.is(404)["error"], "not_found");
    assert_eq!(admin.delete(&path).await.status, 404);
    let r = admin
        .send(Method::PATCH, &path, json!({"name": "gone"}))
        .await;
    assert_eq!(r.status, 404);
}

/// "Billing", a client_credentials client of `API` with the `read` scope, created through the
/// admin API: its id, its secret (shown once) and the whole answer.
async fn create_billing(app: &TestApp, admin: &Api<'_>) -> (String, String, Value) {
    app.resource(API, SigningAlg::ES256).await;
    let r = admin
        .send(
            Method::POST,
            "/clients",
            json!({"name": "Billing", "resources": [API], "scopes": "read"}),
        )
        .await;
    let body = r.is(201).clone();
    let id = body["client"]["client_id"].as_str().expect("id").to_owned();
    let secret = body["client_secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    (id, secret, body)
}

#[tokio::test]
async fn clients_are_created_with_their_secret_shown_once() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let (id, secret, body) = create_billing(app, &admin).await;
    assert_eq!(body["client"]["grants"][0]["scopes"], "read");
    assert_eq!(body["client"]["grant_types"], json!(["client_credentials"]));
    assert!(body["client"].get("secret_hash").is_none());
    let (status, token) = app.token(&id, &secret, "").await;
    assert_eq!(status, 200, "{token}");
}

#[tokio::test]
async fn client_creation_refusals_name_the_field() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    app.resource(API, SigningAlg::ES256).await;
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (
            json!({"name": "x", "public": true, "grant_types": ["authorization_code"]}),
            "redirect_uris",
        ),
        (
            json!({"name": "x", "grant_types": ["authorization_code"],
                   "redirect_uris": ["http://example.com/cb"]}),
            "redirect_uris",
        ),
        (
            json!({"name": "x", "grant_types": ["password"]}),
            "grant_types[0]",
        ),
        (
            json!({"name": "x", "resources": ["https://nowhere.example"]}),
            "resources",
        ),
        (
            json!({"name": "x", "resources": [API], "scopes": "read \"x"}),
            "scopes",
        ),
        (
            json!({"name": "x", "resources": [API], "scopes": "delete"}),
            "scopes",
        ),
        (
            json!({"name": "x", "auth_method": "private_key_jwt"}),
            "auth_method",
        ),
        (json!({"name": "x", "secret": "mine"}), "secret"),
    ] {
        admin
            .send(Method::POST, "/clients", body)
            .await
            .refused(422, field);
    }
}

#[tokio::test]
async fn clients_are_read_and_patched_leaving_untouched_fields() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let (id, _, _) = create_billing(app, &admin).await;
    let path = format!("/clients/{id}");
    assert_eq!(admin.get(&path).await.is(200)["name"], "Billing");
    assert_eq!(
        admin.get("/clients/c_nope").await.is(404)["error"],
        "not_found"
    );
    let r = admin
        .send(
            Method::PATCH,
            &path,
            json!({"name": "Billing v2", "access_token_ttl": 60}),
        )
        .await;
    let changed = r.is(200);
    assert_eq!(changed["name"], "Billing v2");
    assert_eq!(changed["access_token_ttl"], 60);
    assert_eq!(
        changed["grants"][0]["scopes"], "read",
        "untouched fields stay"
    );
    let r = admin
        .send(Method::PATCH, &path, json!({"access_token_ttl": null}))
        .await;
    assert!(r.is(200)["access_token_ttl"].is_null());
    admin
        .send(Method::PATCH, &path, json!({"public": true}))
        .await
        .refused(422, "public");
    admin
        .send(
            Method::PATCH,
            &path,
            json!({"allowed_origins": ["https://a.example/path"]}),
        )
        .await
        .refused(422, "allowed_origins");
    assert_eq!(
        admin
            .send(Method::PATCH, "/clients/c_nope", json!({"name": "x"}))
            .await
            .status,
        404
    );
}

/// Secret rotation with an overlap: both secrets work until it ends; without one (and without
/// a body) the old one stops at once; a public client has no secret to rotate.
#[tokio::test]
async fn client_secrets_rotate_with_or_without_an_overlap() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let (id, secret, _) = create_billing(app, &admin).await;
    let path = format!("/clients/{id}");
    let r = admin
        .send(
            Method::POST,
            &format!("{path}/secret"),
            json!({"overlap_seconds": 3600}),
        )
        .await;
    let rotated = r.is(200);
    let new_secret = rotated["client_secret"]
        .as_str()
        .expect("new secret")
        .to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(rotated["previous_secret_expires_at"], app.core.now() + 3600);
    assert_eq!(app.token(&id, &new_secret, "").await.0, 200);
    assert_eq!(app.token(&id, &secret, "").await.0, 200);
    let r = call(
        app,
        Some(&admin.token),
        Method::POST,
        &format!("{path}/secret"),
        None,
    )
    .await;
    let newest = r.is(200)["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert_eq!(app.token(&id, &newest, "").await.0, 200);
    assert_eq!(app.token(&id, &new_secret, "").await.0, 401);
    admin
        .send(
            Method::POST,
            &format!("{path}/secret"),
            json!({"overlap_seconds": -1}),
        )
        .await
        .refused(422, "overlap_seconds");
    let r = admin
        .send(
            Method::POST,
            "/clients",
            json!({"name": "SPA", "public": true, "redirect_uris": ["https://spa.example/cb"]}),
        )
        .await;
    let public = r.is(201);
    assert!(public["client_secret"].is_null());
    let spa = public["client"]["client_id"].as_str().expect("id");
    admin
        .send(Method::POST, &format!("/clients/{spa}/secret"), json!({}))
        .await
        .refused(422, "client_id");
}

/// Disabled through an update: no more tokens. Enabled again: tokens again. Deleted: gone.
#[tokio::test]
async fn disabled_clients_get_no_tokens_until_enabled_and_deleted_ones_are_gone() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let (id, secret, _) = create_billing(app, &admin).await;
    let path = format!("/clients/{id}");
    let r = admin
        .send(Method::PATCH, &path, json!({"disabled": true}))
        .await;
    assert_eq!(r.is(200)["disabled"], true);
    assert_eq!(app.token(&id, &secret, "").await.0, 401);
    admin
        .send(Method::PATCH, &path, json!({"disabled": false}))
        .await
        .is(200);
    assert_eq!(app.token(&id, &secret, "").await.0, 200);

    assert_eq!(admin.delete(&path).await.status, 204);
    assert_eq!(admin.get(&path).await.status, 404);
    assert_eq!(admin.delete(&path).await.status, 404);
    assert_eq!(app.token(&id, &secret, "").await.0, 401);
}

#[tokio::test]
async fn client_search_and_keyset_pagination() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    for name in [
        "Pager e", "pager A", "Pager c", "Pager b", "pager d", "Other",
    ] {
        admin
            .send(Method::POST, "/clients", json!({"name": name}))
            .await
            .is(201);
    }
    let mut seen = Vec::new();
    let mut query = "/clients?q=PAGER&limit=2".to_owned();
    loop {
        let r = admin.get(&query).await;
        let page = r.is(200);
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|c| c["name"].as_str().expect("name").to_owned()),
        );
        let next = &page["next"];
        if next.is_null() {
            break;
        }
        query = format!(
            "/clients?q=pager&limit=2&after={}&after_id={}",
            enc(next["after"].as_str().expect("after")),
            enc(next["after_id"].as_str().expect("after_id"))
        );
    }
    assert_eq!(
        seen,
        ["pager A", "Pager b", "Pager c", "pager d", "Pager e"]
    );
    let all = admin.get("/clients").await;
    assert_eq!(all.is(200)["items"].as_array().expect("items").len(), 7);
    assert!(all.body["next"].is_null());

    admin.get("/clients?limit=0").await.refused(422, "limit");
    admin.get("/clients?limit=501").await.refused(422, "limit");
    admin.get("/clients?limit=ten").await.refused(422, "limit");
    admin.get("/clients?after=x").await.refused(422, "after_id");
    admin.get("/clients?page=2").await.refused(422, "page");
}

/// Carol, created through the admin API with a verified address: her answer.
async fn create_carol(admin: &Api<'_>) -> Value {
    let r = admin
        .send(
            Method::POST,
            "/users",
            json!({"username": "Carol", "password": "a long enough password",
                   "email": "carol@example.com", "email_verified": true, "name": "Carol C"}),
        )
        .await;
    r.is(201).clone()
}

/// Carol's `/users/{sub}` path.
async fn carol_path(admin: &Api<'_>) -> String {
    let carol = create_carol(admin).await;
    format!("/users/{}", carol["sub"].as_str().expect("sub"))
}

#[tokio::test]
async fn users_are_created_once_and_never_show_their_password() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let carol = create_carol(&admin).await;
    assert_eq!(carol["email_verified"], true);
    assert!(carol.get("password").is_none() && carol.get("password_hash").is_none());
    let r = admin
        .send(
            Method::POST,
            "/users",
            json!({"username": "carol", "password": "another long password"}),
        )
        .await;
    assert_eq!(r.is(409)["error"], "conflict");
}

#[tokio::test]
async fn user_creation_refusals_name_the_field() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    for (body, field) in [
        (json!({"username": "dave", "password": "short"}), "password"),
        (
            json!({"username": "da ve", "password": "a long enough password"}),
            "username",
        ),
        (
            json!({"username": "dave", "password": "a long enough password", "email": "dave"}),
            "email",
        ),
        (
            json!({"username": "dave", "password": "a long enough password",
                   "email_verified": true}),
            "email_verified",
        ),
        (json!({"username": "dave"}), "password"),
        (
            json!({"username": "dave", "password": "a long enough password", "role": "x"}),
            "role",
        ),
    ] {
        admin
            .send(Method::POST, "/users", body)
            .await
            .refused(422, field);
    }
}

/// Search and pages (the bootstrap admin is a user too).
#[tokio::test]
async fn users_are_searched_and_paged() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    create_carol(&admin).await;
    for name in ["dave", "Dan", "erin"] {
        admin
            .send(
                Method::POST,
                "/users",
                json!({"username": name, "password": "a long enough password"}),
            )
            .await
            .is(201);
    }
    let r = admin.get("/users?q=DA&limit=1").await;
    let first = r.is(200);
    assert_eq!(first["items"][0]["username"], "Dan");
    let next = &first["next"];
    let r = admin
        .get(&format!(
            "/users?q=da&limit=1&after={}&after_id={}",
            enc(next["after"].as_str().expect("after")),
            enc(next["after_id"].as_str().expect("after_id"))
        ))
        .await;
    assert_eq!(r.is(200)["items"][0]["username"], "dave");
    let r = admin.get("/users").await;
    let names: Vec<&str> = r.is(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["username"].as_str().expect("username"))
        .collect();
    assert_eq!(names, ["admin", "Carol", "Dan", "dave", "erin"]);
}

/// A new address is unverified unless said otherwise; null clears the name.
#[tokio::test]
async fn a_user_is_read_and_patched() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let path = carol_path(&admin).await;
    assert_eq!(admin.get(&path).await.is(200)["username"], "Carol");
    assert_eq!(admin.get("/users/nobody").await.status, 404);
    let r = admin
        .send(
            Method::PATCH,
            &path,
            json!({"email": "c@example.org", "name": null, "admin": true}),
        )
        .await;
    let changed = r.is(200);
    assert_eq!(changed["email"], "c@example.org");
    assert_eq!(changed["email_verified"], false);
    assert!(changed["name"].is_null());
    assert_eq!(changed["admin"], true);
    admin
        .send(
            Method::PATCH,
            &path,
            json!({"email": null, "email_verified": true}),
        )
        .await
        .refused(422, "email_verified");
    admin
        .send(Method::PATCH, &path, json!({"username": "x"}))
        .await
        .refused(422, "username");
}

#[tokio::test]
async fn a_users_password_is_set_and_they_are_disabled_and_enabled() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let carol = create_carol(&admin).await;
    let sub = carol["sub"].as_str().expect("sub").to_owned();
    let path = format!("/users/{sub}");
    admin
        .send(
            Method::PUT,
            &format!("{path}/password"),
            json!({"password": "tiny"}),
        )
        .await
        .refused(422, "password");
    let r = admin
        .send(
            Method::PUT,
            &format!("{path}/password"),
            json!({"password": "a brand new password"}),
        )
        .await;
    assert_eq!(r.status, 204);
    let signed_in = app
        .core
        .authenticate_user("carol", "a brand new password")
        .await
        .expect("check");
    assert_eq!(signed_in.map(|u| u.sub), Some(sub.clone()));

    let r = admin
        .send(Method::POST, &format!("{path}/disable"), json!({}))
        .await;
    assert_eq!(r.is(200)["disabled"], true);
    let refused = app
        .core
        .authenticate_user("carol", "a brand new password")
        .await;
    assert!(
        refused.expect("check").is_none(),
        "a disabled user cannot sign in"
    );
    let r = admin
        .send(Method::POST, &format!("{path}/enable"), json!({}))
        .await;
    assert_eq!(r.is(200)["disabled"], false);
    assert_eq!(
        admin
            .send(Method::POST, "/users/nobody/disable", json!({}))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_users_sessions_consents_and_refresh_families() {
    let s = setup_with(|spec| {
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    })
    .await;
    let admin = Api::new(&s.app).await;
    let b = Browser::new();
    let tokens = sign_in_tokens(&s, &b, "openid read").await;
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    let user = format!("/users/{}", s.sub);

    let r = admin.get(&format!("{user}/sessions")).await;
    let sessions = r.is(200)["items"].as_array().expect("items").clone();
    assert_eq!(sessions.len(), 1);
    let sid = sessions[0]["sid"].as_str().expect("sid").to_owned();
    let r = admin.get(&format!("{user}/consents")).await;
    assert_eq!(r.is(200)["items"][0]["client_id"], s.client_id.as_str());
    let r = admin.get(&format!("{user}/refresh-families")).await;
    let family = r.is(200)["items"][0].clone();
    assert_eq!(family["client_id"], s.client_id.as_str());
    let family_id = family["family_id"].as_str().expect("family");
    assert_eq!(admin.get("/users/nobody/sessions").await.status, 404);

    // Revoking the family kills the refresh token; a second revocation finds nothing.
    let path = format!("{user}/refresh-families/{family_id}");
    assert_eq!(admin.delete(&path).await.status, 204);
    let r = s
        .app
        .post_form(
            "/token",
            Some(&basic(&s.client_id, &s.secret)),
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(admin.delete(&path).await.status, 404);

    let path = format!("{user}/consents/{}", s.client_id);
    assert_eq!(admin.delete(&path).await.status, 204);
    assert_eq!(admin.delete(&path).await.status, 404);
    let r = admin.get(&format!("{user}/consents")).await;
    assert_eq!(r.is(200)["items"], json!([]));

    let path = format!("{user}/sessions/{sid}");
    assert_eq!(admin.delete(&path).await.status, 204);
    assert_eq!(admin.delete(&path).await.status, 404);
    let r = admin.get(&format!("{user}/sessions")).await;
    assert_eq!(r.is(200)["items"], json!([]));

    // Sign out everywhere: a new session and an offline grant both end at once.
    let b = Browser::new();
    let tokens = sign_in_tokens(&s, &b, "openid offline_access read").await;
    assert_eq!(
        admin.get(&format!("{user}/sessions")).await.is(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let r = admin
        .send(Method::POST, &format!("{user}/sign-out"), json!({}))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        admin.get(&format!("{user}/sessions")).await.is(200)["items"],
        json!([])
    );
    assert_eq!(
        admin.get(&format!("{user}/refresh-families")).await.is(200)["items"],
        json!([])
    );
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("offline refresh token");
    let r = s
        .app
        .post_form(
            "/token",
            Some(&basic(&s.client_id, &s.secret)),
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = admin
        .send(Method::POST, "/users/nobody/sign-out", json!({}))
        .await;
    assert_eq!(r.status, 404);
}

/// The EdDSA keys the admin API lists, as (kid, state).
async fn eddsa_states(admin: &Api<'_>) -> Vec<(String, String)> {
    let r = admin.get("/keys").await;
    r.is(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|k| k["alg"] == "EdDSA")
        .map(|k| {
            (
                k["kid"].as_str().expect("kid").to_owned(),
                k["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect()
}

/// The kid of the EdDSA key in `state`.
fn kid_in(states: &[(String, String)], state: &str) -> String {
    states
        .iter()
        .find(|(_, s)| s == state)
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| panic!("an EdDSA key in state {state}: {states:?}"))
}

#[tokio::test]
async fn signing_keys_are_listed_without_private_parts_and_rotated_once_published() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let r = admin.get("/keys").await;
    let keys = r.is(200)["items"].as_array().expect("items").clone();
    assert_eq!(keys.len(), 6);
    let key = |alg: &str, state: &str| {
        keys.iter()
            .find(|k| k["alg"] == alg && k["state"] == state)
            .and_then(|k| k["kid"].as_str())
            .expect("key")
            .to_owned()
    };
    let (active, next) = (key("EdDSA", "active"), key("EdDSA", "next"));
    assert!(keys.iter().all(|k| k.get("private_key").is_none()));

    admin
        .send(Method::POST, "/keys/rotate", json!({"alg": "HS256"}))
        .await
        .refused(422, "alg");
    admin
        .send(Method::POST, "/keys/rotate", json!({}))
        .await
        .refused(422, "alg");
    let r = admin
        .send(Method::POST, "/keys/rotate", json!({"alg": "EdDSA"}))
        .await;
    let rotated = r.is(200);
    assert_eq!(rotated["kid"], next.as_str());
    assert_eq!(rotated["state"], "active");
    // The new next key was published just now: too early without force.
    let r = admin
        .send(Method::POST, "/keys/rotate", json!({"alg": "EdDSA"}))
        .await;
    assert_eq!(r.is(409)["error"], "conflict");
    let states = eddsa_states(&admin).await;
    assert!(
        states.contains(&(active.clone(), "retired".to_owned())),
        "{states:?}"
    );
    kid_in(&states, "next");
}

/// Retiring: a next key cannot be; a retired one is unpublished; unknown ones are 404.
#[tokio::test]
async fn retired_signing_keys_are_unpublished_and_next_ones_cannot_be_retired() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let active = kid_in(&eddsa_states(&admin).await, "active");
    admin
        .send(Method::POST, "/keys/rotate", json!({"alg": "EdDSA"}))
        .await
        .is(200);
    let new_next = kid_in(&eddsa_states(&admin).await, "next");
    let r = admin
        .send(Method::POST, &format!("/keys/{new_next}/retire"), json!({}))
        .await;
    assert_eq!(r.is(409)["error"], "conflict");
    let r = admin
        .send(Method::POST, &format!("/keys/{active}/retire"), json!({}))
        .await;
    assert_eq!(r.status, 204);
    let jwks: Value = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert!(
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k["kid"] != active.as_str())
    );
    let r = admin
        .send(Method::POST, "/keys/nokey/retire", json!({}))
        .await;
    assert_eq!(r.status, 404);
}

/// Lockouts: failures counted by the sign-in code, listed and cleared here.
#[tokio::test]
async fn lockouts_are_listed_and_cleared() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    for _ in 0..5 {
        if let LoginGate::Open(attempt) = app
            .core
            .begin_login("bob", "192.0.2.7")
            .await
            .expect("attempt")
        {
            app.core.login_failed(attempt);
        }
    }
    let r = admin.get("/lockouts").await;
    let lockouts = r.is(200)["items"].as_array().expect("items").clone();
    let bob = lockouts
        .iter()
        .find(|l| l["key"] == "account:bob")
        .expect("bob's counter");
    assert_eq!(bob["failures"], 5);
    assert!(lockouts.iter().any(|l| l["key"] == "ip:192.0.2.7"));
    assert_eq!(admin.delete("/lockouts/account:bob").await.status, 204);
    assert_eq!(admin.delete("/lockouts/bob").await.status, 404);
    assert_eq!(admin.delete("/lockouts/ip:192.0.2.7").await.status, 204);
    let r = admin.get("/lockouts").await;
    assert_eq!(r.is(200)["items"], json!([]));
}

/// Ten seconds after start, one read, one refusal, one change and one call with a revoked
/// token: when the calls began and the revoked client's id.
async fn audited_calls(app: &TestApp, admin: &Api<'_>) -> (i64, String) {
    // The server started (and registered its built-in resource) ten seconds before this.
    app.clock.advance(10);
    let since = app.core.now();
    admin.get("/keys").await.is(200);
    admin
        .send(Method::POST, "/resources", json!({"identifier": "nope"}))
        .await
        .refused(422, "identifier");
    admin
        .send(Method::POST, "/resources", json!({"identifier": API}))
        .await
        .is(201);
    let (id, secret) = admin_client(app, "revoked").await;
    let token = admin_token(app, &id, &secret).await;
    app.post_form(
        "/revoke",
        Some(&basic(&id, &secret)),
        &format!("token={token}"),
    )
    .await;
    assert_eq!(keys_status(app, &token).await, 401);
    app.core.audit.flush().await.expect("flush");
    (since, id)
}

#[tokio::test]
async fn every_call_is_audited_with_the_client() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let me = admin.client_id.as_str();
    let (_, revoked) = audited_calls(app, &admin).await;
    let mine = AuditFilter {
        client_id: Some(me.to_owned()),
        ..AuditFilter::default()
    };
    let events = app
        .core
        .audit_events(&mine, None, 100)
        .await
        .expect("events");
    let find = |kind: &str| {
        events
            .iter()
            .find(|e| e.event.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} in {events:?}"))
    };
    let read = find("admin_api.read");
    assert_eq!(read.event.actor.as_deref(), Some(me));
    assert_eq!(read.event.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(read.event.target.as_deref(), Some("/admin/api/keys"));
    assert_eq!(read.event.outcome, tessera::model::Outcome::Success);
    let refused = find("admin_api.refused");
    assert_eq!(refused.event.outcome, tessera::model::Outcome::Failure);
    let detail = refused.event.detail.as_ref().expect("detail");
    assert_eq!(detail["field"], "identifier");
    assert_eq!(detail["status"], 422);
    assert_eq!(detail["method"], "POST");
    // The change itself is audited by the service, in its transaction, as the client.
    let created = find("resource.created");
    assert_eq!(created.event.actor.as_deref(), Some(me));
    assert_eq!(created.event.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(created.event.target.as_deref(), Some(API));
    let denied = app
        .core
        .audit_events(
            &AuditFilter {
                kind: Some("admin_api.denied".into()),
                ..AuditFilter::default()
            },
            None,
            10,
        )
        .await
        .expect("events");
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].event.client_id.as_deref(), Some(revoked.as_str()));
    assert_eq!(
        denied[0].event.detail.as_ref().expect("detail")["reason"],
        "the access token was revoked"
    );
}

/// The same log through the API: filters and keyset paging backwards.
#[tokio::test]
async fn the_audit_log_is_filtered_and_paged_backwards_through_the_api() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let me = admin.client_id.as_str();
    let (since, _) = audited_calls(app, &admin).await;
    let r = admin
        .get(&format!(
            "/audit-events?client={me}&kind=admin_api.&limit=1"
        ))
        .await;
    let page = r.is(200).clone();
    assert_eq!(page["items"].as_array().expect("items").len(), 1);
    let newest = page["items"][0]["id"].as_i64().expect("id");
    let before = page["next"]["before"].as_i64().expect("next page");
    assert_eq!(before, newest);
    let r = admin
        .get(&format!(
            "/audit-events?client={me}&kind=admin_api.&from={since}&before={before}"
        ))
        .await;
    let older = r.is(200)["items"].as_array().expect("items").clone();
    assert!(!older.is_empty());
    assert!(older.iter().all(|e| e["id"].as_i64().expect("id") < before
        && e["kind"].as_str().expect("kind").starts_with("admin_api.")
        && e["client_id"] == me));
    let r = admin
        .get(&format!("/audit-events?actor={me}&kind=resource.created"))
        .await;
    assert_eq!(r.is(200)["items"].as_array().expect("items").len(), 1);
    let r = admin
        .get(&format!(
            "/audit-events?kind=resource.created&until={since}"
        ))
        .await;
    let before_calls = r.is(200)["items"].as_array().expect("items").clone();
    assert_eq!(before_calls.len(), 1, "{before_calls:?}");
    assert_eq!(before_calls[0]["actor"], "system");
}

#[tokio::test]
async fn audit_log_filters_refuse_bad_values_naming_them() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    admin
        .get("/audit-events?limit=0")
        .await
        .refused(422, "limit");
    admin
        .get("/audit-events?from=yesterday")
        .await
        .refused(422, "from");
    admin
        .get("/audit-events?client_id=x")
        .await
        .refused(422, "client_id");
}

/// The OpenAPI document, served without a token as JSON.
async fn openapi_document(app: &TestApp) -> Value {
    let r = app
        .http
        .get(app.url("/admin/api/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/json")
    );
    r.json().await.expect("valid JSON")
}

#[tokio::test]
async fn openapi_document_lists_what_is_served() {
    let app = &spawn_app().await;
    let doc = openapi_document(app).await;
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], app.url("/admin/api"));
    let flow = &doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"];
    assert_eq!(flow["tokenUrl"], app.url("/token"));
    assert!(flow["scopes"].get(ADMIN_SCOPE).is_some());
    let paths = doc["paths"].as_object().expect("paths");
    for expected in [
        "/resources",
        "/resources/{identifier}",
        "/clients",
        "/clients/{client_id}",
        "/clients/{client_id}/secret",
        "/users",
        "/users/{sub}",
        "/users/{sub}/password",
        "/users/{sub}/disable",
        "/users/{sub}/enable",
        "/users/{sub}/sessions",
        "/users/{sub}/sessions/{sid}",
        "/users/{sub}/consents",
        "/users/{sub}/consents/{client_id}",
        "/users/{sub}/refresh-families",
        "/users/{sub}/refresh-families/{family_id}",
        "/keys",
        "/keys/rotate",
        "/keys/{kid}/retire",
        "/lockouts",
        "/lockouts/{key}",
        "/audit-events",
    ] {
        assert!(paths.contains_key(expected), "{expected} missing");
    }
    // Unknown paths and methods answer in JSON too.
    let r = call(app, None, Method::GET, "/nothing", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "not_found");
}

/// Every documented operation is served (a token is asked for, never 404/405), declares its
/// path parameters and the token answers; operation ids are unique (OpenAPI 3.1 §4.8.10).
#[tokio::test]
async fn every_documented_operation_is_served_and_declares_its_path_parameters() {
    let app = &spawn_app().await;
    let doc = openapi_document(app).await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            operations += 1;
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().expect("name"))
                        .collect()
                })
                .unwrap_or_default();
            let templated: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            assert_eq!(declared, templated, "{method} {path}");
            assert!(op["responses"].get("401").is_some(), "{method} {path}");
            let concrete = path.replace('{', "x").replace('}', "");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = call(app, None, method.clone(), &concrete, None).await;
            assert_eq!(r.status, 401, "{method} {path}");
        }
    }
    assert_eq!(operations, 31);
    let ids: std::collections::BTreeSet<&str> = paths
        .values()
        .flat_map(|item| item.as_object().expect("path item").values())
        .map(|op| op["operationId"].as_str().expect("operationId"))
        .collect();
    assert_eq!(ids.len(), operations);
}

/// Every schema reference resolves (OpenAPI 3.1 §4.8.23): two request types of one name would
/// silently overwrite each other.
#[tokio::test]
async fn every_openapi_schema_reference_resolves() {
    let app = &spawn_app().await;
    let doc = openapi_document(app).await;
    let paths = doc["paths"].as_object().expect("paths");
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let text = doc.to_string();
    let references: Vec<&str> = text.split("\"$ref\":\"").skip(1).collect();
    assert!(references.len() > 30, "{} references", references.len());
    for reference in references {
        let target = reference.split('"').next().expect("ref");
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(schemas.contains_key(name), "{target} does not resolve");
    }
    let body_of = |path: &str| {
        let reference = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"]
            .as_str()
            .expect("body schema");
        let name = reference.rsplit('/').next().expect("name");
        schemas[name]["properties"].clone()
    };
    assert!(body_of("/keys/rotate").get("alg").is_some());
    assert!(
        body_of("/clients/{client_id}/secret")
            .get("overlap_seconds")
            .is_some()
    );
}

/// OIDC Core §5.1 claims through the API: set at creation, replaced as a whole by PATCH,
/// validated with the field named.
#[tokio::test]
async fn users_standard_claims() {
    let app = &spawn_app().await;
    let admin = Api::new(app).await;
    let r = admin
        .send(
            Method::POST,
            "/users",
            json!({"username": "ada", "password": "a long enough password",
                   "claims": {"given_name": "Ada", "locale": "en-GB",
                              "address": {"country": "UK"}}}),
        )
        .await;
    let body = r.is(201);
    assert_eq!(body["claims"]["given_name"], "Ada");
    assert_eq!(body["claims"]["address"]["country"], "UK");
    let user = format!("/users/{}", body["sub"].as_str().expect("sub"));
    let created_at = body["updated_at"].as_i64().expect("updated_at");

    app.clock.advance(10);
    let r = admin
        .send(
            Method::PATCH,
            &user,
            json!({"claims": {"phone_number": "+1 (425) 555-1212"}}),
        )
        .await;
    let body = r.is(200);
    assert_eq!(
        body["claims"],
        json!({"phone_number": "+1 (425) 555-1212", "phone_number_verified": false})
    );
    assert_eq!(body["updated_at"], created_at + 10);
    let r = admin
        .send(Method::PATCH, &user, json!({"name": "Ada"}))
        .await;
    assert_eq!(r.is(200)["claims"]["phone_number"], "+1 (425) 555-1212");

    admin
        .send(
            Method::PATCH,
            &user,
            json!({"claims": {"birthdate": "10/12/1815"}}),
        )
        .await
        .refused(422, "birthdate");
    let r = admin
        .send(Method::PATCH, &user, json!({"claims": {"shoe_size": "42"}}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
}
