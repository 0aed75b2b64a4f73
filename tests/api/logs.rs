//! No secret, token, code or password ever appears in a log line. The built binary runs as a child
//! process with `RUST_LOG=trace` for every crate, in both log formats, while a full flow is driven
//! through it (client credentials, introspection, sign-in with a wrong and a right password,
//! consent, code exchange, userinfo, refresh, revocation, replays, a wrong client secret, logout);
//! everything it printed is then searched for every sensitive value the flow used or received.
//! The same run checks that security events reach the log stream as `tessera::audit` lines.
//! Access-log lines name the client and the outcome of each request.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use oauth2::PkceCodeChallenge;
use serde_json::Value;

use crate::helpers::basic;
use crate::helpers::process::{Server, tessera};
use crate::helpers::web::no_redirects;
use crate::signin::{Browser, hidden};

const API: &str = "https://api.example.com/ledger";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const AFTER_LOGOUT: &str = "http://127.0.0.1:9/signed-out";
/// Only URL- and JSON-safe characters, so that every encoding of it is the same string.
const PASSWORD: &str = "Tr0ub4dor-and-three-horses";
const WRONG_PASSWORD: &str = "not-alices-password-0451";
const WRONG_SECRET: &str = "wrong-client-secret-9b1d2c7e";
const SESSION_COOKIE: &str = "tessera_session";

/// Cheap argon2 for the child processes: the production parameters are covered in `users`.
const CHEAP_ARGON2: [(&str, &str); 2] = [
    ("TESSERA_PASSWORDS__MEMORY_KIB", "256"),
    ("TESSERA_PASSWORDS__ITERATIONS", "1"),
];

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every sensitive value seen, with what it is, in each form a log line could carry it.
#[derive(Default)]
struct Secrets {
    needles: Vec<(String, String)>,
}

impl Secrets {
    fn add(&mut self, what: &str, value: &str) {
        assert!(
            value.len() >= 16,
            "{what} is too short to search for without false alarms: {value:?}"
        );
        let mut forms = vec![value.to_owned(), enc(value)];
        // JSON and Debug escaping, and the Base64 of the raw bytes.
        forms.push(
            serde_json::to_string(value).expect("json")[1..]
                .trim_end_matches('"')
                .into(),
        );
        forms.push(format!("{value:?}").trim_matches('"').to_owned());
        forms.push(STANDARD.encode(value));
        forms.sort();
        forms.dedup();
        for form in forms {
            self.needles.push((what.to_owned(), form));
        }
    }

    /// A JWT whole and its signature alone (header and claims are not secret by themselves).
    fn add_jwt(&mut self, what: &str, jwt: &str) {
        self.add(what, jwt);
        let signature = jwt.rsplit('.').next().expect("segments");
        self.add(&format!("{what} (signature)"), signature);
    }

    /// A client secret, and the Basic authorization credentials that carry it.
    fn add_client_secret(&mut self, what: &str, client_id: &str, secret: &str) {
        self.add(what, secret);
        let header = basic(client_id, secret);
        let credentials = header.trim_start_matches("Basic ");
        self.add(&format!("{what} (Basic credentials)"), credentials);
    }

    /// A session cookie value, and the number tower-sessions' `Id` prints with `Debug`.
    fn add_session_id(&mut self, value: &str) {
        self.add("session cookie", value);
        if let Ok(bytes) = URL_SAFE_NO_PAD.decode(value)
            && let Ok(bytes) = <[u8; 16]>::try_from(bytes.as_slice())
        {
            let n = i128::from_le_bytes(bytes);
            self.add("session id (Debug of Id)", &n.to_string());
        }
    }

    /// The lines (truncated) that carry a sensitive value, with what they carry.
    fn leaks(&self, lines: &[String]) -> Vec<String> {
        let mut found = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            for (what, needle) in &self.needles {
                if line.contains(needle.as_str()) {
                    let shown: String = line.chars().take(600).collect();
                    found.push(format!("line {i}: {what} in: {shown}"));
                }
            }
        }
        found
    }
}

