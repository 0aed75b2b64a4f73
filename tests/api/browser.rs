//! The sign-in and sign-out pages in a real headless Chromium, driven over WebDriver (chromedriver)
//! with `fantoccini`. The `oauth2` crate builds the authorization URL, redeems the code and
//! refreshes; a tiny axum server on 127.0.0.1 plays the client application the browser is sent
//! back to, after sign-in (`/callback`) and after sign-out (`/signed-out`).
//!
//! Chromium and chromedriver are required: `/usr/bin/chromium` and `/usr/bin/chromedriver`, or
//! the paths in `TESSERA_CHROMIUM` and `TESSERA_CHROMEDRIVER`. A missing browser fails the tests.
//!
//! `screenshots` (ignored; run by `scripts/screenshots`) saves PNGs of every page at desktop and
//! phone widths into `$SCREENSHOT_DIR`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Html;
use axum::routing::get;
use axum::{Form, Router};
use fantoccini::{Client, ClientBuilder, Locator};
use jsonwebtoken::Algorithm;
use oauth2::basic::BasicErrorResponseType;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, TokenResponse,
};
use serde_json::{Value, json};
use tessera::model::{GrantType, SigningAlg};
use tokio::sync::oneshot;

use crate::helpers::oauth::verify_id_token;
use crate::helpers::web::no_redirects;
use crate::signin::{OidcClient, OidcResponse, PASSWORD, Setup, oidc_client, setup_with};

const GENERIC_ERROR: &str = "Incorrect username or password.";
pub(crate) const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The browser: one chromedriver (and so one Chromium) per test.

fn binary(var: &str, default: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    assert!(
        path.is_file(),
        "{} not found: the browser tests need Chromium and chromedriver of the same version \
         (Debian: `apt-get install chromium chromium-driver`), or set {var} to its path",
        path.display()
    );
    path
}

/// A chromedriver child process in its own process group, with a fresh Chromium profile. Dropping
/// it kills the group: chromedriver and any Chromium it started, even when a test panics.
pub(crate) struct Driver {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }
}

