//! The `tessera` binary as an operator runs it: a child process in its own directory with its own
//! SQLite file, configured only through the environment (never the test's TESSERA_* variables).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::helpers::basic;
use crate::helpers::process::{Server, listen_port, tessera};

const API: &str = "https://api.example.com";

/// A scratch directory with a SQLite database in a subfolder that does not exist yet.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn db_file(&self) -> PathBuf {
        self.path().join("var").join("tessera.db")
    }

    fn key_file(&self) -> PathBuf {
        self.path().join("var").join("master.key")
    }

    /// `tessera <args>` in the scratch directory, with no inherited Tessera configuration.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = tessera(args);
        cmd.current_dir(self.path()).env(
            "TESSERA_DATABASE_URL",
            format!("sqlite://{}", self.db_file().display()),
        );
        cmd
    }

    /// `tessera serve` started by `sh` after `setup` (a umask, a ulimit), as [`Self::command`].
    fn serve_after(&self, setup: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{setup} && exec \"$0\" serve"))
            .arg(env!("CARGO_BIN_EXE_tessera"))
            .current_dir(self.path());
        for (name, value) in self.command(&[]).get_envs() {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
        cmd
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        cmd.output().expect("run tessera")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    /// Runs a command that must succeed and returns its stdout as JSON.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert!(out.status.success(), "tessera {args:?}: {}", describe(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("tessera {args:?} printed no JSON ({e}): {}", describe(&out))
        })
    }

    /// `migrate` (creating the master key file), then a resource and a client for [`API`];
    /// returns (client_id, client_secret).
    fn with_client(&self) -> (String, String) {
        let out = self.run(&["migrate"]);
        assert!(out.status.success(), "{}", describe(&out));
        self.json(&[
            "resources",
            "create",
            API,
            "--scope",
            "read=Read data",
            "--alg",
            "EdDSA",
        ]);
        let created = self.json(&["clients", "create", "--name", "svc", "--resource", API]);
        (
            created["client"]["client_id"]
                .as_str()
                .expect("client_id")
                .to_owned(),
            created["client_secret"]
                .as_str()
                .expect("client_secret")
                .to_owned(),
        )
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    )
}

/// Asserts a failed run whose stderr contains `needle`.
fn assert_fails_mentioning(out: &Output, needle: &str) {
    assert!(!out.status.success(), "should fail: {}", describe(out));
    assert!(
        stderr(out).contains(needle),
        "stderr should mention {needle:?}: {}",
        describe(out)
    );
}