/// A scratch directory with its own SQLite file, as in `cli.rs`, or with the test database
/// (a fresh PostgreSQL schema when `TEST_DATABASE_URL` is set) and a master key of its own.
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
    postgres: Option<(crate::helpers::FreshDb, String)>,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            postgres: None,
        }
    }

    /// On PostgreSQL when the suite runs there, else on its own SQLite file.
    pub(crate) async fn on_test_database() -> Self {
        let db = crate::helpers::fresh_db().await;
        let postgres = db.url.starts_with("postgres").then(|| {
            let key = tessera::crypto::master_key::Keyring::generate_encoded();
            (db, key)
        });
        Self {
            postgres,
            ..Self::new()
        }
    }

    fn db_file(&self) -> PathBuf {
        self.dir.path().join("t.db")
    }

    /// Where `migrate` keeps the master key: beside the database.
    fn key_file(&self) -> PathBuf {
        self.dir.path().join("master.key")
    }

    /// `tessera <args>` at trace level for every crate, with no inherited Tessera configuration.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = tessera(args);
        cmd.current_dir(self.dir.path())
            .env("RUST_LOG", "trace")
            .env(
                "TESSERA_DATABASE_URL",
                format!("sqlite://{}", self.db_file().display()),
            )
            .envs(CHEAP_ARGON2);
        if let Some((db, key)) = &self.postgres {
            cmd.env("TESSERA_DATABASE_URL", &db.url)
                .env("TESSERA_MASTER_KEY", key);
        }
        cmd
    }

    /// Runs a management command that must succeed; its log lines go to `log`.
    pub(crate) fn run(&self, args: &[&str], env: &[(&str, &str)], log: &mut Vec<String>) -> Output {
        let out = self
            .command(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run tessera");
        assert!(
            out.status.success(),
            "tessera {args:?}: status {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        log.extend(
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .map(str::to_owned),
        );
        out
    }

    /// `clients create … --json`: (client_id, client_secret).
    pub(crate) fn create_client(&self, args: &[&str], log: &mut Vec<String>) -> (String, String) {
        let mut all = vec!["clients", "create"];
        all.extend_from_slice(args);
        all.push("--json");
        let out = self.run(&all, &[], log);
        let created: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let field = |v: &Value| v.as_str().expect("string").to_owned();
        (
            field(&created["client"]["client_id"]),
            field(&created["client_secret"]),
        )
    }
}

/// The two registered clients.
struct Clients {
    svc: (String, String),
    web: (String, String),
}

/// A browser answer: status, Location and body; session cookies it set go to `secrets`.
struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

async fn page(req: reqwest::RequestBuilder, secrets: &mut Secrets) -> Page {
    let r = req.send().await.expect("request");
    for set in r.headers().get_all("set-cookie") {
        let set = set.to_str().expect("ascii cookie");
        let pair = set.split(';').next().unwrap_or_default();
        if let Some((SESSION_COOKIE, value)) = pair.split_once('=')
            && !value.is_empty()
        {
            secrets.add_session_id(value);
        }
    }
    Page {
        status: r.status().as_u16(),
        location: r
            .headers()
            .get("location")
            .map(|l| l.to_str().expect("ascii").to_owned()),
        body: r.text().await.expect("body"),
    }
}

/// A form POST to a protocol endpoint; (status, JSON body or Null).
async fn post(http: &reqwest::Client, url: String, auth: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let r = req.send().await.expect("POST");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn string(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
        .to_owned()
}

/// The server [`drive`] runs against, a plain HTTP client and the registered clients.
struct Run<'a> {
    base: &'a str,
    http: reqwest::Client,
    c: &'a Clients,
}

impl Run<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn web(&self) -> String {
        basic(&self.c.web.0, &self.c.web.1)
    }

    /// A form POST to `path` as the web client.
    async fn post_as_web(&self, path: &str, body: &str) -> (u16, Value) {
        post(&self.http, self.url(path), Some(&self.web()), body).await
    }
}

