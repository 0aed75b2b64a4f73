//! The admin console: Chromium drives the pages an admin uses; raw HTTP checks the role, CSRF,
//! the bootstrap admin and the audit lines of console changes.

use fantoccini::{Client, Locator};
use oauth2::{AuthType, TokenResponse};
use tessera::model::AuditFilter;
use tessera::model::{Actor, ApplicationType, GrantType};
use tessera::service::clients::ClientSpec;
use tessera::service::lockouts::LoginGate;

use crate::browser::{WAIT, chromium, click, fill, sign_in, text, wait_for_url};
use crate::helpers::oauth::token_client;
// Shared with other modules, which may still name it from here.
pub(crate) use crate::helpers::web::console_session;
use crate::helpers::web::{Page, no_redirects};
use crate::helpers::{ADMIN_PASSWORD, TestApp, execute, spawn_app, spawn_app_with, spawn_on};
use crate::signin::{API, Browser, CHALLENGE, PASSWORD, REDIRECT, enc, hidden};

/// Signs `username` in to the console in Chromium, starting from /admin (which sends an
/// anonymous visitor to the sign-in page and back).
async fn console_in_chromium(
    app: &TestApp,
    username: &str,
    password: &str,
) -> (crate::browser::Driver, Client) {
    let (driver, c) = chromium(true).await;
    console_sign_in(&c, app, username, password).await;
    (driver, c)
}

/// Signs `username` in to the console in the Chromium `c` has open.
async fn console_sign_in(c: &Client, app: &TestApp, username: &str, password: &str) {
    c.goto(&app.url("/admin")).await.expect("open /admin");
    wait_for_url(c, "the sign-in page", |u| u.path() == "/login").await;
    sign_in(c, username, password).await;
}

/// The same Chromium as another user: the session cookie goes and `username` signs in (a
/// second browser costs seconds).
async fn switch_user(c: &Client, app: &TestApp, username: &str, password: &str) {
    c.delete_all_cookies().await.expect("sign out");
    console_sign_in(c, app, username, password).await;
}

/// Waits for the element at `css`, looking every 50 ms as `wait_for_url` does (fantoccini's
/// default of 250 ms adds up over a test).
async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .every(std::time::Duration::from_millis(50))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> Result<String, String> {
    token_client(app, id, secret, AuthType::BasicAuth)
        .exchange_client_credentials()
        .request_async(&no_redirects())
        .await
        .map(|t| t.access_token().secret().clone())
        .map_err(|e| format!("{e:?}"))
}

/// Point 9: an admin registers an API and a confidential client in the console; the client
/// then gets a token with client credentials from an independent OAuth client.
#[tokio::test]
async fn an_admin_registers_an_api_and_a_client_that_then_gets_tokens() {
    let app = spawn_app().await;
    let (_driver, c) = console_in_chromium(&app, "admin", ADMIN_PASSWORD).await;
    wait_for_url(&c, "the clients list", |u| u.path() == "/admin/clients").await;

    c.goto(&app.url("/admin/resources/new"))
        .await
        .expect("open");
    fill(&c, "identifier", API).await;
    fill(&c, "name", "Orders").await;
    fill(&c, "scopes", "orders:read: Read your orders").await;
    click(&c, "form button.primary").await;
    wait_for_url(&c, "the API list", |u| u.path() == "/admin/resources").await;
    assert!(text(&c, "table").await.contains(API));

    c.goto(&app.url("/admin/clients/new")).await.expect("open");
    // A web client's redirect URI must be https (or loopback http): shown next to the field.
    fill(&c, "name", "Billing service").await;
    fill(&c, "redirect_uris", "http://billing.example.com/cb").await;
    click(&c, "form button.primary").await;
    let error = wait_for(&c, "textarea#redirect_uris ~ p.error").await;
    assert!(error.text().await.expect("text").contains("https"));
    assert!(
        app.core.clients().await.expect("list").is_empty(),
        "nothing registered"
    );

    fill(&c, "redirect_uris", "").await;
    click(&c, "input[name=grant_types][value=authorization_code]").await;
    click(&c, "input[name=grant_types][value=client_credentials]").await;
    click(&c, &format!("input[name=resources][value='{API}']")).await;
    click(&c, "form button.primary").await;
    let secret = wait_for(&c, "#client-secret")
        .await
        .text()
        .await
        .expect("secret");
    let id = text(&c, "#client-id").await;

    let token = client_credentials(&app, &id, &secret)
        .await
        .expect("a token");
    let (_, claims) = crate::tokens::verify(&app, &token, API).await;
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["scope"], "orders:read");
    c.close().await.expect("close");

    // Both changes are in the audit log with the admin as actor.
    let events = app
        .core
        .audit_events(&AuditFilter::default(), None, 100)
        .await
        .expect("events");
    for (kind, target) in [("resource.created", API), ("client.created", id.as_str())] {
        let e = events
            .iter()
            .find(|e| e.event.kind == kind && e.event.target.as_deref() == Some(target))
            .unwrap_or_else(|| panic!("no {kind} event"));
        assert_eq!(e.event.actor.as_deref(), Some("admin"));
        assert_eq!(e.event.ip.as_deref(), Some("127.0.0.1"));
    }
}

