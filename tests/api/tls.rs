//! Native TLS: HTTPS with HSTS, mutual TLS (required and optional client certificates),
//! certificate reload without restart, and start-up errors naming the setting. Every
//! certificate is generated here with rcgen.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use serde_json::Value;
use tessera::TestClock;
use tessera::app::App;
use tessera::config::{ClientAuth, Config};
use tessera::model::SigningAlg;
use tokio::sync::oneshot;

use crate::helpers::{fresh_db, shared_master_key, spawn_app, spawn_app_tls, test_config};

const METADATA: &str = "/.well-known/oauth-authorization-server";

/// A certificate authority made for one test.
pub(crate) struct Ca {
    cert: Certificate,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, both PEM.
pub(crate) struct Leaf {
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl Leaf {
    /// What `reqwest::Identity::from_pem` wants: the key and the certificate together.
    fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.key, self.cert).as_bytes())
            .expect("identity")
    }
}

impl Ca {
    pub(crate) fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Self {
            cert,
            issuer: Issuer::new(params, key),
        }
    }

    pub(crate) fn pem(&self) -> String {
        self.cert.pem()
    }

    fn leaf(&self, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// For 127.0.0.1 and localhost.
    pub(crate) fn server(&self) -> Leaf {
        self.leaf(
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    fn client(&self, name: &str) -> Leaf {
        self.leaf(&[name], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// The TLS files of one test server.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(server: &Leaf) -> Self {
        let files = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        files.write("cert.pem", &server.cert);
        files.write("key.pem", &server.key);
        files
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.path(name), contents).expect("write");
    }

    /// Sets `[tls]` to these files, reloaded every second.
    fn configure(&self, config: &mut Config) {
        config.tls.cert_file = Some(self.path("cert.pem"));
        config.tls.key_file = Some(self.path("key.pem"));
        config.tls.reload_seconds = 1;
    }

    fn with_client_ca(&self, ca: &Ca, auth: ClientAuth, config: &mut Config) {
        self.write("client-ca.pem", &ca.pem());
        self.configure(config);
        config.tls.client_ca_file = Some(self.path("client-ca.pem"));
        config.tls.client_auth = auth;
    }
}

/// A client trusting only `roots` (no built-in roots), with an optional client certificate.
fn client(roots: &[&Ca], identity: Option<&Leaf>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10));
    for ca in roots {
        let cert = reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA");
        builder = builder.add_root_certificate(cert);
    }
    if let Some(leaf) = identity {
        builder = builder.identity(leaf.identity());
    }
    builder.build().expect("client")
}

async fn metadata(http: &reqwest::Client, base: &str) -> reqwest::Result<reqwest::Response> {
    http.get(format!("{base}{METADATA}")).send().await
}

#[tokio::test]
async fn serves_https_with_hsts_and_an_https_issuer() {
    let ca = Ca::new("server CA");
    let files = Files::new(&ca.server());
    let mut app = spawn_app_tls(|c| files.configure(c)).await;
    app.http = client(&[&ca], None);
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);

    let r = metadata(&app.http, &app.base).await.expect("https request");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["issuer"], app.base.as_str());
    assert_eq!(body["token_endpoint"], app.url("/token"));

    // Errors and pages carry HSTS too, and the protocol works as over http.
    let r = app.http.get(app.url("/nowhere")).send().await.expect("404");
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    app.resource("https://api.example.com", SigningAlg::ES256)
        .await;
    let c = app.client(&["https://api.example.com"]).await;
    let secret = c.secret.expect("secret");
    let (status, body) = app.token(&c.client.client_id.0, &secret, "").await;
    assert_eq!(status, 200, "{body}");

    // A client that does not trust our CA cannot complete the handshake.
    let stranger = client(&[&Ca::new("another CA")], None);
    let err = metadata(&stranger, &app.base).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    // Plain http to the TLS port gets nowhere either.
    let plain = reqwest::Client::new();
    let http_base = app.base.replacen("https://", "http://", 1);
    let refused = metadata(&plain, &http_base).await;
    assert!(refused.is_err() || !refused.expect("response").status().is_success());

    // Never over plain http.
    let plain_app = spawn_app().await;
    let r = metadata(&plain_app.http, &plain_app.base)
        .await
        .expect("http");
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn required_client_certificates_gate_the_handshake() {
    let ca = Ca::new("server CA");
    let clients_ca = Ca::new("service clients CA");
    let files = Files::new(&ca.server());
    let app = spawn_app_tls(|c| files.with_client_ca(&clients_ca, ClientAuth::Required, c)).await;

    let without = client(&[&ca], None);
    let err = metadata(&without, &app.base).await.unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");

    let foreign = Ca::new("someone else's CA").client("intruder");
    let err = metadata(&client(&[&ca], Some(&foreign)), &app.base)
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");

    let orders = clients_ca.client("orders-service");
    let r = metadata(&client(&[&ca], Some(&orders)), &app.base)
        .await
        .expect("mutual TLS");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
}