/// Drives the whole flow against `base`, adding every sensitive value met to `secrets`.
async fn drive(base: &str, c: &Clients, secrets: &mut Secrets) {
    let run = Run {
        base,
        http: no_redirects(),
        c,
    };
    client_credentials_and_wrong_secrets(&run, secrets).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    secrets.add("PKCE code_verifier", verifier.secret());
    let b = Browser::new();
    let back = log_in_with_a_wrong_then_the_right_password(&run, &b, &challenge, secrets).await;
    let back = consent_unless_given(&run, &b, back, secrets).await;
    let params: HashMap<String, String> = url::Url::parse(&back)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect();
    let code = params["code"].clone();
    secrets.add("authorization code", &code);
    let exchange = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
        enc(REDIRECT),
        verifier.secret()
    );
    let (refresh, id_token) = exchange_and_use_the_code(&run, &exchange, secrets).await;
    let (access2, refresh2) = refresh_then_revoke(&run, &refresh, secrets).await;
    refused_afterwards(&run, &access2, &[&refresh2, &refresh], &exchange).await;

    // RP-initiated logout with the ID token as hint.
    let logout = run.url(&format!(
        "/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
        enc(AFTER_LOGOUT)
    ));
    let r = page(b.http.get(&logout), secrets).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{AFTER_LOGOUT}?state=bye").as_str())
    );
}

/// Client credentials, then introspection of that token by its client; wrong client secrets,
/// in the header and in the body.
async fn client_credentials_and_wrong_secrets(run: &Run<'_>, secrets: &mut Secrets) {
    let (http, c) = (&run.http, run.c);
    let svc = basic(&c.svc.0, &c.svc.1);
    let cc = "grant_type=client_credentials";
    let (status, body) = post(http, run.url("/token"), Some(&svc), cc).await;
    assert_eq!(status, 200, "{body}");
    let cc_token = string(&body, "access_token");
    secrets.add_jwt("client-credentials access token", &cc_token);
    let introspect = format!("token={cc_token}");
    let (status, body) = post(http, run.url("/introspect"), Some(&svc), &introspect).await;
    assert_eq!(
        (status, &body["active"]),
        (200, &Value::Bool(true)),
        "{body}"
    );

    let wrong = basic(&c.svc.0, WRONG_SECRET);
    let (status, _) = post(http, run.url("/token"), Some(&wrong), cc).await;
    assert_eq!(status, 401);
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={WRONG_SECRET}",
        c.svc.0
    );
    let (status, _) = post(http, run.url("/token"), None, &form).await;
    assert_eq!(status, 401);
}

/// The browser: authorize with PKCE, a wrong password, the right one. Where it is sent next.
async fn log_in_with_a_wrong_then_the_right_password(
    run: &Run<'_>,
    b: &Browser,
    challenge: &PkceCodeChallenge,
    secrets: &mut Secrets,
) -> String {
    let authorize = run.url(&format!(
        "/authorize?client_id={}&redirect_uri={}&response_type=code&scope={}&state=st-4711\
         &nonce=nonce-0815&code_challenge={}&code_challenge_method=S256",
        run.c.web.0,
        enc(REDIRECT),
        enc("openid profile email read"),
        challenge.as_str()
    ));
    let r = page(b.http.get(&authorize), secrets).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let login = r.location.expect("to the login page");
    assert!(login.starts_with("/login?request="), "{login}");
    let r = page(b.http.get(run.url(&login)), secrets).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let csrf = hidden(&r.body, "csrf");
    secrets.add("login CSRF token", &csrf);
    let request = hidden(&r.body, "request");
    let form = |csrf: &str, password: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("request", request.clone()),
            ("username", "alice".to_owned()),
            ("password", password.to_owned()),
        ]
    };
    let wrong = b
        .http
        .post(run.url("/login"))
        .form(&form(&csrf, WRONG_PASSWORD));
    let r = page(wrong, secrets).await;
    assert_eq!(r.status, 401, "a wrong password: {}", r.body);
    let csrf = hidden(&r.body, "csrf");
    secrets.add("login CSRF token", &csrf);
    let right = b.http.post(run.url("/login")).form(&form(&csrf, PASSWORD));
    let r = page(right, secrets).await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location.expect("to the consent page or back")
}