async fn web_client(app: &TestApp, redirect: &str) -> tessera::service::clients::Registered {
    app.resource(API, tessera::model::SigningAlg::ES256).await;
    let mut spec = ClientSpec::new("Shop");
    spec.public = true;
    spec.application_type = ApplicationType::Web;
    spec.grant_types = vec![GrantType::AuthorizationCode];
    spec.redirect_uris = vec![redirect.to_owned()];
    spec.resources = vec![API.to_owned()];
    app.core
        .create_client(spec, &Actor::cli())
        .await
        .expect("client")
}

fn authorize(app: &TestApp, client_id: &str, redirect: &str) -> String {
    app.url(&format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256&state=s1",
        enc(redirect)
    ))
}

/// An edit of the redirect URIs holds at /authorize at once: the new URI is accepted and the
/// old one gets the error page (never a redirect).
#[tokio::test]
async fn edited_redirect_uris_apply_at_once() {
    let app = spawn_app().await;
    let reg = web_client(&app, REDIRECT).await;
    let id = reg.client.client_id.0.clone();
    let moved = "http://127.0.0.1:9/moved";
    let b = Browser::new();
    assert_eq!(b.get(&authorize(&app, &id, REDIRECT)).await.status, 303);
    assert_eq!(b.get(&authorize(&app, &id, moved)).await.status, 400);

    let (_driver, c) = console_in_chromium(&app, "admin", ADMIN_PASSWORD).await;
    wait_for_url(&c, "the console", |u| u.path() == "/admin/clients").await;
    click(&c, &format!("a[href='/admin/clients/{id}']")).await;
    wait_for(&c, "textarea#redirect_uris").await;
    fill(&c, "redirect_uris", moved).await;
    click(&c, "form button.primary").await;
    wait_for_url(&c, "the saved client", |u| u.query() == Some("saved=1")).await;
    c.close().await.expect("close");

    let b = Browser::new();
    let page = b.get(&authorize(&app, &id, moved)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(page.location.expect("login").starts_with("/login"));
    let page = b.get(&authorize(&app, &id, REDIRECT)).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("not registered"), "{}", page.body);
}

/// Rotates in the console (with the given overlap) and returns the new secret.
async fn rotate_in_console(c: &Client, app: &TestApp, id: &str, overlap: &str) -> String {
    c.goto(&app.url(&format!("/admin/clients/{id}")))
        .await
        .expect("open");
    fill(c, "overlap", overlap).await;
    click(c, "form[action$='/rotate'] button").await;
    // The confirmation page re-posts the form.
    click(&wait_for_confirm(c).await, "button.danger").await;
    wait_for(c, "#client-secret")
        .await
        .text()
        .await
        .expect("secret")
}

async fn wait_for_confirm(c: &Client) -> Client {
    wait_for(c, "input[name=confirmed][value=yes]").await;
    c.clone()
}