async fn start_driver() -> Driver {
    let chromedriver = binary("TESSERA_CHROMEDRIVER", "/usr/bin/chromedriver");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = std::fs::File::create(dir.path().join("chromedriver.log")).expect("log file");
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new(&chromedriver)
            // Port 0: chromedriver picks a free port and says which (no race with other tests).
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()))
    };
    let mut driver = Driver {
        child,
        url: String::new(),
        dir,
    };
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = driver.child.try_wait() {
            panic!("chromedriver exited ({status}):\n{}", driver.log());
        }
        if driver.url.is_empty()
            && let Some(port) = driver
                .log()
                .split_once("started successfully on port ")
                .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|p| p.parse::<u16>().ok())
        {
            driver.url = format!("http://127.0.0.1:{port}");
        }
        if !driver.url.is_empty()
            && let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
            && r.status().is_success()
        {
            return driver;
        }
        assert!(
            start.elapsed() < WAIT,
            "chromedriver is not ready:\n{}",
            driver.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A headless Chromium session. With `scripts: false` pages run no JavaScript (to photograph the
/// form_post page before it submits itself).
pub(crate) async fn chromium(scripts: bool) -> (Driver, Client) {
    let chromium = binary("TESSERA_CHROMIUM", "/usr/bin/chromium");
    let driver = start_driver().await;
    let profile = driver.dir.path().join("profile");
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-extensions".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-quic".to_owned(),
        "--no-proxy-server".to_owned(),
        "--window-size=1280,800".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    if !scripts {
        args.push("--blink-settings=scriptEnabled=false".to_owned());
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium, "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("no Chromium session: {e}\n{}", driver.log()));
    (driver, client)
}

/// Polls the browser's URL until `done` holds.
pub(crate) async fn wait_for_url(
    c: &Client,
    what: &str,
    done: impl Fn(&url::Url) -> bool,
) -> url::Url {
    let start = Instant::now();
    loop {
        let url = c.current_url().await.expect("current url");
        if done(&url) {
            return url;
        }
        assert!(start.elapsed() < WAIT, "never reached {what}; at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .expect("text")
}

pub(crate) async fn fill(c: &Client, id: &str, value: &str) {
    let field = c.find(Locator::Id(id)).await.expect("field");
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

pub(crate) async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .expect("click");
}

/// Types into the login form and presses "Sign in".
pub(crate) async fn sign_in(c: &Client, username: &str, password: &str) {
    fill(c, "username", username).await;
    fill(c, "password", password).await;
    let button = c
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .expect("sign-in button");
    assert_eq!(button.text().await.expect("label"), "Sign in");
    button.click().await.expect("click");
}

// ---------------------------------------------------------------------------------------------
// The client application the browser comes back to.

#[derive(Debug, Clone)]
struct Callback {
    method: &'static str,
    path: String,
    params: HashMap<String, String>,
}

type Calls = Arc<Mutex<Vec<Callback>>>;

struct ClientApp {
    /// The redirect URI, `<base>/callback`.
    callback: String,
    /// The post-logout redirect URI, `<base>/signed-out`.
    signed_out: String,
    calls: Calls,
    /// How many of `calls` `arrival` has handed out.
    seen: Mutex<usize>,
    _shutdown: oneshot::Sender<()>,
}

const BACK_AT_THE_CLIENT: &str =
    "<!doctype html><title>Client</title><h1 id=\"back\">Back at the client</h1>";

async fn record_get(
    State(calls): State<Calls>,
    uri: Uri,
    Query(params): Query<HashMap<String, String>>,
) -> Html<&'static str> {
    calls.lock().expect("lock").push(Callback {
        method: "GET",
        path: uri.path().to_owned(),
        params,
    });
    Html(BACK_AT_THE_CLIENT)
}

async fn record_post(
    State(calls): State<Calls>,
    uri: Uri,
    Form(params): Form<HashMap<String, String>>,
) -> Html<&'static str> {
    calls.lock().expect("lock").push(Callback {
        method: "POST",
        path: uri.path().to_owned(),
        params,
    });
    Html(BACK_AT_THE_CLIENT)
}

async fn client_app() -> ClientApp {
    let calls = Calls::default();
    let router = Router::new()
        .route("/callback", get(record_get).post(record_post))
        .route("/signed-out", get(record_get))
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .expect("client app");
    });
    ClientApp {
        callback: format!("http://127.0.0.1:{port}/callback"),
        signed_out: format!("http://127.0.0.1:{port}/signed-out"),
        calls,
        seen: Mutex::new(0),
        _shutdown: tx,
    }
}

impl ClientApp {
    /// Waits for the browser to arrive at `target` (`callback` or `signed_out`) and returns what
    /// it brought: the first request to the client not handed out before, which must be to
    /// `target`.
    async fn arrival_at(&self, c: &Client, target: &str) -> Callback {
        let url = wait_for_url(c, target, |u| {
            u.as_str().split(['?', '#']).next() == Some(target)
        })
        .await;
        let start = Instant::now();
        loop {
            let next = {
                let calls = self.calls.lock().expect("lock");
                let mut seen = self.seen.lock().expect("lock");
                let next = calls.get(*seen).cloned();
                if next.is_some() {
                    *seen += 1;
                }
                next
            };
            if let Some(call) = next {
                assert!(
                    target.ends_with(&call.path),
                    "the client got {call:?} first, not a request to {target}"
                );
                assert_eq!(
                    text(c, "#back").await,
                    "Back at the client",
                    "the browser shows the client's page at {url}"
                );
                return call;
            }
            assert!(start.elapsed() < WAIT, "no request reached {target}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the browser to come back from /authorize.
    async fn arrival(&self, c: &Client) -> Callback {
        self.arrival_at(c, &self.callback).await
    }
}

// ---------------------------------------------------------------------------------------------
// The authorization server side.

struct Flow {
    setup: Setup,
    app: ClientApp,
    client: OidcClient,
}

/// A confidential web client allowed the code flow and refresh tokens, with the client app's
/// `/callback` as its redirect URI and its `/signed-out` as its post-logout redirect URI.
async fn flow() -> Flow {
    let app = client_app().await;
    let (cb, after) = (app.callback.clone(), app.signed_out.clone());
    let setup = setup_with(|spec| {
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        spec.redirect_uris = vec![cb];
        spec.post_logout_redirect_uris = vec![after];
    })
    .await;
    let client = oidc_client(&setup)
        .set_redirect_uri(RedirectUrl::new(app.callback.clone()).expect("redirect url"));
    Flow { setup, app, client }
}

struct Started {
    url: String,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
    nonce: String,
}

/// An OIDC authorization request for `openid profile email read` with PKCE S256 and a nonce.
fn authorize(f: &Flow, response_mode: Option<&str>) -> Started {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random().secret().clone();
    let mut req = f
        .client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("read".into()))
        .add_extra_param("nonce", nonce.clone())
        .set_pkce_challenge(challenge);
    if let Some(mode) = response_mode {
        req = req.add_extra_param("response_mode", mode.to_owned());
    }
    let (url, state) = req.url();
    Started {
        url: url.to_string(),
        state,
        verifier,
        nonce,
    }
}

fn sig_alg(alg: Algorithm) -> SigningAlg {
    match alg {
        Algorithm::RS256 => SigningAlg::RS256,
        Algorithm::ES256 => SigningAlg::ES256,
        Algorithm::EdDSA => SigningAlg::EdDSA,
        other => panic!("unexpected ID token alg {other:?}"),
    }
}

/// What a code exchange brought.
struct Tokens {
    id_token: String,
    refresh_token: Option<String>,
}

/// Redeems the code with the PKCE verifier, verifies the ID token against /jwks.json and calls
/// /userinfo with the access token.
async fn redeem_and_verify(f: &Flow, started: Started, code: String) -> Tokens {
    let s = &f.setup;
    let token = f
        .client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(started.verifier)
        .request_async(&no_redirects())
        .await
        .expect("code exchange");
    let access = token.access_token().secret().clone();
    let id_token = token.extra_fields().id_token.clone().expect("id_token");

    // OIDC Core §3.1.3.7: signature by a published key, iss, aud, nonce; §3.1.3.8: at_hash.
    let (header, claims) = verify_id_token(&s.app, &s.client_id, &id_token).await;
    assert_eq!(claims["sub"], s.sub.as_str());
    assert_eq!(claims["nonce"], started.nonce.as_str());
    assert_eq!(
        claims["at_hash"],
        tessera::oidc::id_token::at_hash(sig_alg(header.alg), &access)
    );

    userinfo(f, &access).await;
    Tokens {
        id_token,
        refresh_token: token.refresh_token().map(|t| t.secret().clone()),
    }
}

/// /userinfo with `access` answers for alice.
async fn userinfo(f: &Flow, access: &str) {
    let r = no_redirects()
        .get(f.setup.app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(r.status(), 200);
    let info: Value = r.json().await.expect("json");
    assert_eq!(info["sub"], f.setup.sub.as_str());
    assert_eq!(info["preferred_username"], "alice");
    assert_eq!(info["email"], "alice@example.com");
}

/// `grant_type=refresh_token` with the oauth2 crate: the rotated refresh token and the response.
async fn refresh(f: &Flow, refresh_token: &str) -> (String, OidcResponse) {
    let token = f
        .client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
        .request_async(&no_redirects())
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}"));
    let rotated = token.refresh_token().expect("a rotated refresh token");
    assert_ne!(rotated.secret(), refresh_token, "every use rotates");
    (rotated.secret().clone(), token)
}

/// The token endpoint refuses `refresh_token` with invalid_grant.
async fn assert_refused(f: &Flow, refresh_token: &str, what: &str) {
    let r = f
        .client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
        .request_async(&no_redirects())
        .await;
    match r {
        Err(RequestTokenError::ServerResponse(e)) => assert_eq!(
            *e.error(),
            BasicErrorResponseType::InvalidGrant,
            "{what}: {e:?}"
        ),
        Err(e) => panic!("{what}: not an OAuth error: {e:?}"),
        Ok(_) => panic!("{what}: refreshed, but must be refused"),
    }
}

/// `/logout` with the query `params`.
fn logout_url(f: &Flow, params: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    f.setup.app.url(&format!("/logout?{query}"))
}

/// Waits until the page's `h1` says `heading`.
pub(crate) async fn wait_for_heading(c: &Client, heading: &str) {
    let start = Instant::now();
    loop {
        if let Ok(h1) = c.find(Locator::Css("h1")).await
            && h1.text().await.is_ok_and(|t| t == heading)
        {
            return;
        }
        if start.elapsed() > WAIT {
            let url = c.current_url().await.expect("url");
            panic!("never saw {heading:?}; at {url}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The confirmation page of /logout without a hint: "Sign out?" and a "Sign out" button; press it.
async fn confirm_sign_out(c: &Client) {
    wait_for_heading(c, "Sign out?").await;
    assert_eq!(c.title().await.expect("title"), "Sign out · Tessera");
    let button = c
        .find(Locator::Css("form[action='/logout'] button[type=submit]"))
        .await
        .expect("the sign-out button");
    assert_eq!(button.text().await.expect("label"), "Sign out");
    button.click().await.expect("click");
}

/// Opening `started` shows the login page: nobody is signed in on this browser.
async fn login_page_for(c: &Client, started: &Started) {
    c.goto(&started.url).await.expect("open /authorize");
    wait_for_url(c, "the login page", |u| u.path() == "/login").await;
    assert_eq!(c.title().await.expect("title"), "Sign in · Tessera");
}

/// The consent page names the client and says in plain words what each scope allows; Allow.
async fn consent(c: &Client) {
    wait_for_url(c, "the consent page", |u| u.path() == "/consent").await;
    assert_eq!(text(c, "h1").await, "Allow Orders Web?");
    assert_eq!(text(c, ".host").await, "127.0.0.1");
    let scopes = text(c, "ul.scopes").await;
    for words in [
        "Sign you in with your account",
        "See your name and username",
        "See your email address",
        "read things",
    ] {
        assert!(scopes.contains(words), "{words:?} missing from {scopes:?}");
    }
    // Deny and Allow side by side, one row, one height (x, y, width, height).
    let deny = c.find(Locator::Css("button[name=decision][value=deny]"));
    let deny = deny.await.expect("Deny").rectangle().await.expect("rect");
    let allow = c.find(Locator::Css("button[name=decision][value=allow]"));
    let allow = allow.await.expect("Allow").rectangle().await.expect("rect");
    assert_eq!(
        (deny.1, deny.3),
        (allow.1, allow.3),
        "Deny and Allow in one row"
    );
    assert!(deny.0 < allow.0, "Deny first, then Allow");
    click(c, "button[name=decision][value=allow]").await;
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn code_flow_in_chromium() {
    let f = flow().await;
    let (_driver, c) = chromium(true).await;
    let started = authorize(&f, None);

    c.goto(&started.url).await.expect("open /authorize");
    let login = wait_for_url(&c, "the login page", |u| u.path() == "/login").await;
    assert!(
        login.query().is_some_and(|q| q.starts_with("request=")),
        "{login}"
    );
    assert_eq!(c.title().await.expect("title"), "Sign in · Tessera");
    assert!(text(&c, ".lead").await.contains("Orders Web"));

    // A wrong password: the generic message, still on the login page, the username kept.
    sign_in(&c, "alice", "not the password").await;
    let alert = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("p.alert[role=alert]"))
        .await
        .expect("an error message");
    assert_eq!(alert.text().await.expect("text"), GENERIC_ERROR);
    assert_eq!(c.current_url().await.expect("url").path(), "/login");
    let username = c.find(Locator::Id("username")).await.expect("username");
    assert_eq!(
        username.prop("value").await.expect("value").as_deref(),
        Some("alice")
    );
    assert!(f.app.calls.lock().expect("lock").is_empty());

    sign_in(&c, "alice", PASSWORD).await;
    consent(&c).await;

    let back = f.app.arrival(&c).await;
    assert_eq!(back.method, "GET");
    assert_eq!(
        back.params.get("state"),
        Some(started.state.secret()),
        "state comes back unchanged"
    );
    assert_eq!(
        back.params.get("iss"),
        Some(&f.setup.app.base),
        "RFC 9207 iss"
    );
    assert!(!back.params.contains_key("error"), "{:?}", back.params);
    let code = back.params.get("code").expect("code").clone();
    let tokens = redeem_and_verify(&f, started, code).await;

    // A refresh with the oauth2 crate rotates the refresh token; the new access token works.
    let rt1 = tokens.refresh_token.expect("a refresh token");
    let (rt2, refreshed) = refresh(&f, &rt1).await;
    userinfo(&f, refreshed.access_token().secret()).await;
    // The rotated-out token again: refused, and that replay ends the family, rt2 included.
    assert_refused(&f, &rt1, "the rotated-out refresh token").await;
    assert_refused(&f, &rt2, "its successor after the replay").await;

    // Still signed in, consent remembered: /authorize goes straight back with a code. Its refresh
    // token (no offline_access) is a new family bound to this browser session.
    let again = authorize(&f, None);
    c.goto(&again.url).await.expect("open /authorize");
    let back = f.app.arrival(&c).await;
    assert_eq!(back.params.get("state"), Some(again.state.secret()));
    let code = back.params.get("code").expect("code").clone();
    let tokens = redeem_and_verify(&f, again, code).await;
    let (bound, _) = refresh(&f, &tokens.refresh_token.expect("a refresh token")).await;

    // RP-initiated logout: the browser goes to /logout with the ID token as hint and comes back to
    // the registered post-logout URI with the state, at once (no confirmation).
    let logout = logout_url(
        &f,
        &[
            ("id_token_hint", &tokens.id_token),
            ("post_logout_redirect_uri", &f.app.signed_out),
            ("state", "bye"),
        ],
    );
    c.goto(&logout).await.expect("open /logout");
    let back = f.app.arrival_at(&c, &f.app.signed_out).await;
    assert_eq!(back.method, "GET");
    assert_eq!(
        back.params,
        HashMap::from([("state".to_owned(), "bye".to_owned())])
    );

    // The session is over: the login page again, and the session-bound refresh token is dead.
    login_page_for(&c, &authorize(&f, None)).await;
    assert_refused(&f, &bound, "the session-bound refresh token after logout").await;
    assert_eq!(
        f.app.calls.lock().expect("lock").len(),
        *f.app.seen.lock().expect("lock"),
        "nothing else reached the client"
    );
    c.close().await.expect("close the browser");
}

/// /logout without an id_token_hint: a confirmation page, then the signed-out page; with a
/// client_id and a registered post_logout_redirect_uri, back to the client with the state.
#[tokio::test]
async fn logout_confirmation_in_chromium() {
    let f = flow().await;
    let (_driver, c) = chromium(true).await;
    let started = authorize(&f, None);
    c.goto(&started.url).await.expect("open /authorize");
    wait_for_url(&c, "the login page", |u| u.path() == "/login").await;
    sign_in(&c, "alice", PASSWORD).await;
    consent(&c).await;
    let back = f.app.arrival(&c).await;
    let code = back.params.get("code").expect("code").clone();
    let tokens = redeem_and_verify(&f, started, code).await;
    let bound = tokens.refresh_token.expect("a refresh token");

    c.goto(&f.setup.app.url("/logout"))
        .await
        .expect("open /logout");
    confirm_sign_out(&c).await;
    wait_for_heading(&c, "You are signed out").await;
    assert_eq!(c.title().await.expect("title"), "Signed out · Tessera");
    assert_eq!(c.current_url().await.expect("url").path(), "/logout");
    assert_refused(&f, &bound, "the session-bound refresh token after logout").await;
    login_page_for(&c, &authorize(&f, None)).await;

    // Naming the client instead of proving the user: asked first, then back with the state.
    let logout = logout_url(
        &f,
        &[
            ("client_id", &f.setup.client_id),
            ("post_logout_redirect_uri", &f.app.signed_out),
            ("state", "s2"),
        ],
    );
    c.goto(&logout).await.expect("open /logout");
    confirm_sign_out(&c).await;
    let back = f.app.arrival_at(&c, &f.app.signed_out).await;
    assert_eq!(back.params.get("state").map(String::as_str), Some("s2"));
    c.close().await.expect("close the browser");
}

#[tokio::test]
async fn form_post_in_chromium() {
    let f = flow().await;
    let (_driver, c) = chromium(true).await;
    let started = authorize(&f, Some("form_post"));

    c.goto(&started.url).await.expect("open /authorize");
    wait_for_url(&c, "the login page", |u| u.path() == "/login").await;
    sign_in(&c, "alice", PASSWORD).await;
    consent(&c).await;

    // The auto-submitting page (static/form_post.js) POSTs the answer to the client.
    let back = f.app.arrival(&c).await;
    assert_eq!(back.method, "POST", "{:?}", back.params);
    let url = c.current_url().await.expect("url");
    assert_eq!(
        url.query(),
        None,
        "nothing in the URL with form_post: {url}"
    );
    assert_eq!(back.params.get("state"), Some(started.state.secret()));
    assert_eq!(back.params.get("iss"), Some(&f.setup.app.base));
    let code = back.params.get("code").expect("code").clone();
    assert_eq!(f.app.calls.lock().expect("lock").len(), 1);
    redeem_and_verify(&f, started, code).await;
    c.close().await.expect("close the browser");
}

// ---------------------------------------------------------------------------------------------
// Screenshots: `scripts/screenshots`.

const SIZES: [(&str, u32, u32); 2] = [("desktop", 1280, 800), ("phone", 390, 844)];

/// Makes the page's viewport exactly `width`×`height` CSS pixels.
async fn viewport(c: &Client, width: u32, height: u32) {
    let (mut w, mut h) = (width, height);
    for _ in 0..3 {
        c.set_window_size(w, h).await.expect("window size");
        let inner = c
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("inner size");
        let iw = inner[0].as_i64().expect("width");
        let ih = inner[1].as_i64().expect("height");
        if (iw, ih) == (i64::from(width), i64::from(height)) {
            return;
        }
        w = (i64::from(w) + i64::from(width) - iw) as u32;
        h = (i64::from(h) + i64::from(height) - ih) as u32;
    }
    panic!("cannot size the viewport to {width}x{height}");
}

/// Saves the page at each size as `NAME-SIZE.png`; returns layout problems it can measure.
pub(crate) async fn photograph(c: &Client, dir: Option<&Path>, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (size, width, height) in SIZES {
        viewport(c, width, height).await;
        let overflow = c
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await
            .expect("measure");
        if overflow.as_i64().unwrap_or(0) > 0 {
            problems.push(format!(
                "{name} at {size}: {overflow}px of horizontal overflow"
            ));
        }
        let png = c.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Some(dir) = dir {
            let path = dir.join(format!("{name}-{size}.png"));
            std::fs::write(&path, png).expect("write screenshot");
            println!("{}", path.display());
        }
    }
    problems
}

/// Photographs every page. Runs with JavaScript off: the sign-in pages have none, and the
/// form_post page then stays on screen instead of submitting itself.
#[tokio::test]
#[ignore = "writes screenshots; run scripts/screenshots"]
async fn screenshots() {
    let dir = std::env::var_os("SCREENSHOT_DIR").map(PathBuf::from);
    if let Some(d) = &dir {
        std::fs::create_dir_all(d).expect("screenshot dir");
    }
    let dir = dir.as_deref();
    let f = flow().await;
    let (_driver, c) = chromium(false).await;
    let started = authorize(&f, Some("form_post"));
    let mut problems = Vec::new();

    c.goto(&started.url).await.expect("open /authorize");
    wait_for_url(&c, "the login page", |u| u.path() == "/login").await;
    problems.extend(photograph(&c, dir, "login").await);

    sign_in(&c, "alice", "not the password").await;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("p.alert"))
        .await
        .expect("an error message");
    problems.extend(photograph(&c, dir, "login-error").await);

    sign_in(&c, "alice", PASSWORD).await;
    wait_for_url(&c, "the consent page", |u| u.path() == "/consent").await;
    problems.extend(photograph(&c, dir, "consent").await);

    click(&c, "button[name=decision][value=allow]").await;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Id("form-post"))
        .await
        .expect("the form_post page");
    problems.extend(photograph(&c, dir, "form-post").await);

    let unknown = format!(
        "{}?response_type=code&client_id=no-such-client&redirect_uri={}",
        f.setup.app.url("/authorize"),
        url::form_urlencoded::byte_serialize(f.app.callback.as_bytes()).collect::<String>()
    );
    c.goto(&unknown).await.expect("open /authorize");
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("p.alert"))
        .await
        .expect("the error page");
    problems.extend(photograph(&c, dir, "error").await);

    // Still signed in (the form_post answer never left): /logout without a hint asks first.
    c.goto(&f.setup.app.url("/logout"))
        .await
        .expect("open /logout");
    wait_for_heading(&c, "Sign out?").await;
    problems.extend(photograph(&c, dir, "logout").await);
    confirm_sign_out(&c).await;
    wait_for_heading(&c, "You are signed out").await;
    problems.extend(photograph(&c, dir, "signed-out").await);

    c.close().await.expect("close the browser");
    assert!(problems.is_empty(), "{problems:#?}");
}