/// The consent page, unless this user consented in an earlier run: the way back to the client.
async fn consent_unless_given(
    run: &Run<'_>,
    b: &Browser,
    mut back: String,
    secrets: &mut Secrets,
) -> String {
    if !back.starts_with(REDIRECT) {
        assert!(back.starts_with("/consent"), "{back}");
        let r = page(b.http.get(run.url(&back)), secrets).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let csrf = hidden(&r.body, "csrf");
        secrets.add("consent CSRF token", &csrf);
        let decision = [
            ("csrf", csrf),
            ("request", hidden(&r.body, "request")),
            ("decision", "allow".to_owned()),
        ];
        let r = page(b.http.post(run.url("/consent")).form(&decision), secrets).await;
        assert_eq!(r.status, 303, "{}", r.body);
        back = r.location.expect("back to the client");
    }
    assert!(back.starts_with(REDIRECT), "{back}");
    back
}

/// The code exchange, introspection and userinfo: the refresh and ID tokens.
async fn exchange_and_use_the_code(
    run: &Run<'_>,
    exchange: &str,
    secrets: &mut Secrets,
) -> (String, String) {
    let (status, body) = run.post_as_web("/token", exchange).await;
    assert_eq!(status, 200, "{body}");
    let access = string(&body, "access_token");
    let refresh = string(&body, "refresh_token");
    let id_token = string(&body, "id_token");
    secrets.add_jwt("access token", &access);
    secrets.add("refresh token", &refresh);
    secrets.add_jwt("ID token", &id_token);
    let (status, body) = run
        .post_as_web("/introspect", &format!("token={access}"))
        .await;
    assert_eq!(
        (status, &body["active"]),
        (200, &Value::Bool(true)),
        "{body}"
    );
    let r = run
        .http
        .get(run.url("/userinfo"))
        .bearer_auth(&access)
        .header("x-request-id", "userinfo-ok")
        .send()
        .await
        .expect("userinfo");
    assert_eq!(r.status(), 200);
    (refresh, id_token)
}

/// Refresh (rotating), then revocation of the new access and refresh tokens: both.
async fn refresh_then_revoke(
    run: &Run<'_>,
    refresh: &str,
    secrets: &mut Secrets,
) -> (String, String) {
    let (status, body) = run
        .post_as_web(
            "/token",
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let access2 = string(&body, "access_token");
    let refresh2 = string(&body, "refresh_token");
    secrets.add_jwt("refreshed access token", &access2);
    secrets.add("rotated refresh token", &refresh2);
    if let Some(id) = body["id_token"].as_str() {
        secrets.add_jwt("refreshed ID token", id);
    }
    let revoke = format!("token={access2}&token_type_hint=access_token");
    let (status, _) = run.post_as_web("/revoke", &revoke).await;
    assert_eq!(status, 200);
    let revoke = format!("token={refresh2}&token_type_hint=refresh_token");
    let (status, _) = run.post_as_web("/revoke", &revoke).await;
    assert_eq!(status, 200);
    (access2, refresh2)
}

/// What is refused afterwards: a revoked access token, revoked and replayed refresh tokens,
/// a replayed code.
async fn refused_afterwards(run: &Run<'_>, access: &str, refresh: &[&String], exchange: &str) {
    let r = run
        .http
        .get(run.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(r.status(), 401);
    let (status, body) = run
        .post_as_web("/introspect", &format!("token={access}"))
        .await;
    assert_eq!(
        (status, &body["active"]),
        (200, &Value::Bool(false)),
        "{body}"
    );
    for rt in refresh {
        let body = format!("grant_type=refresh_token&refresh_token={rt}");
        let (status, body) = run.post_as_web("/token", &body).await;
        assert_eq!(
            (status, &body["error"]),
            (400, &Value::from("invalid_grant"))
        );
    }
    let (status, body) = run.post_as_web("/token", exchange).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &Value::from("invalid_grant"))
    );
}