#[tokio::test]
async fn secret_rotation_replaces_the_secret_and_the_overlap_keeps_the_old_one() {
    let app = spawn_app().await;
    app.resource(API, tessera::model::SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let id = reg.client.client_id.0.clone();
    let first = reg.secret.expect("secret");
    assert!(client_credentials(&app, &id, &first).await.is_ok());

    let (_driver, c) = console_in_chromium(&app, "admin", ADMIN_PASSWORD).await;
    wait_for_url(&c, "the console", |u| u.path() == "/admin/clients").await;
    let second = rotate_in_console(&c, &app, &id, "0").await;
    assert_ne!(second, first);
    let old = client_credentials(&app, &id, &first).await;
    assert!(
        old.is_err_and(|e| e.contains("invalid_client")),
        "the old secret is refused"
    );
    assert!(client_credentials(&app, &id, &second).await.is_ok());

    let third = rotate_in_console(&c, &app, &id, "3600").await;
    assert!(client_credentials(&app, &id, &third).await.is_ok());
    assert!(
        client_credentials(&app, &id, &second).await.is_ok(),
        "the overlap keeps the previous secret working"
    );
    app.clock.advance(3601);
    assert!(
        client_credentials(&app, &id, &second).await.is_err(),
        "until it ends"
    );
    assert!(client_credentials(&app, &id, &third).await.is_ok());
    c.close().await.expect("close");
}

/// A signed-in user without the admin role gets 403; a console POST without the session's CSRF
/// token is refused and changes nothing.
#[tokio::test]
async fn non_admins_get_403_and_posts_need_the_csrf_token() {
    let app = spawn_app().await;
    app.user("bob", PASSWORD).await;
    let (_driver, c) = console_in_chromium(&app, "bob", PASSWORD).await;
    wait_for_url(&c, "back at the console", |u| u.path() == "/admin").await;
    let body = text(&c, "main").await;
    assert!(body.contains("for administrators"), "{body}");

    switch_user(&c, &app, "admin", ADMIN_PASSWORD).await;
    wait_for_url(&c, "the console", |u| u.path() == "/admin/clients").await;
    // A form posted without the token (what a forging page would send) is refused.
    c.execute(
        "const f = document.createElement('form');
         f.method = 'post';
         f.action = '/admin/clients';
         const i = document.createElement('input');
         i.name = 'name';
         i.value = 'Forged';
         f.appendChild(i);
         document.body.appendChild(f);
         f.submit();",
        vec![],
    )
    .await
    .expect("script");
    let alert = wait_for(&c, "p.alert").await.text().await.expect("text");
    assert!(alert.contains("did not come from this site"), "{alert}");
    assert!(app.core.clients().await.expect("list").is_empty());
    c.close().await.expect("close");

    // The same over plain HTTP, for the role check's exact answer.
    let b = console_session(&app, "bob", PASSWORD).await;
    let page = b.get(&app.url("/admin/clients")).await;
    assert_eq!(page.status, 403);
    assert_eq!(b.get(&app.url("/admin/users")).await.status, 403);
    let a = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let forged = a
        .post(&app.url("/admin/clients"), &[("name", "Forged")])
        .await;
    assert_eq!(forged.status, 403);
    assert!(app.core.clients().await.expect("list").is_empty());
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_sign_in_and_come_back() {
    let app = spawn_app().await;
    let b = Browser::new();
    let page = b.get(&app.url("/admin/users?q=al")).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some("/login?next=%2Fadmin%2Fusers%3Fq%3Dal")
    );
    // The sign-in page only continues to console paths (no open redirect).
    for next in [
        "https://evil.example/admin",
        "//evil.example/admin",
        "/adminx",
        "/authorize",
    ] {
        let page = b.get(&app.url(&format!("/login?next={}", enc(next)))).await;
        assert_eq!(page.status, 400, "{next}");
    }
    let page = b.get(&app.url("/admin/clients")).await;
    assert_eq!(page.status, 303);
    // A POST from an anonymous visitor changes nothing.
    let page = b.post(&app.url("/admin/clients"), &[("name", "x")]).await;
    assert_eq!(page.status, 303);
    assert!(app.core.clients().await.expect("list").is_empty());
}

/// A server whose first admin got a generated password (no TESSERA_BOOTSTRAP_ADMIN_PASSWORD):
/// on SQLite in `dir`, the data directory the password file is written to.
struct GeneratedAdmin {
    app: TestApp,
    password: String,
    // Dropped after the server: the database file lives in it.
    dir: tempfile::TempDir,
}

async fn generated_admin() -> GeneratedAdmin {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
    let app = spawn_app_with(|c| {
        c.bootstrap_admin_password = None;
        c.database_url = url.clone();
    })
    .await;
    let file = dir.path().join("bootstrap-admin-password");
    let password = std::fs::read_to_string(&file).expect("the password file");
    GeneratedAdmin {
        app,
        password: password.trim().to_owned(),
        dir,
    }
}

/// Signs the admin in with the generated password, which leads to the password page first;
/// returns the session and the page's CSRF token.
async fn forced_password_form(g: &GeneratedAdmin) -> (Browser, String) {
    let app = &g.app;
    let b = console_session(app, "admin", &g.password).await;
    let page = b.get(&app.url("/admin/clients")).await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/admin/password"))
    );
    let form = b.get(&app.url("/admin/password")).await;
    assert_eq!(form.status, 200);
    let csrf = hidden(&form.body, "csrf");
    (b, csrf)
}

