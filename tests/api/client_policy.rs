//! One client setting end to end: `default_max_age` (OIDC Registration §2) set through the admin
//! API, the console and the CLI, stored, shown, and enforced at the authorization endpoint.

use std::process::{Command, Output};

use reqwest::Method;
use serde_json::{Value, json};
use tessera::model::{Actor, GrantType};
use tessera::service::clients::ClientSpec;

use crate::console::console_session;
use crate::helpers::{ADMIN_PASSWORD, TestApp, spawn_app};
use crate::signin::{
    API, Browser, REDIRECT, authorize_for, callback_params, enc, hidden, setup_with,
    sign_in_and_consent,
};

/// A sign-in older than the client's default_max_age is asked for again; a request's own
/// max_age takes precedence (OIDC Registration §2, OIDC Core §3.1.2.1).
#[tokio::test]
async fn default_max_age_asks_an_old_sign_in_again_unless_the_request_says_otherwise() {
    let s = setup_with(|spec| {
        spec.first_party = true;
        spec.default_max_age = Some(600);
    })
    .await;
    let b = Browser::new();
    let url = authorize_for(&s, "openid read");
    let back = sign_in_and_consent(&b, &s.app, &url).await;
    assert!(callback_params(&back).contains_key("code"));
    let r = b.get(&url).await;
    assert!(
        r.location.expect("location").starts_with(REDIRECT),
        "a fresh sign-in counts"
    );

    s.app.clock.advance(601);
    let r = b.get(&url).await;
    assert!(r.location.expect("location").starts_with("/login"));
    let r = b.get(&format!("{url}&max_age=3600")).await;
    assert!(
        r.location.expect("location").starts_with(REDIRECT),
        "the request's max_age overrides the default"
    );
    let r = b.get(&format!("{url}&prompt=none")).await;
    let back = r.location.expect("location");
    assert_eq!(callback_params(&back)["error"], "login_required");
}

/// Without the setting an old sign-in still counts (the behaviour before it existed).
#[tokio::test]
async fn without_default_max_age_a_sign_in_counts_for_the_whole_session() {
    let s = setup_with(|spec| spec.first_party = true).await;
    let b = Browser::new();
    let url = authorize_for(&s, "openid read");
    sign_in_and_consent(&b, &s.app, &url).await;
    s.app.clock.advance(20 * 60);
    let r = b.get(&url).await;
    assert!(r.location.expect("location").starts_with(REDIRECT));
}