/// Asserts that the output of a run is real logging at trace level, with an access-log line.
fn assert_logged_at_trace(what: &str, lines: &[String]) {
    let all = lines.join("\n");
    assert!(
        lines.len() > 100,
        "{what}: only {} lines:\n{all}",
        lines.len()
    );
    assert!(
        all.contains("TRACE"),
        "{what}: no trace-level line, so RUST_LOG=trace did not apply"
    );
    let token_access_log = lines.iter().any(|l| {
        (l.contains("\"path\":\"/token\"") || l.contains("path=/token"))
            && (l.contains("\"status\":200") || l.contains("status=200"))
    });
    assert!(token_access_log, "{what}: no access-log line for /token");
}

fn assert_no_leaks(what: &str, secrets: &Secrets, lines: &[String]) {
    let leaks = secrets.leaks(lines);
    assert!(
        leaks.is_empty(),
        "{what}: {} log line(s) carry a secret:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

#[tokio::test]
async fn no_secret_token_code_or_password_reaches_the_logs_at_trace_level() {
    let s = Scratch::new();
    let mut cli_log = Vec::new();
    s.run(&["migrate"], &[], &mut cli_log);
    s.run(
        &[
            "resources",
            "create",
            API,
            "--scope",
            "read=Read the ledger",
        ],
        &[],
        &mut cli_log,
    );
    s.run(
        &[
            "users",
            "create",
            "--username",
            "alice",
            "--password-env",
            "PW",
        ],
        &[("PW", PASSWORD)],
        &mut cli_log,
    );
    let svc = s.create_client(&["--name", "svc", "--resource", API], &mut cli_log);
    let web = s.create_client(
        &[
            "--name",
            "web",
            "--resource",
            API,
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--redirect-uri",
            REDIRECT,
            "--post-logout-redirect-uri",
            AFTER_LOGOUT,
        ],
        &mut cli_log,
    );
    let master_key = std::fs::read_to_string(s.key_file()).expect("master.key beside the database");

    let mut secrets = Secrets::default();
    secrets.add("master key", master_key.trim());
    secrets.add("password", PASSWORD);
    secrets.add("wrong password", WRONG_PASSWORD);
    secrets.add_client_secret("service client secret", &svc.0, &svc.1);
    secrets.add_client_secret("web client secret", &web.0, &web.1);
    secrets.add_client_secret("wrong client secret", &svc.0, WRONG_SECRET);
    assert!(
        cli_log.iter().any(|l| l.contains("DEBUG")) && cli_log.len() > 20,
        "the management commands log below their default warn level:\n{}",
        cli_log.join("\n")
    );
    assert_no_leaks("management commands", &secrets, &cli_log);
    let clients = Clients { svc, web };

    for format in ["json", "text"] {
        let mut cmd = s.command(&["serve"]);
        cmd.env("TESSERA_BIND", "127.0.0.1:0")
            .env("TESSERA_LOG__FORMAT", format);
        let mut server = Server::start_all_output(cmd);
        let addr = server.wait_for_address();
        drive(&format!("http://{addr}"), &clients, &mut secrets).await;
        let lines = server.stop();
        let what = format!("serve with {format} logs");
        // The first start created the admin with a generated password: its file is named in
        // the log, the password never.
        let bootstrap = s.dir.path().join("bootstrap-admin-password");
        let generated = std::fs::read_to_string(&bootstrap).expect("the bootstrap password file");
        secrets.add("bootstrap admin password", generated.trim());
        if format == "json" {
            assert!(
                lines.iter().any(|l| l.contains("bootstrap-admin-password")),
                "{what}: the file is named in the log"
            );
            let userinfo = access_line(&lines, "userinfo-ok");
            assert_eq!(
                userinfo["fields"]["client_id"], clients.web.0,
                "{what}: /userinfo names the token's client: {userinfo}"
            );
        }
        assert_logged_at_trace(&what, &lines);
        assert_no_leaks(&what, &secrets, &lines);
        assert_audited(&what, &lines, &clients);
    }
}

/// One `tessera::audit` line's fields, from either log format.
fn audit_fields(line: &str) -> Option<HashMap<String, String>> {
    if let Ok(event) = serde_json::from_str::<Value>(line) {
        if event["target"] != "tessera::audit" {
            return None;
        }
        let fields = event["fields"].as_object()?;
        return Some(
            fields
                .iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.clone(), v)
                })
                .collect(),
        );
    }
    // Text: `… INFO tessera::audit: audit event kind="login.failed" actor="alice" …`; string
    // values are quoted (and escaped), numbers and JSON detail are not.
    let rest = line.split(" tessera::audit: audit event ").nth(1)?;
    let mut fields = HashMap::new();
    for pair in rest.split(' ') {
        if let Some((k, v)) = pair.split_once('=') {
            fields.insert(k.to_owned(), v.trim_matches('"').to_owned());
        }
    }
    Some(fields)
}