/// Posts the password form: `current` replaced by `new`, typed twice.
async fn change_password(b: &Browser, app: &TestApp, csrf: &str, current: &str, new: &str) -> Page {
    b.post(
        &app.url("/admin/password"),
        &[
            ("csrf", csrf),
            ("current_password", current),
            ("password", new),
            ("confirm", new),
        ],
    )
    .await
}

/// Without TESSERA_BOOTSTRAP_ADMIN_PASSWORD the first admin's password is generated into a 0600
/// file in the data directory, and the admin is marked to replace it.
#[tokio::test]
async fn a_generated_bootstrap_password_is_written_to_a_private_file() {
    let g = generated_admin().await;
    let file = g.dir.path().join("bootstrap-admin-password");
    let meta = std::fs::metadata(&file).expect("the password file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(g.password.len() >= 20);
    let admin = g
        .app
        .core
        .user_by_username("admin")
        .await
        .expect("lookup")
        .expect("the admin");
    assert!(admin.admin && admin.must_change_password);
}

/// The console asks for a new password before anything else, and refuses a short one or the
/// generated one again.
#[tokio::test]
async fn a_generated_bootstrap_password_must_be_replaced_at_first_sign_in() {
    let g = generated_admin().await;
    let (b, csrf) = forced_password_form(&g).await;
    let refused = change_password(&b, &g.app, &csrf, &g.password, "short").await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("at least 12"), "{}", refused.body);
    // The generated password itself is no replacement for it.
    let same = change_password(&b, &g.app, &csrf, &g.password, &g.password).await;
    assert_eq!(same.status, 422);
    assert!(same.body.contains("must differ"), "{}", same.body);
}

/// Once replaced, the console opens, only the new password signs in, and a restart creates no
/// other admin.
#[tokio::test]
async fn a_replaced_bootstrap_password_opens_the_console() {
    let g = generated_admin().await;
    let app = &g.app;
    let (b, csrf) = forced_password_form(&g).await;
    let new_password = "a much better admin password";
    let done = change_password(&b, app, &csrf, &g.password, new_password).await;
    assert_eq!(done.status, 303);
    assert_eq!(b.get(&app.url("/admin/clients")).await.status, 200);
    assert!(
        app.core
            .authenticate_user("admin", new_password)
            .await
            .expect("auth")
            .is_some()
    );
    assert!(
        app.core
            .authenticate_user("admin", &g.password)
            .await
            .expect("auth")
            .is_none()
    );

    // A restart finds an admin and creates nothing.
    app.core.bootstrap_admin().await.expect("bootstrap");
    assert_eq!(app.core.users().await.expect("users").len(), 1);
}

/// Several instances starting at once on one database with no admin create exactly one.
#[tokio::test]
async fn concurrent_bootstraps_create_one_admin() {
    let app = spawn_app().await;
    let other = spawn_on(app.db.clone(), app.clock.clone()).await;
    execute(&app.core.db, "DELETE FROM users", &[]).await;
    let (a, b, c) = tokio::join!(
        app.core.bootstrap_admin(),
        other.core.bootstrap_admin(),
        app.core.bootstrap_admin()
    );
    for r in [a, b, c] {
        r.expect("every bootstrap succeeds");
    }
    let users = app.core.users().await.expect("users");
    assert_eq!(users.len(), 1, "{users:?}");
    assert!(users[0].admin && users[0].username == "admin");
    assert!(
        app.core
            .authenticate_user("admin", ADMIN_PASSWORD)
            .await
            .expect("auth")
            .is_some()
    );
}

/// A console session of the admin on the page at `path` (which must answer 200): the session
/// and the page, whose forms carry the session's CSRF token.
async fn admin_on(app: &TestApp, path: &str) -> (Browser, Page) {
    let b = console_session(app, "admin", ADMIN_PASSWORD).await;
    let page = b.get(&app.url(path)).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    (b, page)
}

