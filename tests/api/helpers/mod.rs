//! Spawns the real server on 127.0.0.1:0 against a fresh database: a temp SQLite file, or a fresh
//! PostgreSQL schema when TEST_DATABASE_URL is set. The submodules hold the other pieces tests
//! share: the binary as a child process, clients that play the browser, and oauth2-crate clients.

pub mod oauth;
pub mod process;
pub mod web;

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tessera::TestClock;
use tessera::app::{App, Init};
use tessera::config::{Config, PasswordsConfig, SecretString};
use tessera::crypto::master_key::Keyring;
use tessera::model::{ScopeDef, SigningAlg, User};
use tessera::service::clients::{ClientSpec, Registered};
use tessera::service::keys::new_key_row;
use tessera::service::resources::ResourceSpec;
use tessera::service::users::UserSpec;
use tessera::state::Core;
use tessera::store::Db;
use tessera::store::keys::KeyRow;
use tokio::sync::oneshot;

/// One master key and key set for the whole test binary: RSA generation per test would
/// dominate the suite. `keys::first_start_generates_keys_once_under_a_race` covers real generation.
fn shared_keys() -> &'static (String, Vec<KeyRow>) {
    static KEYS: OnceLock<(String, Vec<KeyRow>)> = OnceLock::new();
    KEYS.get_or_init(|| {
        tessera::crypto::install_providers();
        let master = Keyring::generate_encoded();
        let keyring = Keyring::parse(&master).expect("keyring");
        let then = TestClock::new();
        use tessera::clock::Clock;
        let now = then.now() - 3600;
        let mut rows = Vec::new();
        for alg in SigningAlg::ALL {
            for state in ["active", "next"] {
                rows.push(new_key_row(alg, state, &keyring, now).expect("key"));
            }
        }
        (master, rows)
    })
}

pub fn shared_master_key() -> String {
    shared_keys().0.clone()
}

/// A database URL for a brand-new, empty database, plus what keeps it alive.
pub struct FreshDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL server of tests that need one whatever the suite runs on: TEST_DATABASE_URL
/// when it is PostgreSQL, else the local server scripts/test sets up.
pub fn postgres_base_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => url,
        _ => "postgres://postgres@127.0.0.1:5432/test".to_owned(),
    }
}

/// A fresh schema on the PostgreSQL server at `base`.
pub async fn fresh_postgres_db(base: &str) -> FreshDb {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Db::connect(base, 1).await.unwrap_or_else(|e| {
        panic!("PostgreSQL must be reachable at {base} (scripts/test sets it up): {e}")
    });
    if let Db::Postgres(pool) = &admin {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(pool)
            .await
            .expect("create schema");
    }
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    FreshDb {
        url: format!("{base}{sep}options%5Bsearch_path%5D={schema}"),
        _dir: None,
    }
}

pub async fn fresh_db() -> FreshDb {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => fresh_postgres_db(&base).await,
        _ => {
            let dir = tempfile::tempdir().expect("tempdir");
            FreshDb {
                url: format!("sqlite://{}", dir.path().join("tessera.db").display()),
                _dir: Some(dir),
            }
        }
    }
}

/// The bootstrap admin every test server starts with (user `admin`).
pub const ADMIN_PASSWORD: &str = "admin password for tests";

pub fn test_config(url: &str, port: u16, master_key: &str) -> Config {
    Config {
        issuer: Some(format!("http://127.0.0.1:{port}")),
        bind: format!("127.0.0.1:{port}").parse().expect("addr"),
        database_url: url.to_owned(),
        master_key: Some(SecretString(master_key.to_owned())),
        passwords: cheap_passwords(),
        bootstrap_admin_password: Some(SecretString(ADMIN_PASSWORD.to_owned())),
        ..Config::default()
    }
    .validated()
    .expect("valid test config")
}

/// argon2id at 256 KiB and one pass: the real code path at a fraction of OWASP's cost.
/// `users::production_parameters_hash_and_verify` covers the defaults.
pub fn cheap_passwords() -> PasswordsConfig {
    PasswordsConfig {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
        ..PasswordsConfig::default()
    }
}

/// Opens a Core on `url` with other password settings (as a restarted or newer instance would).
pub async fn open_core_with_passwords(url: &str, passwords: PasswordsConfig) -> Arc<Core> {
    tessera::crypto::install_providers();
    let config = Config {
        passwords,
        ..test_config(url, 9, &shared_master_key())
    }
    .validated()
    .expect("valid config");
    Core::open(config, Arc::new(TestClock::new()), Init::Forbidden)
        .await
        .expect("core opens")
}

pub struct TestApp {
    pub base: String,
    pub core: Arc<Core>,
    pub clock: TestClock,
    pub http: reqwest::Client,
    pub db: Arc<FreshDb>,
    _shutdown: oneshot::Sender<()>,
}

/// A server on a fresh database, seeded with the shared key set.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The same with a configuration change (rate limits, lifetimes, …).
pub async fn spawn_app_with(customise: impl FnOnce(&mut Config)) -> TestApp {
    spawn_seeded(fresh_db().await, customise).await
}