/// The security events of the flow, each once in the log stream with who, where and how.
fn assert_audited(what: &str, lines: &[String], c: &Clients) {
    let events: Vec<HashMap<String, String>> =
        lines.iter().filter_map(|l| audit_fields(l)).collect();
    let find = |kind: &str| -> Vec<&HashMap<String, String>> {
        events
            .iter()
            .filter(|e| e.get("kind").map(String::as_str) == Some(kind))
            .collect()
    };
    let field = |e: &HashMap<String, String>, name: &str| e.get(name).cloned().unwrap_or_default();
    let all = || lines.join("\n");
    let failed = find("login.failed");
    assert_eq!(failed.len(), 1, "{what}: one wrong password:\n{}", all());
    for (name, value) in [
        ("actor", "alice"),
        ("client_id", c.web.0.as_str()),
        ("ip", "127.0.0.1"),
        ("outcome", "failure"),
    ] {
        assert_eq!(field(failed[0], name), value, "{what}: login.failed {name}");
    }
    let ok = find("login.succeeded");
    assert_eq!(ok.len(), 1, "{what}");
    assert_eq!(field(ok[0], "outcome"), "success");
    let bad_client = find("client_auth.failed");
    assert_eq!(bad_client.len(), 2, "{what}: two wrong client secrets");
    assert!(bad_client.iter().all(|e| field(e, "client_id") == c.svc.0));
    assert_eq!(
        find("token.revoked").len(),
        2,
        "{what}: an access and a refresh token"
    );
    assert_eq!(
        find("refresh.replay_detected").len(),
        1,
        "{what}: the rotated-out refresh token"
    );
    assert_eq!(
        find("refresh.revoked_token_used").len(),
        1,
        "{what}: the refresh token revoked at /revoke"
    );
    assert_eq!(find("code.replay_detected").len(), 1, "{what}");
    // Token issuance: counted, and logged per client and grant when written (at shutdown).
    let issued: Vec<(String, String, String)> = find("token.issued")
        .into_iter()
        .map(|e| (field(e, "client_id"), field(e, "target"), field(e, "count")))
        .collect();
    for (client, grant) in [
        (&c.svc.0, "client_credentials"),
        (&c.web.0, "authorization_code"),
        (&c.web.0, "refresh_token"),
    ] {
        assert!(
            issued
                .iter()
                .any(|(id, g, n)| id == client && g == grant && n == "1"),
            "{what}: {grant} for {client} in {issued:?}"
        );
    }
}