/// Disabling a client in the console refuses it at /token and makes its tokens inactive.
#[tokio::test]
async fn disabling_a_client_in_the_console_refuses_it_and_its_tokens() {
    let app = spawn_app().await;
    app.resource(API, tessera::model::SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let id = reg.client.client_id.0.clone();
    let secret = reg.secret.expect("secret");
    let token = client_credentials(&app, &id, &secret).await.expect("token");
    let (b, page) = admin_on(&app, &format!("/admin/clients/{id}")).await;
    let csrf = hidden(&page.body, "csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Renamed"),
        ("auth_method", "client_secret_basic"),
        ("grant_types", "client_credentials"),
        ("resources", API),
        ("id_token_alg", "RS256"),
        ("pkce_required", "on"),
        ("disabled", "on"),
    ];
    let saved = b
        .post(&app.url(&format!("/admin/clients/{id}")), &form)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let refused = client_credentials(&app, &id, &secret).await;
    assert!(refused.is_err(), "a disabled client gets no token");
    let rs = app.client(&[API]).await;
    let rs_id = rs.client.client_id.0.clone();
    let mut spec = ClientSpec::from_client(&rs.client);
    spec.resource_server_for = Some(API.to_owned());
    app.core
        .update_client(&rs_id, spec, &Actor::cli())
        .await
        .expect("rs");
    let answer = app
        .introspect(&rs_id, rs.secret.as_deref().expect("secret"), &token)
        .await;
    assert_eq!(
        answer["active"], false,
        "tokens of a disabled client are inactive"
    );
}

async fn user_disabled(app: &TestApp, sub: &str) -> bool {
    app.core
        .user_by_sub(sub)
        .await
        .expect("lookup")
        .expect("user")
        .disabled
}

