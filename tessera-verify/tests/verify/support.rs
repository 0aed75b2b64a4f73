//! A real Tessera on a fresh database, a protected service in front of the verifier, and the
//! clock both share.

use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tessera::TestClock;
use tessera::app::App;
use tessera::config::{Config, PasswordsConfig, SecretString};
use tessera::crypto::master_key::Keyring;
use tessera::model::{Actor, ScopeDef, SigningAlg};
use tessera::service::clients::{ClientSpec, Registered};
use tessera::service::resources::ResourceSpec;
use tessera::state::Core;
use tessera_verify::{
    Clock, RequireToken, RequiredScopes, Scoped, VerifiedToken, Verifier, VerifierBuilder,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The verifier reads the same manual clock as the Tessera under test.
#[derive(Debug)]
pub struct SharedClock(pub TestClock);

impl Clock for SharedClock {
    fn now(&self) -> u64 {
        use tessera::clock::Clock as _;
        u64::try_from(self.0.now()).unwrap()
    }
}

/// A Tessera on a temp SQLite file, or a fresh PostgreSQL schema when TEST_DATABASE_URL is set.
pub struct Tessera {
    pub issuer: String,
    pub core: Arc<Core>,
    pub clock: TestClock,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

async fn database_url() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let schema = format!("v_{}", uuid::Uuid::new_v4().simple());
            let admin = tessera::store::Db::connect(&base, 1)
                .await
                .expect("PostgreSQL");
            if let tessera::store::Db::Postgres(pool) = &admin {
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(pool)
                    .await
                    .expect("create schema");
            }
            admin.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            (
                format!("{base}{sep}options%5Bsearch_path%5D={schema}"),
                None,
            )
        }
        _ => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
            (url, Some(dir))
        }
    }
}

impl Tessera {
    pub async fn start() -> Self {
        let (url, dir) = database_url().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Config {
            issuer: Some(format!("http://127.0.0.1:{port}")),
            bind: format!("127.0.0.1:{port}").parse().unwrap(),
            database_url: url,
            master_key: Some(SecretString(Keyring::generate_encoded())),
            // Given, so that Tessera does not write a generated one into ./data.
            bootstrap_admin_password: Some(SecretString("admin password for tests".into())),
            passwords: PasswordsConfig {
                memory_kib: 256,
                iterations: 1,
                parallelism: 1,
                ..PasswordsConfig::default()
            },
            ..Config::default()
        }
        .validated()
        .expect("config");
        let clock = TestClock::new();
        let app = App::build(config, Arc::new(clock.clone()), listener)
            .await
            .expect("Tessera starts");
        let core = app.core.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.serve(async {
            let _ = rx.await;
        }));
        Self {
            issuer: format!("http://127.0.0.1:{port}"),
            core,
            clock,
            shutdown: Some(tx),
            server: Some(server),
            _dir: dir,
        }
    }

    /// Stops serving and waits until the port is closed.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
        }
    }

    /// A resource `identifier` with scopes `read` and `write`, signed with `alg`, and a
    /// confidential client granted it.
    pub async fn client_for(&self, identifier: &str, alg: SigningAlg) -> Registered {
        let mut spec = ResourceSpec::new(identifier);
        spec.scopes = ["read", "write"]
            .iter()
            .map(|name| ScopeDef {
                name: (*name).to_owned(),
                description: format!("{name} things"),
            })
            .collect();
        spec.signing_alg = alg;
        self.core
            .create_resource(spec, &Actor::cli())
            .await
            .expect("resource");
        let mut client = ClientSpec::new("service client");
        client.resources = vec![identifier.to_owned()];
        self.core
            .create_client(client, &Actor::cli())
            .await
            .expect("client")
    }

    /// A client_credentials token from /token (RFC 6749 §4.4), with `scope` if given.
    pub async fn token(&self, client: &Registered, scope: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .header("authorization", basic(client))
            .form(&form)
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token response");
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {answer}"))
            .to_owned()
    }

    /// A verifier for `audience` on this Tessera, reading its clock.
    pub fn verifier(&self, audience: &str) -> VerifierBuilder {
        Verifier::builder(&self.issuer, audience).clock(Arc::new(SharedClock(self.clock.clone())))
    }
}

pub fn basic(client: &Registered) -> String {
    let secret = client.secret.as_deref().expect("confidential client");
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{secret}", client.client.client_id.0))
    )
}

/// What the protected routes answer: who called, with which scopes, for whom (the `act` chain,
/// outermost first) and bound to what.
async fn whoami(token: VerifiedToken) -> axum::Json<Value> {
    let mut actors = Vec::new();
    let mut act = token.act.as_ref();
    while let Some(actor) = act {
        actors.push(actor.sub.clone());
        act = actor.act.as_deref();
    }
    let cnf = token.cnf.clone().unwrap_or_default();
    axum::Json(json!({
        "sub": token.sub,
        "client_id": token.client_id,
        "scope": token.scope,
        "aud": token.aud,
        "actors": actors,
        "jkt": cnf.jkt,
        "x5t": cnf.x5t_s256,
        "jti": token.claims["jti"],
    }))
}

/// A service on an ephemeral port: `/any` needs a valid token, `/read` also scope `read` (both
/// by the layer), `/write` scope `write` (by the `Scoped` extractor alone, with the verifier as
/// an extension). Returns its base URL.
pub async fn protected_service(verifier: &Verifier) -> String {
    let router = protected_router(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// The scope of `/write`, named by a type for the extractor.
pub struct Write;

impl RequiredScopes for Write {
    const SCOPES: &'static [&'static str] = &["write"];
}

async fn write_whoami(token: Scoped<Write>) -> axum::Json<Value> {
    whoami(token.token).await
}

pub fn protected_router(verifier: &Verifier) -> Router {
    let any = Router::new()
        .route("/any", get(whoami))
        .route_layer(RequireToken::new(verifier.clone()));
    let read = Router::new()
        .route("/read", get(whoami))
        .route_layer(RequireToken::new(verifier.clone()).scopes(&["read"]));
    let write = Router::new()
        .route("/write", get(write_whoami))
        .layer(Extension(verifier.clone()));
    any.merge(read).merge(write)
}

/// GETs `url` with `authorization`: the status, the challenge and the JSON body.
pub async fn call(url: &str, authorization: Option<&str>) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    answer(request.send().await.expect("request")).await
}

pub async fn answer(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}