/// Types that hold secrets print without them, should one ever reach a `?field` in a log line.
#[tokio::test]
async fn secret_bearing_types_redact_their_debug_output() {
    use tessera::oauth::client_auth::presented;
    use tessera::oauth::params::Params;
    use tessera::oauth::tokens::TokenResponse;

    let secret = "s3cr3t-value-that-must-not-print";
    let body = format!("grant_type=authorization_code&code={secret}&client_secret={secret}");
    let params = Params::parse(body.as_bytes()).expect("params");
    let printed = format!("{params:?}");
    assert!(!printed.contains(secret), "{printed}");
    assert!(
        printed.contains("client_secret"),
        "names are kept: {printed}"
    );
    let header = basic("c_1", secret);
    let who = presented(Some(&header), &Params::default()).expect("basic");
    let printed = format!("{who:?}");
    assert!(!printed.contains(secret), "{printed}");

    let response = TokenResponse {
        access_token: secret.into(),
        token_type: "Bearer",
        expires_in: 300,
        scope: Some("read".into()),
        refresh_token: Some(secret.into()),
        id_token: Some(secret.into()),
        sign_in: None,
    };
    let printed = format!("{response:?}");
    assert!(!printed.contains(secret), "{printed}");
    assert!(printed.contains("read"), "{printed}");

    let app = crate::helpers::spawn_app().await;
    app.resource(API, tessera::model::SigningAlg::ES256).await;
    let mut spec = tessera::service::clients::ClientSpec::new("svc");
    spec.resources = vec![API.into()];
    let registered = app
        .core
        .create_client(spec, &tessera::model::Actor::cli())
        .await
        .expect("client");
    let issued = registered.secret.clone().expect("a confidential client");
    let printed = format!("{registered:?}");
    assert!(!printed.contains(&issued), "{printed}");
    assert!(
        printed.contains(&registered.client.client_id.0),
        "{printed}"
    );
}

/// The access-log line (JSON format) of the request that carried `x-request-id: id`.
fn access_line(lines: &[String], id: &str) -> Value {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "request" && v["fields"]["request_id"] == id)
        .unwrap_or_else(|| panic!("no access-log line for {id}:\n{}", lines.join("\n")))
}

/// A form POST carrying our request id; the status.
async fn post_tagged(
    http: &reqwest::Client,
    url: String,
    auth: Option<&str>,
    body: &str,
    id: &str,
) -> u16 {
    let mut req = http
        .post(url)
        .header("x-request-id", id)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    req.send().await.expect("POST").status().as_u16()
}

/// A tagged request: its request id, the status it got, the client its access-log line must
/// name (None: none) and the outcome it must record.
type Tagged<'a> = (&'a str, u16, Option<&'a str>, &'a str);

/// A migrated database with the resource, a client_credentials client `svc` and a code-flow
/// client `web`, and a server logging JSON at info that blocks a client and IP after one
/// authentication failure a minute. The server, its base URL, svc and web.
fn start_json_logging_server(s: &Scratch) -> (Server, String, (String, String), (String, String)) {
    let mut cli_log = Vec::new();
    s.run(&["migrate"], &[], &mut cli_log);
    s.run(
        &["resources", "create", API, "--scope", "read=Read"],
        &[],
        &mut cli_log,
    );
    let svc = s.create_client(&["--name", "svc", "--resource", API], &mut cli_log);
    let web = s.create_client(
        &[
            "--name",
            "web",
            "--resource",
            API,
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            REDIRECT,
        ],
        &mut cli_log,
    );
    let mut cmd = s.command(&["serve"]);
    cmd.env("RUST_LOG", "info")
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_LOG__FORMAT", "json")
        // A second failure within the minute blocks that client and IP: then 429.
        .env("TESSERA_LIMITS__CLIENT_AUTH_FAILURES_PER_MINUTE", "1");
    let mut server = Server::start_all_output(cmd);
    let base = format!("http://{}", server.wait_for_address());
    (server, base, svc, web)
}