#[tokio::test]
async fn migrate_creates_the_database_and_a_private_master_key() {
    let s = Scratch::new();
    assert!(!s.db_file().exists());
    let out = s.run(&["migrate"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(s.db_file().is_file(), "database file created");
    let key = s.key_file();
    assert!(key.is_file(), "master.key created beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "master.key mode is {mode:o}");
    }
    let contents = std::fs::read_to_string(&key).expect("read key");
    let decoded = URL_SAFE_NO_PAD
        .decode(contents.trim())
        .expect("base64url key");
    assert_eq!(decoded.len(), 32, "a 256-bit key");

    // Running it again keeps the key and the keys made under it.
    let keys_before = s.json(&["keys", "list"]);
    let out = s.run(&["migrate", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(printed["migrated"], true);
    assert_eq!(std::fs::read_to_string(&key).expect("read key"), contents);
    assert_eq!(s.json(&["keys", "list"]), keys_before);
}

#[tokio::test]
async fn migrate_with_no_configuration_uses_a_data_folder() {
    let s = Scratch::new();
    let mut cmd = s.command(&["migrate"]);
    cmd.env_remove("TESSERA_DATABASE_URL");
    let out = cmd.output().expect("run tessera");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(s.path().join("data").join("tessera.db").is_file());
    assert!(s.path().join("data").join("master.key").is_file());
}

#[tokio::test]
async fn management_commands_never_create_a_master_key() {
    let s = Scratch::new();
    let out = s.run(&["clients", "list"]);
    assert_fails_mentioning(&out, "no database at");
    assert!(!s.key_file().exists(), "no master.key may be created");
    // A database without its key file: still no key is made.
    let out = s.run(&["migrate"]);
    assert!(out.status.success(), "{}", describe(&out));
    std::fs::remove_file(s.key_file()).expect("remove key");
    let out = s.run(&["clients", "list"]);
    assert_fails_mentioning(&out, "TESSERA_MASTER_KEY");
    assert!(!s.key_file().exists(), "no master.key may be created");
    std::fs::remove_file(s.db_file()).expect("remove database");

    // Once migrate made the key, the same command works.
    assert!(s.run(&["migrate"]).status.success());
    assert_eq!(s.json(&["clients", "list"]), serde_json::json!([]));

    // A lost key file is never silently replaced, not even by migrate.
    std::fs::remove_file(s.key_file()).expect("remove key");
    for args in [&["clients", "list"][..], &["migrate"][..]] {
        let out = s.run(args);
        assert_fails_mentioning(&out, "master key");
        assert!(!s.key_file().exists(), "{args:?} recreated master.key");
    }
}

#[tokio::test]
async fn resources_clients_and_keys_are_managed_from_the_command_line() {
    let s = Scratch::new();
    assert!(s.run(&["migrate"]).status.success());
    let resource = s.json(&[
        "resources",
        "create",
        API,
        "--scope",
        "read=Read data",
        "--alg",
        "EdDSA",
    ]);
    assert_eq!(resource["identifier"], API);
    assert_eq!(resource["signing_alg"], "EdDSA");
    assert_eq!(
        resource["scopes"],
        serde_json::json!([{"name": "read", "description": "Read data"}])
    );

    let created = s.json(&["clients", "create", "--name", "svc", "--resource", API]);
    let id = created["client"]["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let secret = created["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_owned();
    assert_eq!(secret.len(), 43, "256 bits in base64url: {secret}");
    assert!(URL_SAFE_NO_PAD.decode(&secret).is_ok(), "{secret}");
    assert_eq!(created["client"]["name"], "svc");
    assert_eq!(created["client"]["grants"][0]["resource"], API);
    assert_eq!(created["client"]["disabled"], false);

    let list = s.run(&["clients", "list", "--json"]);
    assert!(list.status.success(), "{}", describe(&list));
    let list_text = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(!list_text.contains(&secret), "list leaks the secret");
    let listed: Value = serde_json::from_str(&list_text).expect("JSON");
    assert_eq!(listed.as_array().expect("array").len(), 1);
    assert_eq!(listed[0]["client_id"], id.as_str());

    let show = s.run(&["clients", "show", &id, "--json"]);
    assert!(show.status.success(), "{}", describe(&show));
    let show_text = String::from_utf8_lossy(&show.stdout).into_owned();
    assert!(!show_text.contains(&secret), "show leaks the secret");
    let shown: Value = serde_json::from_str(&show_text).expect("JSON");
    assert_eq!(shown["client_id"], id.as_str());
    assert!(shown.get("client_secret").is_none() && shown.get("secret_hash").is_none());
    // Human output does not print it either.
    let human = s.run(&["clients", "show", &id]);
    assert!(human.status.success());
    assert!(!String::from_utf8_lossy(&human.stdout).contains(&secret));

    let keys = s.json(&["keys", "list"]);
    let keys = keys.as_array().expect("array");
    assert_eq!(keys.len(), 6, "{keys:?}");
    for alg in ["RS256", "ES256", "EdDSA"] {
        for state in ["active", "next"] {
            assert_eq!(
                keys.iter()
                    .filter(|k| k["alg"] == alg && k["state"] == state)
                    .count(),
                1,
                "{alg} {state}"
            );
        }
    }

    let rotated = s.json(&["clients", "rotate-secret", &id]);
    let new_secret = rotated["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_owned();
    assert_eq!(rotated["client_id"], id.as_str());
    assert_eq!(new_secret.len(), 43);
    assert_ne!(new_secret, secret);
    let show = s.run(&["clients", "show", &id, "--json"]);
    assert!(!String::from_utf8_lossy(&show.stdout).contains(&new_secret));

    let updated = s.json(&["clients", "update", &id, "--disable"]);
    assert_eq!(updated["disabled"], true);
    assert_eq!(updated["name"], "svc", "flags not given keep their values");
    assert_eq!(s.json(&["clients", "show", &id])["disabled"], true);
    let enabled = s.json(&["clients", "update", &id, "--enable"]);
    assert_eq!(enabled["disabled"], false);

    let out = s.run(&["clients", "delete", &id]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = s.run(&["clients", "show", &id]);
    assert_fails_mentioning(&out, "not found");
    assert_eq!(s.json(&["clients", "list"]), serde_json::json!([]));
}

#[tokio::test]
async fn bad_arguments_are_refused_with_a_message() {
    let s = Scratch::new();
    assert!(s.run(&["migrate"]).status.success());

    let out = s.run(&["resources", "create", "not-a-uri"]);
    assert_fails_mentioning(&out, "identifier");
    let out = s.run(&["resources", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let identifiers: Vec<&Value> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|r| &r["identifier"])
        .collect();
    assert_eq!(
        identifiers,
        vec!["http://127.0.0.1:8080/admin/api"],
        "nothing was created besides the built-in admin API"
    );

    assert!(s.run(&["resources", "create", API]).status.success());
    let out = s.run(&["clients", "create", "--resource", API]);
    assert_fails_mentioning(&out, "--name");

    let out = s.run(&[
        "resources",
        "create",
        "https://api.example.com/b",
        "--alg",
        "HS256",
    ]);
    assert_fails_mentioning(&out, "HS256");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a usage error: {}",
        describe(&out)
    );

    let out = s.run(&["frobnicate"]);
    assert_fails_mentioning(&out, "frobnicate");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a usage error: {}",
        describe(&out)
    );
}

#[tokio::test]
async fn a_config_file_with_an_unknown_key_is_refused() {
    let s = Scratch::new();
    let file = s.path().join("tessera.toml");
    std::fs::write(&file, "isuer = \"https://id.example.com\"\n").expect("write config");
    let file = file.display().to_string();
    let out = s.run_with(&["migrate"], &[("TESSERA_CONFIG", &file)]);
    assert_fails_mentioning(&out, "isuer");
    assert!(
        !s.db_file().exists(),
        "refused before touching the database"
    );

    // The same file with a known key is accepted.
    std::fs::write(&file, "issuer = \"https://id.example.com\"\n").expect("write config");
    let out = s.run_with(&["migrate"], &[("TESSERA_CONFIG", &file)]);
    assert!(out.status.success(), "{}", describe(&out));
}

#[tokio::test]
async fn plain_http_on_a_public_address_needs_an_explicit_opt_in() {
    let s = Scratch::new();
    let public_http = [
        ("TESSERA_BIND", "0.0.0.0:8080"),
        ("TESSERA_ISSUER", "http://localhost:8080"),
    ];
    let out = s.run_with(&["migrate"], &public_http);
    assert_fails_mentioning(&out, "TESSERA_ALLOW_INSECURE_HTTP");
    let out = s.run_with(
        &["migrate"],
        &[
            public_http[0],
            public_http[1],
            ("TESSERA_ALLOW_INSECURE_HTTP", "true"),
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));

    // The default issuer is derived from the bind address: plain http again.
    let out = s.run_with(&["migrate"], &[("TESSERA_BIND", "0.0.0.0:8080")]);
    assert_fails_mentioning(&out, "TESSERA_ALLOW_INSECURE_HTTP");
}

#[tokio::test]
async fn serve_answers_and_stops_gracefully_on_sigterm() {
    let s = Scratch::new();
    let mut cmd = s.command(&["serve"]);
    cmd.env("TESSERA_BIND", "127.0.0.1:0");
    let mut server = Server::start(cmd);
    let port = server.wait_for("listen hint", listen_port);
    assert_ne!(port, 0);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    assert_eq!(r.status(), 200);
    assert!(s.key_file().is_file(), "serve created the master key");

    let status = server.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let log = server.rest_of_output().join("\n");
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        http.get(format!("{base}/healthz")).send().await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test]
async fn a_client_created_with_the_cli_gets_tokens_from_the_served_binary() {
    let s = Scratch::new();
    let (id, secret) = s.with_client();
    let mut cmd = s.command(&["serve"]);
    cmd.env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_LOG__FORMAT", "json");
    let mut server = Server::start(cmd);
    // With a client registered there is no hint: the structured "listening" event has the address.
    let addr = server.wait_for_address();
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/token"))
        .header("authorization", basic(&id, &secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("POST /token");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    let token = body["access_token"].as_str().expect("access_token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("JSON");
    assert_eq!(header["alg"], "EdDSA", "the resource's algorithm");
    assert_eq!(header["typ"], "at+jwt");
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("JSON");
    assert_eq!(payload["aud"], API);
    assert_eq!(payload["client_id"], id.as_str());
    // Bound to port 0, the server still names its real address as issuer (RFC 8414 §3.3).
    let metadata: Value = http
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("GET metadata")
        .json()
        .await
        .expect("JSON");
    assert_eq!(metadata["issuer"], base.as_str());
    assert_eq!(payload["iss"], base.as_str());

    // A wrong secret is refused by the same server.
    let r = http
        .post(format!("{base}/token"))
        .header("authorization", basic(&id, "wrong"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("POST /token");
    assert_eq!(r.status(), 401);

    let status = server.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

/// Cheap argon2 for the child processes: the production parameters are covered in `users`.
const CHEAP_ARGON2: [(&str, &str); 2] = [
    ("TESSERA_PASSWORDS__MEMORY_KIB", "256"),
    ("TESSERA_PASSWORDS__ITERATIONS", "1"),
];

/// `tessera <args>` with cheap argon2, `env` added and `input` written to standard input.
fn run_users(s: &Scratch, args: &[&str], env: &[(&str, &str)], input: Option<&str>) -> Output {
    use std::io::Write;
    let mut cmd = s.command(args);
    cmd.envs(CHEAP_ARGON2).envs(env.iter().copied());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn tessera");
    let mut stdin = child.stdin.take().expect("piped stdin");
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    drop(stdin);
    child.wait_with_output().expect("wait for tessera")
}

/// Like `run_users`, for a command that must succeed with `--json`; returns its JSON.
fn users_json(s: &Scratch, args: &[&str], env: &[(&str, &str)], input: Option<&str>) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = run_users(s, &all, env, input);
    assert!(out.status.success(), "tessera {args:?}: {}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !text.contains("argon2") && !text.contains("password_hash"),
        "tessera {args:?} prints a password hash: {text}"
    );
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("tessera {args:?} printed no JSON ({e}): {}", describe(&out)))
}

/// Signs in through a Core opened on the scratch database, as the server would.
async fn signs_in(s: &Scratch, username: &str, password: &str) -> bool {
    let master_key = std::fs::read_to_string(s.key_file()).expect("master key file");
    let url = format!("sqlite://{}", s.db_file().display());
    let core = crate::helpers::open_core(&url, &master_key, tessera::app::Init::Forbidden)
        .await
        .expect("core opens");
    let user = core
        .authenticate_user(username, password)
        .await
        .expect("authenticate");
    core.db.close().await;
    user.is_some()
}

#[tokio::test]
async fn users_are_managed_from_the_command_line() {
    let s = Scratch::new();
    assert!(s.run(&["migrate"]).status.success());

    let alice_pw = "alice's long password";
    let alice = users_json(
        &s,
        &[
            "users",
            "create",
            "--username",
            "Alice",
            "--email",
            "alice@example.com",
            "--email-verified",
            "--name",
            "Alice Smith",
            "--password-env",
            "ALICE_PASSWORD",
        ],
        &[("ALICE_PASSWORD", alice_pw)],
        None,
    );
    assert_eq!(alice["username"], "Alice");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["email_verified"], true);
    assert_eq!(alice["name"], "Alice Smith");
    assert_eq!(alice["disabled"], false);
    let sub = alice["sub"].as_str().expect("sub");
    assert!(uuid::Uuid::parse_str(sub).is_ok(), "{sub}");

    // From standard input, with the newline (and a Windows carriage return) stripped.
    let bob = users_json(
        &s,
        &["users", "create", "--username", "bob"],
        &[],
        Some("bob's first password\r\n"),
    );
    assert_eq!(bob["username"], "bob");
    assert_eq!(bob["email"], Value::Null);
    assert_eq!(bob["admin"], false);
    assert_eq!(alice["admin"], false);
    // The scripted route to a console admin.
    let root = users_json(
        &s,
        &["users", "create", "--username", "root", "--admin"],
        &[],
        Some("root's first password\n"),
    );
    assert_eq!(root["admin"], true);
    assert_eq!(root["must_change_password"], false);

    let listed = users_json(&s, &["users", "list"], &[], None);
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["sub"], sub);
    for u in listed {
        let keys: Vec<&String> = u.as_object().expect("object").keys().collect();
        // The flag that a password must be changed is fine; the password or its hash is not.
        assert!(
            !keys
                .iter()
                .any(|k| k.contains("password") && *k != "must_change_password"),
            "{keys:?}"
        );
    }
    let shown = users_json(&s, &["users", "show", "ALICE"], &[], None);
    assert_eq!(shown["sub"], sub);
    let human = run_users(&s, &["users", "list"], &[], None);
    assert!(human.status.success(), "{}", describe(&human));
    let human = String::from_utf8_lossy(&human.stdout).into_owned();
    assert!(human.contains("Alice") && human.contains(sub), "{human}");
    assert!(!human.contains("argon2"), "{human}");

    assert!(signs_in(&s, "alice", alice_pw).await);
    assert!(signs_in(&s, "bob", "bob's first password").await);

    let changed = users_json(
        &s,
        &["users", "set-password", "bob"],
        &[],
        Some("bob's second password\n"),
    );
    assert_eq!(changed["password_changed"], true);
    assert!(!signs_in(&s, "bob", "bob's first password").await);
    assert!(signs_in(&s, "bob", "bob's second password").await);

    let disabled = users_json(&s, &["users", "disable", "alice"], &[], None);
    assert_eq!(disabled["disabled"], true);
    assert_eq!(disabled["sub"], sub);
    assert!(!signs_in(&s, "alice", alice_pw).await);
    let enabled = users_json(&s, &["users", "enable", "alice"], &[], None);
    assert_eq!(enabled["disabled"], false);
    assert!(signs_in(&s, "alice", alice_pw).await);
}

#[tokio::test]
async fn bad_user_input_is_refused_with_a_message() {
    let s = Scratch::new();
    assert!(s.run(&["migrate"]).status.success());
    let create = |username: &'static str| ["users", "create", "--username", username];

    let out = run_users(&s, &create("carol"), &[], Some("too short\n"));
    assert_fails_mentioning(&out, "at least 12 characters");
    let out = run_users(&s, &create("carol"), &[], Some(&"x".repeat(300)));
    assert_fails_mentioning(&out, "at most 256 bytes");
    let out = run_users(&s, &create("carol"), &[], None);
    assert_fails_mentioning(&out, "--password-env");
    let mut args = create("carol").to_vec();
    args.extend(["--password-env", "TESSERA_TEST_UNSET_PASSWORD"]);
    let out = run_users(&s, &args, &[], None);
    assert_fails_mentioning(&out, "TESSERA_TEST_UNSET_PASSWORD");
    let out = run_users(
        &s,
        &create("carol smith"),
        &[],
        Some("long enough password\n"),
    );
    assert_fails_mentioning(&out, "username");
    let mut args = create("carol").to_vec();
    args.extend(["--email", "not-an-email"]);
    let out = run_users(&s, &args, &[], Some("long enough password\n"));
    assert_fails_mentioning(&out, "email");

    // A password is never a command-line argument.
    let mut args = create("carol").to_vec();
    args.extend(["--password", "long enough password"]);
    let out = run_users(&s, &args, &[], None);
    assert_fails_mentioning(&out, "--password");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a usage error: {}",
        describe(&out)
    );

    users_json(&s, &create("carol"), &[], Some("long enough password\n"));
    let out = run_users(&s, &create("CAROL"), &[], Some("long enough password\n"));
    assert_fails_mentioning(&out, "already taken");

    let out = run_users(
        &s,
        &["users", "set-password", "nobody"],
        &[],
        Some("long enough password\n"),
    );
    assert_fails_mentioning(&out, "not found");
    let out = run_users(
        &s,
        &["users", "set-password", "carol"],
        &[],
        Some("short\n"),
    );
    assert_fails_mentioning(&out, "at least 12 characters");
    let out = run_users(&s, &["users", "disable", "nobody"], &[], None);
    assert_fails_mentioning(&out, "not found");

    let listed = users_json(&s, &["users", "list"], &[], None);
    assert_eq!(listed.as_array().expect("array").len(), 1, "{listed}");
}

#[test]
fn keys_rewrap_generate_adds_a_master_key_and_rewraps() {
    let s = Scratch::new();
    assert!(s.run(&["migrate"]).status.success());
    let key_file = s.key_file();
    let before = std::fs::read_to_string(&key_file).expect("key file");
    let out = s.json(&["keys", "rewrap", "--generate"]);
    assert_eq!(out["rewrapped"], 6);
    let after = std::fs::read_to_string(&key_file).expect("key file");
    let lines: Vec<&str> = after.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2, "new key first, old key kept");
    assert_eq!(lines[1], before.trim());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let listed = s.json(&["keys", "list"]);
    assert_eq!(
        listed.as_array().expect("keys").len(),
        6,
        "everything still opens"
    );
}

/// `users create --claim` and `users update --claim` set the standard claims (OIDC Core §5.1).
#[tokio::test]
async fn users_standard_claims_from_the_command_line() {
    let s = Scratch::new();
    assert!(s.run(&["migrate"]).status.success());
    let pw = [("PW", "ada's long password")];
    let ada = users_json(
        &s,
        &[
            "users",
            "create",
            "--username",
            "ada",
            "--password-env",
            "PW",
            "--claim",
            "given_name=Ada",
            "--claim",
            "address.country=UK",
        ],
        &pw,
        None,
    );
    assert_eq!(ada["claims"]["given_name"], "Ada");
    assert_eq!(ada["claims"]["address"]["country"], "UK");
    let ada = users_json(
        &s,
        &[
            "users",
            "update",
            "ada",
            "--claim",
            "locale=en-GB",
            "--claim",
            "given_name=",
        ],
        &[],
        None,
    );
    assert_eq!(
        ada["claims"],
        serde_json::json!({"locale": "en-GB", "address": {"country": "UK"}, "phone_number_verified": false})
    );
    let out = run_users(
        &s,
        &["users", "update", "ada", "--claim", "locale=not a tag"],
        &[],
        None,
    );
    assert!(!out.status.success());
    assert!(describe(&out).contains("locale"), "{}", describe(&out));
}

/// What a caller typed or an import stored reaches the operator's terminal escaped: no control
/// or text-direction character in any table the CLI prints.
#[tokio::test]
async fn tables_escape_control_and_direction_characters() {
    use tessera::service::lockouts::LoginGate;
    use tessera::service::users::UserSpec;

    let s = Scratch::new();
    assert!(s.run(&["migrate"]).status.success());
    let master_key = std::fs::read_to_string(s.key_file()).expect("master key file");
    let url = format!("sqlite://{}", s.db_file().display());
    let core = crate::helpers::open_core(&url, &master_key, tessera::app::Init::Forbidden)
        .await
        .expect("core opens");
    let mut spec = UserSpec::new("mallory");
    spec.name = Some("Invoice \u{202e}fdp.exe".to_owned());
    core.create_user(
        spec,
        "mallory's long password",
        &tessera::model::Actor::cli(),
    )
    .await
    .expect("user");
    // As an older version or an import may have stored it.
    if let tessera::store::Db::Sqlite(pool) = &core.db {
        sqlx::query("UPDATE users SET email = 'x\u{1b}]0;owned\u{7}@example.com'")
            .execute(pool)
            .await
            .expect("update");
    }
    // Failed sign-ins under a name that is an escape sequence: a lockout row and its events.
    for _ in 0..5 {
        if let LoginGate::Open(attempt) = core
            .begin_login("\u{1b}[2J\u{9b}31m", "192.0.2.1")
            .await
            .expect("attempt")
        {
            core.login_failed(attempt);
        }
    }
    core.audit.flush().await.expect("flush");
    core.db.close().await;

    for args in [
        &["users", "list"][..],
        &["lockouts", "list"][..],
        &["audit", "list"][..],
    ] {
        let out = s.run(args);
        assert!(out.status.success(), "{args:?}: {}", describe(&out));
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        let raw: Vec<char> = text
            .chars()
            .filter(|&c| {
                (c.is_control() && c != '\n')
                    || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            })
            .collect();
        assert!(raw.is_empty(), "{args:?} printed {raw:?}: {text}");
        assert!(text.contains("\\u{1b}"), "{args:?}: {text}");
    }
}

/// At TESSERA_SERVER__MAX_CONNECTIONS open connections, the server says so in its log and
/// accepts no more until one closes, so that a flood cannot use up its file descriptors.
#[tokio::test]
async fn the_connection_cap_holds_new_connections_and_says_so() {
    let s = Scratch::new();
    let mut cmd = s.command(&["serve"]);
    cmd.env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_SERVER__MAX_CONNECTIONS", "3")
        .env("TESSERA_SERVER__HEADER_READ_TIMEOUT_MS", "600000");
    let mut server = Server::start(cmd);
    let port = server.wait_for("listen hint", listen_port);
    let addr = format!("127.0.0.1:{port}");
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(
            tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect"),
        );
    }
    server.wait_for("connection limit line", |line| {
        line.contains("connection limit reached").then_some(())
    });
    let waiting = tokio::spawn(async move {
        reqwest::Client::new()
            .get(format!("http://{addr}/healthz"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a fourth connection was served");
    open.pop();
    let status = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("served once a connection closed")
        .expect("no panic")
        .expect("GET /healthz");
    assert_eq!(status, 200);
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Even under a permissive umask, the data folder is 0700 and the database, its WAL and
/// shared-memory files and the master key are 0600.
#[tokio::test]
async fn the_database_its_wal_and_the_master_key_are_private() {
    let s = Scratch::new();
    let mut cmd = s.serve_after("umask 000");
    cmd.env("TESSERA_BIND", "127.0.0.1:0");
    let mut server = Server::start(cmd);
    server.wait_for("listen hint", listen_port);
    let db = s.db_file();
    assert_eq!(mode(db.parent().expect("folder")), 0o700, "data folder");
    for file in [
        db.clone(),
        PathBuf::from(format!("{}-wal", db.display())),
        PathBuf::from(format!("{}-shm", db.display())),
        s.key_file(),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// One SQLite file is one server: a second `serve` on it stops at once with a message naming
/// the lock, and starts once the first has stopped.
#[tokio::test]
async fn a_second_server_on_the_same_sqlite_file_refuses_to_start() {
    let s = Scratch::new();
    let start = || {
        let mut cmd = s.command(&["serve"]);
        cmd.env("TESSERA_BIND", "127.0.0.1:0");
        Server::start(cmd)
    };
    let mut first = start();
    first.wait_for("listen hint", listen_port);
    let mut second = s.command(&["serve"]);
    second.env("TESSERA_BIND", "127.0.0.1:0");
    let out = second.output().expect("run tessera");
    assert_fails_mentioning(&out, "another Tessera server is already running");
    assert_fails_mentioning(&out, "tessera.db.lock");
    // However it ends (this may come before its signal handler is set up), the lock goes.
    first.terminate();
    let mut again = start();
    again.wait_for("listen hint", listen_port);
}

/// Management commands say which database they use and never create one: run from another
/// directory with the default relative URL, they stop instead of working on a new empty file.
#[tokio::test]
async fn management_commands_name_their_database_and_never_create_one() {
    let s = Scratch::new();
    assert!(s.run(&["migrate"]).status.success());
    let out = s.run(&["clients", "list"]);
    assert!(out.status.success(), "{}", describe(&out));
    let shown = format!("database: {}", s.db_file().display());
    assert!(stderr(&out).contains(&shown), "{}", describe(&out));

    let elsewhere = tempfile::tempdir().expect("tempdir");
    let mut cmd = s.command(&["users", "list"]);
    cmd.current_dir(elsewhere.path())
        .env_remove("TESSERA_DATABASE_URL");
    let out = cmd.output().expect("run tessera");
    let expected = elsewhere.path().join("data").join("tessera.db");
    assert_fails_mentioning(&out, &format!("no database at {}", expected.display()));
    assert_fails_mentioning(&out, "TESSERA_DATABASE_URL");
    assert!(
        !elsewhere.path().join("data").exists(),
        "nothing was created"
    );
}

/// An unreachable PostgreSQL is named with its address and the cause, not "pool timed out".
#[tokio::test]
async fn an_unreachable_postgres_is_named_with_the_cause() {
    let s = Scratch::new();
    let out = s.run_with(
        &["clients", "list"],
        &[
            (
                "TESSERA_DATABASE_URL",
                "postgres://tessera:secret@127.0.0.1:1/x",
            ),
            ("TESSERA_MASTER_KEY", &crate::helpers::shared_master_key()),
        ],
    );
    assert_fails_mentioning(&out, "cannot connect to PostgreSQL at 127.0.0.1:1");
    assert_fails_mentioning(&out, "refused");
    assert_fails_mentioning(&out, "database: postgres://tessera:***@127.0.0.1:1/x");
    assert!(!stderr(&out).contains("secret"), "{}", describe(&out));
}

/// `sslmode=allow` (or `prefer` against a server without TLS) may end up unencrypted: that is
/// a warning. `prefer` against a server with TLS (scripts/test's) is encrypted and quiet.
#[tokio::test]
async fn a_postgres_connection_that_fell_back_to_plaintext_is_a_warning() {
    let fresh = crate::helpers::fresh_postgres_db(&crate::helpers::postgres_base_url()).await;
    let s = Scratch::new();
    let key = crate::helpers::shared_master_key();
    for (mode, warned) in [("allow", true), ("prefer", false)] {
        let url = format!("{}&sslmode={mode}", fresh.url);
        let out = s.run_with(
            &["migrate"],
            &[("TESSERA_DATABASE_URL", &url), ("TESSERA_MASTER_KEY", &key)],
        );
        assert!(out.status.success(), "{}", describe(&out));
        assert_eq!(
            stderr(&out).contains("the connection to PostgreSQL is not encrypted"),
            warned,
            "sslmode={mode}: {}",
            describe(&out)
        );
    }
}

/// A connection cap the open-files limit cannot hold is a warning at start (the soft limit is
/// raised up to the hard one first, so only a low hard limit gets here).
#[tokio::test]
async fn a_connection_cap_above_the_open_files_limit_is_a_warning() {
    let s = Scratch::new();
    let mut cmd = s.serve_after("ulimit -n 300");
    cmd.env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_SERVER__MAX_CONNECTIONS", "1000");
    let mut server = Server::start(cmd);
    server.wait_for("open-files warning", |line| {
        (line.contains("TESSERA_SERVER__MAX_CONNECTIONS is above")
            && line.contains("open_files_limit=300"))
        .then_some(())
    });
}