#[tokio::test]
async fn optional_client_certificates_let_secret_clients_in() {
    let ca = Ca::new("server CA");
    let clients_ca = Ca::new("service clients CA");
    let files = Files::new(&ca.server());
    let mut app =
        spawn_app_tls(|c| files.with_client_ca(&clients_ca, ClientAuth::Optional, c)).await;

    let orders = clients_ca.client("orders-service");
    let r = metadata(&client(&[&ca], Some(&orders)), &app.base)
        .await
        .expect("with a certificate");
    assert_eq!(r.status(), 200);

    // An OAuth client without a certificate still gets a token with its secret.
    app.http = client(&[&ca], None);
    app.resource("https://api.example.com", SigningAlg::ES256)
        .await;
    let c = app.client(&["https://api.example.com"]).await;
    let secret = c.secret.expect("secret");
    let (status, body) = app.token(&c.client.client_id.0, &secret, "").await;
    assert_eq!(status, 200, "{body}");

    // A presented certificate must still verify.
    let foreign = Ca::new("someone else's CA").client("intruder");
    let err = metadata(&client(&[&ca], Some(&foreign)), &app.base)
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
}

/// Polls (fresh connections, short sleeps) until `http` completes a request; false after ~8 s.
async fn eventually_served(http: &reqwest::Client, base: &str) -> bool {
    for _ in 0..40 {
        if let Ok(r) = metadata(http, base).await {
            return r.status().is_success();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn renewed_certificates_are_served_without_restart() {
    let old_ca = Ca::new("old CA");
    let new_ca = Ca::new("new CA");
    let files = Files::new(&old_ca.server());
    let app = spawn_app_tls(|c| files.configure(c)).await;
    let trusts_old = client(&[&old_ca], None);
    let trusts_new = client(&[&new_ca], None);
    assert!(metadata(&trusts_old, &app.base).await.is_ok());
    assert!(metadata(&trusts_new, &app.base).await.is_err());

    // A renewal written file by file: the new key alone does not fit the old certificate, so
    // it is refused and the old certificate stays in service.
    let renewed = new_ca.server();
    files.write("key.pem", &renewed.key);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = client(&[&old_ca], None)
        .get(app.url(METADATA))
        .send()
        .await
        .expect("old certificate still served");
    assert_eq!(r.status(), 200);

    files.write("cert.pem", &renewed.cert);
    // Each client gets a fresh connection pool, so every attempt is a new handshake.
    assert!(
        eventually_served(&client(&[&new_ca], None), &app.base).await,
        "the renewed certificate was not picked up"
    );
    assert!(
        metadata(&client(&[&old_ca], None), &app.base)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn unusable_tls_files_stop_the_start_naming_the_setting() {
    let ca = Ca::new("server CA");
    let files = Files::new(&ca.server());
    let db = fresh_db().await;
    let start = |change: &dyn Fn(&mut Config)| {
        let mut config = test_config(&db.url, 9, &shared_master_key());
        config.issuer = Some("https://127.0.0.1:9".to_owned());
        files.configure(&mut config);
        change(&mut config);
        async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            match App::build(config, Arc::new(TestClock::new()), listener).await {
                Ok(_) => panic!("the app must not start"),
                Err(e) => e.to_string(),
            }
        }
    };
    let missing =
        |c: &mut Config| c.tls.cert_file = Some(Path::new("/nonexistent/cert.pem").into());
    let err = start(&missing).await;
    assert!(
        err.contains("TESSERA_TLS__CERT_FILE") && err.contains("/nonexistent"),
        "{err}"
    );

    files.write("garbage.pem", "not PEM at all\n");
    let garbage_cert = |c: &mut Config| c.tls.cert_file = Some(files.path("garbage.pem"));
    let err = start(&garbage_cert).await;
    assert!(err.contains("TESSERA_TLS__CERT_FILE"), "{err}");
    let garbage_key = |c: &mut Config| c.tls.key_file = Some(files.path("garbage.pem"));
    let err = start(&garbage_key).await;
    assert!(err.contains("TESSERA_TLS__KEY_FILE"), "{err}");

    files.write("other-key.pem", &ca.server().key);
    let other_key = |c: &mut Config| c.tls.key_file = Some(files.path("other-key.pem"));
    let err = start(&other_key).await;
    assert!(
        err.contains("TESSERA_TLS__KEY_FILE") && err.contains("fit"),
        "{err}"
    );

    let garbage_ca = |c: &mut Config| {
        c.tls.client_ca_file = Some(files.path("garbage.pem"));
        c.tls.client_auth = ClientAuth::Required;
    };
    let err = start(&garbage_ca).await;
    assert!(err.contains("TESSERA_TLS__CLIENT_CA_FILE"), "{err}");
}

#[tokio::test]
async fn graceful_shutdown_over_tls() {
    let ca = Ca::new("server CA");
    let files = Files::new(&ca.server());
    let db = fresh_db().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut config = test_config(&db.url, port, &shared_master_key());
    config.issuer = Some(format!("https://127.0.0.1:{port}"));
    files.configure(&mut config);
    let app = App::build(config, Arc::new(TestClock::new()), listener)
        .await
        .expect("app starts");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async {
        let _ = rx.await;
    }));
    let base = format!("https://127.0.0.1:{port}");
    let http = client(&[&ca], None);
    // The client keeps its connection open (idle, pooled): it must not hold the shutdown.
    assert_eq!(metadata(&http, &base).await.expect("served").status(), 200);

    tx.send(()).expect("signal");
    let stopped = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops after the signal")
        .expect("no panic");
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(metadata(&http, &base).await.is_err());
}

/// Over TLS too: a connection that never completes its handshake, and one that completes it
/// and then stops inside a request head, are closed after the header-read timeout.
#[tokio::test]
async fn slow_tls_clients_are_closed_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ca = Ca::new("server CA");
    let files = Files::new(&ca.server());
    let mut app = spawn_app_tls(|c| {
        files.configure(c);
        c.server.header_read_timeout_ms = 500;
    })
    .await;
    app.http = client(&[&ca], None);
    let addr = app.base.trim_start_matches("https://").to_owned();
    let mut silent = Vec::new();
    for _ in 0..50 {
        silent.push(
            tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect"),
        );
    }
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(ca.cert.der().clone())
        .expect("CA into the root store");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let mut half = connector.connect(name, tcp).await.expect("handshake");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("write");

    let r = metadata(&app.http, &app.base)
        .await
        .expect("served meanwhile");
    assert_eq!(r.status(), 200);
    let patience = Duration::from_secs(15);
    let mut buf = [0u8; 1024];
    for stream in &mut silent {
        let read = tokio::time::timeout(patience, stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "a silent connection is still open: {read:?}"
        );
    }
    let read = tokio::time::timeout(patience, half.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "a half-sent request over TLS is still open: {read:?}"
    );
}

/// `sslmode=require` encrypts the connection to PostgreSQL (scripts/test's server has
/// `ssl=on` with Debian's snakeoil certificate), and `verify-full` checks the server against
/// the CA given as `sslrootcert`.
#[tokio::test]
async fn postgres_connections_use_tls_when_the_url_asks() {
    let base = crate::helpers::postgres_base_url();
    let base = base.split('?').next().expect("url").to_owned();
    let encrypted = |db: &tessera::store::Db| {
        let db = db.clone();
        async move {
            let tessera::store::Db::Postgres(pool) = &db else {
                panic!("PostgreSQL")
            };
            sqlx::query_scalar::<_, bool>(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            )
            .fetch_one(pool)
            .await
            .expect("pg_stat_ssl")
        }
    };
    let db = tessera::store::Db::connect(&format!("{base}?sslmode=require"), 1)
        .await
        .expect("sslmode=require connects");
    assert!(encrypted(&db).await, "sslmode=require is encrypted");
    db.close().await;

    let snakeoil = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    let local = base.replacen("@127.0.0.1:", "@localhost:", 1);
    let db = tessera::store::Db::connect(
        &format!("{local}?sslmode=verify-full&sslrootcert={snakeoil}"),
        1,
    )
    .await
    .expect("verify-full against the server's CA connects");
    assert!(encrypted(&db).await);
    db.close().await;

    // A CA that did not sign the server's certificate: no connection, and the error says why.
    let dir = tempfile::tempdir().expect("tempdir");
    let other = dir.path().join("other-ca.pem");
    std::fs::write(&other, Ca::new("not the database's CA").pem()).expect("write");
    let err = tessera::store::Db::connect(
        &format!(
            "{local}?sslmode=verify-full&sslrootcert={}",
            other.display()
        ),
        1,
    )
    .await
    .expect_err("an unknown server certificate is refused");
    assert!(err.to_string().contains("localhost:5432"), "{err}");
}

/// A Redis server speaking only TLS, on a free port, stopped on drop.
struct TlsRedis {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsRedis {
    fn start(ca: &Ca) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let leaf = ca.server();
        std::fs::write(dir.path().join("cert.pem"), &leaf.cert).expect("write");
        std::fs::write(dir.path().join("key.pem"), &leaf.key).expect("write");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new("redis-server")
            .current_dir(dir.path())
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--tls-cert-file", "cert.pem", "--tls-key-file", "key.pem"])
            .args([
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Shared rate limits reach Redis over TLS (`rediss://`), verified against
/// `TESSERA_LIMITS__REDIS_CA_FILE`; without that CA the server is not trusted.
#[tokio::test]
async fn shared_limits_reach_redis_over_tls() {
    let ca = Ca::new("redis CA");
    let redis = TlsRedis::start(&ca);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("redis-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write");
    let url = format!("rediss://127.0.0.1:{}", redis.port);
    let configure = |c: &mut Config, ca: Option<PathBuf>| {
        c.limits.shared = tessera::config::SharedLimits::Redis;
        c.limits.redis_url = Some(tessera::config::SecretString(url.clone()));
        c.limits.redis_ca_file = ca;
        c.limits.token_per_client_per_second = 100;
    };
    let app = crate::helpers::spawn_app_with(|c| configure(c, Some(ca_file.clone()))).await;
    app.resource("https://api.example.com", SigningAlg::ES256)
        .await;
    let reg = app.client(&["https://api.example.com"]).await;
    let secret = reg.secret.expect("secret");
    assert_eq!(app.token(&reg.client.client_id.0, &secret, "").await.0, 200);
    app.core
        .limits
        .sync()
        .await
        .expect("counts exchanged with Redis over TLS");

    let untrusting = crate::helpers::spawn_app_with(|c| configure(c, None)).await;
    untrusting
        .resource("https://api.example.com", SigningAlg::ES256)
        .await;
    let reg = untrusting.client(&["https://api.example.com"]).await;
    let secret = reg.secret.expect("secret");
    assert_eq!(
        untrusting
            .token(&reg.client.client_id.0, &secret, "")
            .await
            .0,
        200
    );
    assert!(
        untrusting.core.limits.sync().await.is_err(),
        "a server certificate from an unknown CA is refused"
    );
}