/// /token, /introspect and /revoke: successes, an unknown code, an unknown client, wrong
/// secrets until the client is rate-limited.
async fn tagged_protocol_calls<'a>(
    http: &reqwest::Client,
    base: &str,
    svc: &'a (String, String),
    web: &'a (String, String),
    expected: &mut Vec<Tagged<'a>>,
) {
    let url = |path: &str| format!("{base}{path}");
    let cc = "grant_type=client_credentials";
    let svc_auth = basic(&svc.0, &svc.1);
    let web_auth = basic(&web.0, &web.1);
    let wrong = basic(&svc.0, WRONG_SECRET);
    let stranger = basic("c_nobody-registered-this-id", WRONG_SECRET);
    let status = post_tagged(http, url("/token"), Some(&svc_auth), cc, "t-ok").await;
    expected.push(("t-ok", status, Some(&svc.0), "ok"));
    let status = post_tagged(http, url("/introspect"), Some(&svc_auth), "token=x", "i-ok").await;
    expected.push(("i-ok", status, Some(&svc.0), "ok"));
    let status = post_tagged(http, url("/revoke"), Some(&svc_auth), "token=x", "r-ok").await;
    expected.push(("r-ok", status, Some(&svc.0), "ok"));
    let redeem = format!(
        "grant_type=authorization_code&code=no-such-code-4711&redirect_uri={}",
        enc(REDIRECT)
    );
    let status = post_tagged(http, url("/token"), Some(&web_auth), &redeem, "t-grant").await;
    expected.push(("t-grant", status, Some(&web.0), "invalid_grant"));
    let status = post_tagged(http, url("/token"), Some(&stranger), cc, "t-stranger").await;
    expected.push(("t-stranger", status, None, "invalid_client"));
    for id in ["t-wrong-1", "t-wrong-2"] {
        let status = post_tagged(http, url("/token"), Some(&wrong), cc, id).await;
        expected.push((id, status, Some(&svc.0), "invalid_client"));
    }
    let status = post_tagged(http, url("/token"), Some(&svc_auth), cc, "t-limited").await;
    expected.push(("t-limited", status, Some(&svc.0), "rate_limited"));
}

/// /authorize: a good request and one with an unknown scope, both sent back to the client.
async fn tagged_authorize_calls<'a>(
    http: &reqwest::Client,
    base: &str,
    web: &'a (String, String),
    expected: &mut Vec<Tagged<'a>>,
) {
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    for (scope, id, outcome) in [
        ("openid read", "a-ok", "ok"),
        ("read no-such-scope", "a-scope", "invalid_scope"),
    ] {
        let r = http
            .get(format!(
                "{base}/authorize?client_id={}&redirect_uri={}&response_type=code&scope={}\
                 &state=s&code_challenge={}&code_challenge_method=S256",
                web.0,
                enc(REDIRECT),
                enc(scope),
                challenge.as_str()
            ))
            .header("x-request-id", id)
            .send()
            .await
            .expect("authorize");
        expected.push((id, r.status().as_u16(), Some(&web.0), outcome));
    }
}

#[tokio::test]
async fn access_log_lines_carry_the_client_and_the_outcome() {
    let s = Scratch::on_test_database().await;
    let (server, base, svc, web) = start_json_logging_server(&s);
    let http = no_redirects();
    let mut expected = Vec::new();
    tagged_protocol_calls(&http, &base, &svc, &web, &mut expected).await;
    tagged_authorize_calls(&http, &base, &web, &mut expected).await;

    let lines = server.stop();
    let statuses: Vec<(&str, u16)> = expected.iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(
        statuses,
        [
            ("t-ok", 200),
            ("i-ok", 200),
            ("r-ok", 200),
            ("t-grant", 400),
            ("t-stranger", 401),
            ("t-wrong-1", 401),
            ("t-wrong-2", 401),
            ("t-limited", 429),
            ("a-ok", 303),
            ("a-scope", 303),
        ]
    );
    for (id, status, client_id, outcome) in expected {
        let line = access_line(&lines, id);
        let fields = &line["fields"];
        assert_eq!(fields["status"], status, "{id}: {line}");
        assert_eq!(fields["outcome"], outcome, "{id}: {line}");
        match client_id {
            Some(client_id) => assert_eq!(fields["client_id"], client_id, "{id}: {line}"),
            None => assert!(fields.get("client_id").is_none(), "{id}: {line}"),
        }
    }
}