/// A server on `db` (new and empty), seeded with the shared key set.
pub async fn spawn_seeded(db: FreshDb, customise: impl FnOnce(&mut Config)) -> TestApp {
    let db = Arc::new(db);
    let seeded = Db::connect(&db.url, 1).await.expect("connect");
    seeded.migrate().await.expect("migrate");
    for row in &shared_keys().1 {
        tessera::store::keys::insert_if_free(&seeded, row)
            .await
            .expect("seed key");
    }
    seeded.close().await;
    spawn_on_with(db, TestClock::new(), customise).await
}

/// Another server on the same database (as a second instance behind a load balancer would be).
pub async fn spawn_on(db: Arc<FreshDb>, clock: TestClock) -> TestApp {
    spawn_on_with(db, clock, |_| {}).await
}

pub async fn spawn_on_with(
    db: Arc<FreshDb>,
    clock: TestClock,
    customise: impl FnOnce(&mut Config),
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut config = test_config(&db.url, port, &shared_master_key());
    customise(&mut config);
    let app = App::build(config, Arc::new(clock.clone()), listener)
        .await
        .expect("app starts");
    let core = app.core.clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.serve(async {
        let _ = rx.await;
    }));
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        core,
        clock,
        http: reqwest::Client::new(),
        db,
        _shutdown: tx,
    }
}

/// Opens a Core without serving (as the CLI does).
pub async fn open_core(
    url: &str,
    master_key: &str,
    init: Init,
) -> Result<Arc<Core>, tessera::error::AppError> {
    tessera::crypto::install_providers();
    let config = test_config(url, 9, master_key);
    Core::open(config, Arc::new(TestClock::new()), init).await
}

pub fn scope(name: &str) -> ScopeDef {
    ScopeDef {
        name: name.to_owned(),
        description: format!("{name} things"),
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A resource with scopes `read` and `write`, signed with `alg`.
    pub async fn resource(&self, identifier: &str, alg: SigningAlg) {
        let mut spec = ResourceSpec::new(identifier);
        spec.scopes = vec![scope("read"), scope("write")];
        spec.signing_alg = alg;
        self.core
            .create_resource(spec, &tessera::model::Actor::cli())
            .await
            .expect("resource");
    }

    /// A user with only a username and `password`.
    pub async fn user(&self, username: &str, password: &str) -> User {
        self.core
            .create_user(
                UserSpec::new(username),
                password,
                &tessera::model::Actor::cli(),
            )
            .await
            .expect("user")
    }

    /// A confidential client granted `resources` (all their scopes).
    pub async fn client(&self, resources: &[&str]) -> Registered {
        let mut spec = ClientSpec::new("test client");
        spec.resources = resources.iter().map(|r| r.to_string()).collect();
        self.core
            .create_client(spec, &tessera::model::Actor::cli())
            .await
            .expect("client")
    }

    /// POSTs a form body to `path` with an optional Authorization header.
    pub async fn post_form(&self, path: &str, auth: Option<&str>, body: &str) -> reqwest::Response {
        let mut req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send().await.expect("request")
    }

    /// client_credentials with Basic auth; returns (status, JSON body).
    pub async fn token(&self, id: &str, secret: &str, extra: &str) -> (u16, Value) {
        let body = format!("grant_type=client_credentials{extra}");
        let r = self
            .post_form("/token", Some(&basic(id, secret)), &body)
            .await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn access_token(&self, id: &str, secret: &str) -> String {
        let (status, body) = self.token(id, secret, "").await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn introspect(&self, id: &str, secret: &str, token: &str) -> Value {
        let body = format!("token={token}");
        let r = self
            .post_form("/introspect", Some(&basic(id, secret)), &body)
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }
}

/// Runs `sql` on `db` with `binds`: test data no service call makes, or a fault to inject.
pub async fn execute(db: &Db, sql: &str, binds: &[&str]) {
    match db {
        Db::Postgres(pool) => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
            for b in binds {
                q = q.bind(*b);
            }
            q.execute(pool).await.map(|_| ())
        }
        Db::Sqlite(pool) => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
            for b in binds {
                q = q.bind(*b);
            }
            q.execute(pool).await.map(|_| ())
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Checks what every protocol error must carry and returns the error code.
pub async fn expect_error(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: Value = r.json().await.expect("JSON error body");
    body["error"].as_str().expect("error code").to_owned()
}

/// A server speaking only TLS: `customise` sets the `[tls]` files; the issuer and `base` become
/// https://127.0.0.1:PORT. `http` stays a client without the test CA: replace it.
pub async fn spawn_app_tls(customise: impl FnOnce(&mut Config)) -> TestApp {
    let mut app = spawn_app_with(|config| {
        config.issuer = Some(format!("https://{}", config.bind));
        customise(config);
    })
    .await;
    app.base = app.base.replacen("http://", "https://", 1);
    app
}