/// An admin-API caller: a client marked admin_api with a `tessera:admin` token.
async fn admin_token(app: &TestApp) -> String {
    let mut spec = ClientSpec::new("automation");
    spec.admin_api = true;
    spec.grant_types = vec![GrantType::ClientCredentials];
    spec.resources = vec![app.core.admin_api_identifier()];
    let reg = app
        .core
        .create_client(spec, &Actor::cli())
        .await
        .expect("admin client");
    let extra = format!(
        "&scope=tessera:admin&resource={}",
        enc(&app.core.admin_api_identifier())
    );
    let secret = reg.secret.expect("secret");
    let (status, body) = app.token(&reg.client.client_id.0, &secret, &extra).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn api(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, app.url(&format!("/admin/api{path}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_admin_api_sets_shows_clears_and_refuses_default_max_age() {
    let app = &spawn_app().await;
    let token = admin_token(app).await;
    let (status, body) = api(
        app,
        &token,
        Method::POST,
        "/clients",
        json!({"name": "SPA", "public": true, "redirect_uris": ["https://spa.example/cb"],
               "default_max_age": 300}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["client"]["default_max_age"], 300);
    let id = body["client"]["client_id"].as_str().expect("id").to_owned();
    let path = format!("/clients/{id}");
    let stored = app.core.client(&id).await.expect("client");
    assert_eq!(stored.default_max_age, Some(300));

    let (status, body) = api(app, &token, Method::PATCH, &path, json!({"name": "SPA 2"})).await;
    assert_eq!(
        (status, &body["default_max_age"]),
        (200, &json!(300)),
        "kept"
    );
    let (_, body) = api(
        app,
        &token,
        Method::PATCH,
        &path,
        json!({"default_max_age": 0}),
    )
    .await;
    assert_eq!(body["default_max_age"], 0);
    let (_, body) = api(app, &token, Method::GET, &path, Value::Null).await;
    assert_eq!(body["default_max_age"], 0);
    let (_, body) = api(
        app,
        &token,
        Method::PATCH,
        &path,
        json!({"default_max_age": null}),
    )
    .await;
    assert!(body["default_max_age"].is_null(), "{body}");

    for bad in [json!(-1), json!(366 * 86_400), json!("soon")] {
        let (status, body) = api(
            app,
            &token,
            Method::PATCH,
            &path,
            json!({ "default_max_age": bad }),
        )
        .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["field"], "default_max_age", "{body}");
    }
    let (status, body) = api(
        app,
        &token,
        Method::POST,
        "/clients",
        json!({"name": "x", "default_max_age": -5}),
    )
    .await;
    assert_eq!((status, &body["field"]), (422, &json!("default_max_age")));

    // The OpenAPI document describes it in both request bodies.
    let doc: Value = reqwest::get(app.url("/admin/api/openapi.json"))
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    for schema in ["NewClient", "ClientChanges"] {
        let properties = &doc["components"]["schemas"][schema]["properties"];
        assert!(properties.get("default_max_age").is_some(), "{schema}");
    }
}

#[tokio::test]
async fn the_console_form_sets_shows_and_refuses_default_max_age() {
    let app = spawn_app().await;
    app.resource(API, tessera::model::SigningAlg::ES256).await;
    let id = app.client(&[API]).await.client.client_id.0;
    let b = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let edit = app.url(&format!("/admin/clients/{id}"));
    let post = |max_age: &'static str| {
        let (b, edit) = (&b, &edit);
        async move {
            let page = b.get(edit).await;
            let form = [
                ("csrf", hidden(&page.body, "csrf")),
                ("name", "Service".to_owned()),
                ("auth_method", "client_secret_basic".to_owned()),
                ("grant_types", "client_credentials".to_owned()),
                ("resources", API.to_owned()),
                ("id_token_alg", "RS256".to_owned()),
                ("pkce_required", "on".to_owned()),
                ("default_max_age", max_age.to_owned()),
            ];
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post(edit, &pairs).await
        }
    };
    let saved = post("120").await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let client = app.core.client(&id).await.expect("client");
    assert_eq!(client.default_max_age, Some(120));
    assert!(b.get(&edit).await.body.contains("value=\"120\""));

    for bad in ["soon", "-1"] {
        let refused = post(bad).await;
        assert_eq!(refused.status, 422, "{bad}");
        assert!(
            refused.body.contains(&format!("value=\"{bad}\"")),
            "typed value kept"
        );
    }
    let client = app.core.client(&id).await.expect("client");
    assert_eq!(
        client.default_max_age,
        Some(120),
        "refused forms change nothing"
    );

    assert_eq!(post("").await.status, 303);
    let client = app.core.client(&id).await.expect("client");
    assert_eq!(client.default_max_age, None, "an empty field clears it");
}

/// `tessera …` in a scratch directory with its own SQLite file and no inherited configuration.
fn tessera(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TESSERA_") {
            cmd.env_remove(&name);
        }
    }
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env(
            "TESSERA_DATABASE_URL",
            format!("sqlite://{}", dir.join("policy.db").display()),
        )
        .output()
        .expect("run tessera")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn the_cli_sets_and_shows_default_max_age() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    json_of(&tessera(dir, &["migrate", "--json"]));
    json_of(&tessera(
        dir,
        &["resources", "create", API, "--scope", "read=Read", "--json"],
    ));
    let created = json_of(&tessera(
        dir,
        &[
            "clients",
            "create",
            "--name",
            "web",
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--resource",
            API,
            "--default-max-age",
            "300",
            "--json",
        ],
    ));
    assert_eq!(created["client"]["default_max_age"], 300);
    let id = created["client"]["client_id"].as_str().expect("id");
    let updated = json_of(&tessera(
        dir,
        &["clients", "update", id, "--default-max-age", "60", "--json"],
    ));
    assert_eq!(updated["default_max_age"], 60);
    let renamed = json_of(&tessera(
        dir,
        &["clients", "update", id, "--name", "web 2", "--json"],
    ));
    assert_eq!(
        renamed["default_max_age"], 60,
        "flags not given keep their values"
    );
    let refused = tessera(dir, &["clients", "update", id, "--default-max-age=-5"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("default_max_age"));
}