/// Disabling a user in the console asks first, then ends the sessions they have elsewhere.
#[tokio::test]
async fn disabling_a_user_in_the_console_asks_first_and_ends_their_sessions() {
    let app = spawn_app().await;
    let sub = app.user("carol", PASSWORD).await.sub;
    let _carol = console_session(&app, "carol", PASSWORD).await;
    let grants = app.core.user_grants(&sub).await.expect("grants");
    assert_eq!(grants.sessions.len(), 1);
    let (b, page) = admin_on(&app, &format!("/admin/users/{sub}")).await;
    assert!(page.body.contains(&grants.sessions[0].sid));
    let csrf = hidden(&page.body, "csrf");
    let first = b
        .post(
            &app.url(&format!("/admin/users/{sub}/disabled")),
            &[("csrf", &csrf), ("disabled", "true")],
        )
        .await;
    assert_eq!(first.status, 200, "a confirmation page first");
    assert!(first.body.contains("Disable this user?"));
    assert!(!user_disabled(&app, &sub).await);
    let done = b
        .post(
            &app.url(&format!("/admin/users/{sub}/disabled")),
            &[("csrf", &csrf), ("disabled", "true"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(done.status, 303);
    assert!(user_disabled(&app, &sub).await);
    assert!(
        app.core
            .user_grants(&sub)
            .await
            .expect("grants")
            .sessions
            .is_empty()
    );
}

/// A console with something on every page: a web client and a service, alice (signed in),
/// bob with profile claims, and a lockout.
struct Populated {
    app: TestApp,
    client_id: String,
    service_id: String,
    alice_sub: String,
    _alice_session: Browser,
}

async fn populated_console() -> Populated {
    let app = spawn_app().await;
    let reg = web_client(&app, REDIRECT).await;
    let service = app.client(&[API]).await;
    let alice = app.user("alice", PASSWORD).await;
    let mut spec = tessera::service::users::UserSpec::new("bob.builder");
    spec.email = Some("bob@example.com".into());
    spec.email_verified = true;
    spec.name = Some("Bob Builder".into());
    app.core
        .create_user(spec, PASSWORD, &Actor::cli())
        .await
        .expect("bob");
    mallory_failed_once(&app).await;
    Populated {
        _alice_session: console_session(&app, "alice", PASSWORD).await,
        client_id: reg.client.client_id.0,
        service_id: service.client.client_id.0,
        alice_sub: alice.sub,
        app,
    }
}

/// Where scripts/screenshots wants the pictures (none: only measured).
fn screenshot_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("SCREENSHOT_DIR").map(std::path::PathBuf::from)
}

/// Fails on every page that scrolls sideways.
fn no_sideways_scrolling(problems: &[String]) {
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Photographs every console page at desktop and phone widths (scripts/screenshots); fails
/// when a page scrolls sideways.
#[tokio::test]
#[ignore = "writes screenshots; run scripts/screenshots"]
async fn screenshots() {
    let dir = screenshot_dir();
    let p = populated_console().await;
    let app = &p.app;
    let (_driver, c) = console_in_chromium(app, "admin", ADMIN_PASSWORD).await;
    wait_for_url(&c, "the console", |u| u.path() == "/admin/clients").await;
    let resource = format!("/admin/resources/edit?identifier={}", enc(API));
    let pages = [
        ("/admin/clients", "admin-clients"),
        (&format!("/admin/clients/{}", p.client_id), "admin-client"),
        ("/admin/clients/new", "admin-client-new"),
        ("/admin/resources", "admin-resources"),
        (&resource, "admin-resource"),
        ("/admin/users", "admin-users"),
        ("/admin/users/new", "admin-user-new"),
        (&format!("/admin/users/{}", p.alice_sub), "admin-user"),
        ("/admin/keys", "admin-keys"),
        ("/admin/lockouts", "admin-lockouts"),
        ("/admin/audit", "admin-audit"),
    ];
    let mut problems = Vec::new();
    for (path, name) in pages {
        c.goto(&app.url(path)).await.expect("open");
        wait_for(&c, "main h1").await;
        problems.extend(crate::browser::photograph(&c, dir.as_deref(), name).await);
    }
    c.close().await.expect("close");
    no_sideways_scrolling(&problems);
}

/// The console's pages in passing: a refused form, a confirmation and a secret shown once.
#[tokio::test]
#[ignore = "writes screenshots; run scripts/screenshots"]
async fn screenshots_of_a_refused_form_a_confirmation_and_a_secret() {
    let dir = screenshot_dir();
    let dir = dir.as_deref();
    let p = populated_console().await;
    let app = &p.app;
    let (_driver, c) = console_in_chromium(app, "admin", ADMIN_PASSWORD).await;
    wait_for_url(&c, "the console", |u| u.path() == "/admin/clients").await;
    let mut problems = Vec::new();
    c.goto(&app.url("/admin/clients/new")).await.expect("open");
    fill(&c, "redirect_uris", "http://app.example.com/cb").await;
    click(&c, "form button.primary").await;
    wait_for(&c, "p.error").await;
    problems.extend(crate::browser::photograph(&c, dir, "admin-client-errors").await);
    c.goto(&app.url(&format!("/admin/clients/{}", p.service_id)))
        .await
        .expect("open");
    click(&c, "form[action$='/rotate'] button").await;
    wait_for(&c, "input[name=confirmed]").await;
    problems.extend(crate::browser::photograph(&c, dir, "admin-confirm").await);
    click(&c, "button.danger").await;
    wait_for(&c, "#client-secret").await;
    problems.extend(crate::browser::photograph(&c, dir, "admin-client-secret").await);
    c.close().await.expect("close");
    no_sideways_scrolling(&problems);
}

/// The page a non-admin gets, and the forced password change.
#[tokio::test]
#[ignore = "writes screenshots; run scripts/screenshots"]
async fn screenshots_of_the_forbidden_and_forced_password_pages() {
    let dir = screenshot_dir();
    let dir = dir.as_deref();
    let p = populated_console().await;
    let app = &p.app;
    let mut problems = Vec::new();
    let (_driver, c) = console_in_chromium(app, "alice", PASSWORD).await;
    wait_for(&c, "main h1").await;
    problems.extend(crate::browser::photograph(&c, dir, "admin-forbidden").await);
    // As after a bootstrap with a generated password.
    let admin = app
        .core
        .user_by_username("admin")
        .await
        .expect("lookup")
        .expect("admin");
    let flag = "UPDATE users SET must_change_password = TRUE WHERE sub = $1";
    execute(&app.core.db, flag, &[&admin.sub]).await;
    switch_user(&c, app, "admin", ADMIN_PASSWORD).await;
    wait_for_url(&c, "the password page", |u| u.path() == "/admin/password").await;
    problems.extend(crate::browser::photograph(&c, dir, "admin-password").await);
    c.close().await.expect("close");
    no_sideways_scrolling(&problems);
}

/// Rows of the console table in a page: the link texts of its first column.
fn rows(body: &str, href: &str) -> Vec<String> {
    body.split(&format!("<td><a href=\"{href}"))
        .skip(1)
        .map(|rest| {
            let start = rest.find('>').expect("link") + 1;
            let end = rest.find("</a>").expect("end");
            rest[start..end].to_owned()
        })
        .collect()
}

/// The "Next page" link of a console list, if any.
fn next_link(body: &str) -> Option<String> {
    let marker = "<p class=\"pager\"><a href=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

/// Search is a case-insensitive prefix match (LIKE wildcards in the input match only
/// themselves) and lists page by keyset without gaps or repeats.
#[tokio::test]
async fn lists_search_by_prefix_and_page_by_keyset() {
    let app = spawn_app().await;
    for i in 0..55 {
        let mut spec = ClientSpec::new(format!("Alpha {i:02}"));
        spec.grant_types = vec![GrantType::ClientCredentials];
        app.core
            .create_client(spec, &Actor::cli())
            .await
            .expect("client");
    }
    for name in ["Beta", "al_pha", "100% real"] {
        let mut spec = ClientSpec::new(name);
        spec.grant_types = vec![GrantType::ClientCredentials];
        app.core
            .create_client(spec, &Actor::cli())
            .await
            .expect("client");
    }
    let b = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let first = b.get(&app.url("/admin/clients?q=aLP")).await;
    assert_eq!(first.status, 200);
    let mut names = rows(&first.body, "/admin/clients/");
    assert_eq!(names.len(), 50);
    let next = next_link(&first.body).expect("a next page");
    let second = b.get(&app.url(&next)).await;
    let more = rows(&second.body, "/admin/clients/");
    assert_eq!(more.len(), 5, "{next}");
    assert!(next_link(&second.body).is_none());
    names.extend(more);
    let expected: Vec<String> = (0..55).map(|i| format!("Alpha {i:02}")).collect();
    assert_eq!(names, expected, "all of them, in order, once");
    let page = b.get(&app.url("/admin/clients?q=al_")).await;
    assert_eq!(
        rows(&page.body, "/admin/clients/"),
        ["al_pha"],
        "_ is not a wildcard"
    );
    let page = b.get(&app.url("/admin/clients?q=100%25")).await;
    assert_eq!(rows(&page.body, "/admin/clients/"), ["100% real"]);
    let id = app.core.clients().await.expect("list")[0]
        .client_id
        .0
        .clone();
    let page = b
        .get(&app.url(&format!("/admin/clients?q={}", &id[..8].to_uppercase())))
        .await;
    assert!(
        !rows(&page.body, "/admin/clients/").is_empty(),
        "by client ID, any case"
    );

    let mut spec = tessera::service::users::UserSpec::new("zed");
    spec.email = Some("Zed.Ops@Example.com".into());
    spec.name = Some("Zedekiah Jones".into());
    app.core
        .create_user(spec, PASSWORD, &Actor::cli())
        .await
        .expect("zed");
    app.user("zara", PASSWORD).await;
    for (q, found) in [
        ("ZE", vec!["zed"]),
        ("zed.ops@", vec!["zed"]),
        ("zedek", vec!["zed"]),
        ("jones", vec![]),
        ("z", vec!["zara", "zed"]),
    ] {
        let page = b.get(&app.url(&format!("/admin/users?q={}", enc(q)))).await;
        assert_eq!(rows(&page.body, "/admin/users/"), found, "{q}");
    }
}

/// The key IDs of the ES256 keys in `state`, as the running server holds them.
fn es256_kids(app: &TestApp, state: &str) -> Vec<String> {
    app.core
        .keys
        .current()
        .info
        .iter()
        .filter(|k| k.alg.as_str() == "ES256" && k.state == state)
        .map(|k| k.kid.clone())
        .collect()
}

/// Checks that the audit log has a `kind` event with the admin as actor.
async fn audited_by_admin(app: &TestApp, kind: &str) {
    let events = app
        .core
        .audit_events(&AuditFilter::default(), None, 100)
        .await
        .expect("events");
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == kind && e.event.actor.as_deref() == Some("admin")),
        "{kind}"
    );
}

/// A failed sign-in as `mallory` from 203.0.113.9: a lockout entry for the account and the IP.
async fn mallory_failed_once(app: &TestApp) {
    if let LoginGate::Open(attempt) = app
        .core
        .begin_login("mallory", "203.0.113.9")
        .await
        .expect("attempt")
    {
        app.core.login_failed(attempt);
    }
}

/// Keys rotate in the console after confirmation; the retired key stays published. Audited.
#[tokio::test]
async fn keys_rotate_from_the_console_after_confirmation() {
    let app = spawn_app().await;
    let (b, page) = admin_on(&app, "/admin/keys").await;
    let csrf = hidden(&page.body, "csrf");
    let (active, next) = (es256_kids(&app, "active"), es256_kids(&app, "next"));
    let asked = b
        .post(
            &app.url("/admin/keys/rotate"),
            &[("csrf", &csrf), ("alg", "ES256")],
        )
        .await;
    assert!(asked.body.contains("Rotate the ES256 key?"));
    assert_eq!(
        es256_kids(&app, "active"),
        active,
        "nothing before confirmation"
    );
    let done = b
        .post(
            &app.url("/admin/keys/rotate"),
            &[("csrf", &csrf), ("alg", "ES256"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(es256_kids(&app, "active"), next);
    assert_eq!(es256_kids(&app, "retired"), active);
    let jwks: serde_json::Value = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert!(
        jwks.to_string().contains(&active[0]),
        "retired keys stay published"
    );
    audited_by_admin(&app, "key.rotated").await;
}

/// A retired key is retired for good (unpublished) from the console; the next key is not, it
/// is rotated in. Audited.
#[tokio::test]
async fn retired_keys_are_unpublished_from_the_console_but_not_the_next_key() {
    let app = spawn_app().await;
    let active = es256_kids(&app, "active");
    app.core
        .rotate_key(tessera::model::SigningAlg::ES256, false, &Actor::cli())
        .await
        .expect("rotate");
    let (b, page) = admin_on(&app, "/admin/keys").await;
    let csrf = hidden(&page.body, "csrf");
    let retired = b
        .post(
            &app.url("/admin/keys/retire"),
            &[("csrf", &csrf), ("kid", &active[0]), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(retired.status, 303, "{}", retired.body);
    assert!(
        es256_kids(&app, "retired").is_empty(),
        "no longer published"
    );
    let refused = b
        .post(
            &app.url("/admin/keys/retire"),
            &[
                ("csrf", &csrf),
                ("kid", &es256_kids(&app, "next")[0]),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(refused.status, 409, "the next key is rotated, not retired");
    audited_by_admin(&app, "key.unpublished").await;
}

/// A lockout clears from the console (the account's; the IP's stays). Audited.
#[tokio::test]
async fn lockouts_clear_from_the_console() {
    let app = spawn_app().await;
    mallory_failed_once(&app).await;
    let (b, page) = admin_on(&app, "/admin/lockouts").await;
    assert!(page.body.contains("account:mallory"), "{}", page.body);
    let cleared = b
        .post(
            &app.url("/admin/lockouts/clear"),
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("key", "account:mallory"),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(cleared.status, 303);
    let left: Vec<String> = app
        .core
        .lockouts()
        .await
        .expect("lockouts")
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert_eq!(left, ["ip:203.0.113.9"]);
    audited_by_admin(&app, "lockout.cleared").await;
}

/// The user page edits the standard claims (OIDC Core §5.1); a refused value comes back next
/// to its field with what was typed kept.
#[tokio::test]
async fn the_user_page_edits_the_standard_claims() {
    let app = spawn_app().await;
    let user = app.user("ada", PASSWORD).await;
    let b = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let path = format!("/admin/users/{}", user.sub);
    let page = b.get(&app.url(&path)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"given_name\""), "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let mut all = vec![("csrf", csrf.as_str()), ("claims", "1")];
        all.extend(fields);
        let b = &b;
        let url = app.url(&format!("{path}/claims"));
        async move { b.post(&url, &all).await }
    };
    let refused = post(vec![
        ("given_name", "Ada"),
        ("website", "ftp://example.com"),
    ])
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("http or https URL of at most"));
    assert!(refused.body.contains("value=\"Ada\""), "typed value kept");

    let saved = post(vec![
        ("given_name", "Ada"),
        ("locale", "en-GB"),
        ("phone_number", "+44 20 7946 0958"),
        ("phone_number_verified", "on"),
        ("address.country", "UK"),
    ])
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = app
        .core
        .user_by_sub(&user.sub)
        .await
        .expect("lookup")
        .expect("user")
        .claims;
    assert_eq!(stored.given_name.as_deref(), Some("Ada"));
    assert_eq!(stored.locale.as_deref(), Some("en-GB"));
    assert!(stored.phone_number_verified);
    assert_eq!(
        stored.address.and_then(|a| a.country).as_deref(),
        Some("UK")
    );
    let page = b.get(&app.url(&path)).await;
    assert!(page.body.contains("value=\"en-GB\""), "{}", page.body);
}
