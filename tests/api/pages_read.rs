//! Pages people read (issue 15, point 10): the audit log by name with each event's own page,
//! form errors a screen reader can find, and `GET /` saying what the server is.

use fantoccini::Locator;
use tessera::model::Actor;
use tessera::model::{AuditFilter, StoredEvent};
use tessera::service::clients::ClientSpec;

use crate::browser::{WAIT, chromium, click, fill, sign_in, wait_for_url};
use crate::console::console_session;
use crate::helpers::web::Page;
use crate::helpers::{ADMIN_PASSWORD, TestApp, basic, spawn_app};
use crate::signin::{Browser, hidden};

/// Every `aria-describedby` in `body` points at an element that is there, every error message
/// has an id, and each invalid field is described by one.
fn check_error_markup(what: &str, body: &str) {
    for (i, _) in body.match_indices("aria-describedby=\"") {
        let rest = &body[i + "aria-describedby=\"".len()..];
        let ids = &rest[..rest.find('"').expect("closing quote")];
        for id in ids.split_whitespace() {
            assert!(
                body.contains(&format!("id=\"{id}\"")),
                "{what}: aria-describedby={id} names no element"
            );
        }
    }
    for (i, _) in body.match_indices("<p class=\"error\"") {
        assert!(
            body[i..].starts_with("<p class=\"error\" id=\""),
            "{what}: an error message without an id: {}",
            &body[i..i + 80.min(body.len() - i)]
        );
    }
    for (i, _) in body.match_indices("aria-invalid=\"true\"") {
        let tag_end = body[i..].find('>').expect("tag end") + i;
        assert!(
            body[i..tag_end].contains("aria-describedby=\""),
            "{what}: an invalid field without a description"
        );
    }
}

/// The opening tag of the element with `id`.
fn tag<'a>(body: &'a str, element: &str, id: &str) -> &'a str {
    let start = body
        .find(&format!("<{element} id=\"{id}\""))
        .unwrap_or_else(|| panic!("no <{element} id={id}> in {body}"));
    let end = body[start..].find('>').expect("tag end") + start;
    &body[start..=end]
}

async fn admin(app: &TestApp) -> Browser {
    console_session(app, "admin", ADMIN_PASSWORD).await
}

/// A client, a user, a deleted client, a failed client authentication and a console sign-in:
/// the audit page names the client and the users, linked, and shows the deleted id unlinked.
#[tokio::test]
async fn the_audit_log_names_clients_and_users_and_links_them() {
    let app = spawn_app().await;
    let orders = app
        .core
        .create_client(ClientSpec::new("Orders Web"), &Actor::cli())
        .await
        .expect("client");
    let orders_id = orders.client.client_id.0.clone();
    let secret = orders.secret.clone().expect("a confidential client");
    let gone = app.client(&[]).await.client.client_id.0.clone();
    app.core
        .delete_client(&gone, &Actor::cli())
        .await
        .expect("delete");
    let alice = app.user("alice", "correct horse battery").await;
    let refused = app
        .post_form(
            "/token",
            Some(basic(&orders_id, &format!("{secret}x")).as_str()),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(refused.status(), 401);
    let b = admin(&app).await;
    app.core.audit.flush().await.expect("flush");
    let admin_sub = app
        .core
        .user_by_username("admin")
        .await
        .expect("lookup")
        .expect("admin")
        .sub;

    let page = b.get(&app.url("/admin/audit")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    let orders_link = format!("<a href=\"/admin/clients/{orders_id}\">Orders Web</a>");
    // client.created (target), client_auth.failed (actor and client).
    assert!(
        body.matches(&orders_link).count() >= 3,
        "the client by name, linked: {body}"
    );
    assert!(
        body.contains(&format!("<a href=\"/admin/users/{}\">alice</a>", alice.sub)),
        "user.created names alice: {body}"
    );
    // login.succeeded records the admin's sub as its target, and the admin as actor.
    assert!(
        body.matches(&format!("<a href=\"/admin/users/{admin_sub}\">admin</a>"))
            .count()
            >= 2,
        "login.succeeded names the admin: {body}"
    );
    assert!(!body.contains(&format!(">{admin_sub}<")), "no raw sub");
    // The deleted client: its id, as recorded, without a link.
    assert!(
        body.contains(&format!("<td class=\"name\">{gone}</td>")),
        "{body}"
    );
    assert!(!body.contains(&format!("href=\"/admin/clients/{gone}\"")));
    // Event types stay whole; each row opens its event.
    assert!(body.contains("<code class=\"kind\">client_auth.failed</code>"));
    let events = app
        .core
        .audit_events(&AuditFilter::default(), None, 100)
        .await
        .expect("events");
    for e in &events {
        assert!(
            body.contains(&format!("href=\"/admin/audit/{}\"", e.id)),
            "a link to event {} ({})",
            e.id,
            e.event.kind
        );
    }
    let css = b.get(&app.url("/static/admin.css")).await.body;
    assert!(css.contains("code.kind { white-space: nowrap;"), "{css}");
}

/// A client "Orders Web" whose authentication at /token just failed, with the
/// `client_auth.failed` event that recorded it.
async fn failed_client_auth(app: &TestApp) -> (String, StoredEvent) {
    let orders = app
        .core
        .create_client(ClientSpec::new("Orders Web"), &Actor::cli())
        .await
        .expect("client");
    let id = orders.client.client_id.0;
    let refused = app
        .post_form(
            "/token",
            Some(basic(&id, "not the secret").as_str()),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(refused.status(), 401);
    app.core.audit.flush().await.expect("flush");
    let failed = AuditFilter {
        kind: Some("client_auth.failed".into()),
        ..AuditFilter::default()
    };
    let events = app
        .core
        .audit_events(&failed, None, 10)
        .await
        .expect("events");
    let e = events
        .into_iter()
        .next()
        .expect("a client_auth.failed event");
    (id, e)
}

/// An event's own page shows every field it recorded, its detail field by field.
#[tokio::test]
async fn an_events_page_shows_every_field() {
    let app = spawn_app().await;
    let (id, e) = failed_client_auth(&app).await;
    let b = admin(&app).await;

    let page = b.get(&app.url(&format!("/admin/audit/{}", e.id))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(body.contains(&format!("Event {}", e.id)), "{body}");
    assert!(body.contains("<code class=\"kind\">client_auth.failed</code>"));
    assert!(body.contains(&format!("({})", e.event.at)), "the unix time");
    assert!(body.contains("<dd>failure</dd>"), "the outcome");
    assert!(
        body.contains(&format!("<dd>{}</dd>", e.event.count)),
        "the count"
    );
    let link =
        format!("<a href=\"/admin/clients/{id}\">Orders Web</a> <code class=\"hint\">{id}</code>");
    assert!(body.matches(&link).count() >= 2, "actor and client: {body}");
    let ip = e.event.ip.as_deref().expect("an IP");
    assert!(body.contains(&format!("<dd>{ip}</dd>")), "{body}");
    let detail = e.event.detail.as_ref().expect("detail");
    let fields = detail.as_object().expect("an object");
    assert!(!fields.is_empty());
    for (name, value) in fields {
        assert!(
            body.contains(&format!("<dt><code>{name}</code></dt>")),
            "{name}"
        );
        let shown = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        assert!(
            body.contains(&format!("<dd><code>{shown}</code></dd>")),
            "{name}: {body}"
        );
    }

    // An admin change: its detail is the object as it then stood.
    let created = AuditFilter {
        kind: Some("client.created".into()),
        ..AuditFilter::default()
    };
    let created = app
        .core
        .audit_events(&created, None, 1)
        .await
        .expect("events");
    let page = b
        .get(&app.url(&format!("/admin/audit/{}", created[0].id)))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<dt>Actor</dt><dd>cli</dd>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<dt><code>name</code></dt><dd><code>Orders Web</code></dd>")
    );

    for missing in ["/admin/audit/999999", "/admin/audit/not-a-number"] {
        let page = b.get(&app.url(missing)).await;
        assert_eq!(page.status, 404, "{missing}");
        assert!(page.body.contains("<html"), "an HTML page");
    }
}

/// `GET /` is a small HTML page: what this is, the issuer, the console, discovery and keys.
#[tokio::test]
async fn the_home_page_says_what_the_server_is() {
    let app = spawn_app().await;
    let r = app.http.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(r.headers().contains_key("content-security-policy"));
    let body = r.text().await.expect("body");
    assert!(body.contains("Tessera"));
    assert!(body.contains("OpenID Connect"));
    assert!(body.contains(app.core.issuer()), "{body}");
    for href in ["/admin", "/.well-known/openid-configuration", "/jwks.json"] {
        assert!(body.contains(&format!("href=\"{href}\"")), "{href}: {body}");
    }
    // The discovery document it links to is there.
    let r = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery");
    assert_eq!(r.status(), 200);
}

/// An admin's console session on the new-client form: the blank form and the session's CSRF
/// token, which every console form takes.
struct ConsoleForm {
    app: TestApp,
    b: Browser,
    blank: String,
    csrf: String,
}

async fn console_form() -> ConsoleForm {
    let app = spawn_app().await;
    let b = admin(&app).await;
    let blank = b.get(&app.url("/admin/clients/new")).await.body;
    let csrf = hidden(&blank, "csrf");
    ConsoleForm {
        app,
        b,
        blank,
        csrf,
    }
}

/// POSTs `fields` (and the CSRF token) to the console form at `path`; the answer's error markup
/// must hold together.
async fn post_form(f: &ConsoleForm, path: &str, what: &str, fields: &[(&str, &str)]) -> Page {
    let mut all = vec![("csrf", f.csrf.as_str())];
    all.extend_from_slice(fields);
    let page = f.b.post(&f.app.url(path), &all).await;
    check_error_markup(what, &page.body);
    page
}

/// A refused client form marks each field with an error (`aria-invalid`) and points it at a
/// message that names the field.
#[tokio::test]
async fn form_errors_are_marked_for_screen_readers() {
    let f = console_form().await;
    check_error_markup("a blank client form", &f.blank);
    assert!(!f.blank.contains("aria-invalid"));

    // Errors found by the form itself, several at once.
    let refused = post_form(
        &f,
        "/admin/clients",
        "client form",
        &[
            ("name", "Billing"),
            ("kind", "confidential"),
            ("access_token_ttl", "soon"),
            ("scopes", "a\"b"),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let ttl = tag(&refused.body, "input", "access_token_ttl");
    assert!(ttl.contains("aria-invalid=\"true\""), "{ttl}");
    assert!(
        ttl.contains("aria-describedby=\"access_token_ttl-error\""),
        "{ttl}"
    );
    assert!(refused.body.contains(
        "<p class=\"error\" id=\"access_token_ttl-error\">Access-token lifetime: must be a whole number"
    ));
    assert!(tag(&refused.body, "input", "scopes").contains("aria-invalid=\"true\""));
    assert!(
        refused
            .body
            .contains("id=\"scopes-error\">Granted scopes: ")
    );
    assert!(!tag(&refused.body, "input", "name").contains("aria-invalid"));
}

/// An error from the service layer is marked on its field like the form's own.
#[tokio::test]
async fn service_errors_are_marked_for_screen_readers() {
    let f = console_form().await;
    let refused = post_form(
        &f,
        "/admin/clients",
        "client form",
        &[
            ("name", "Billing"),
            ("kind", "confidential"),
            ("auth_method", "client_secret_basic"),
            ("id_token_alg", "RS256"),
            ("grant_types", "authorization_code"),
            ("redirect_uris", "http://billing.example.com/cb"),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        tag(&refused.body, "textarea", "redirect_uris")
            .contains("aria-invalid=\"true\" aria-describedby=\"redirect_uris-error\"")
    );
    assert!(
        refused
            .body
            .contains("id=\"redirect_uris-error\">Redirect URIs: ")
    );
}

/// The user form, the password form and the audit filter mark their errors the same way.
#[tokio::test]
async fn user_password_and_audit_filter_errors_are_marked_for_screen_readers() {
    let f = console_form().await;
    let refused = post_form(
        &f,
        "/admin/users",
        "new user",
        &[("username", "no spaces allowed"), ("password", "x")],
    )
    .await;
    assert!(
        refused.body.contains("aria-invalid=\"true\""),
        "{}",
        refused.body
    );
    let refused = post_form(
        &f,
        "/admin/password",
        "password",
        &[
            ("current_password", ADMIN_PASSWORD),
            ("password", "a long new password"),
            ("confirm", "another long password"),
        ],
    )
    .await;
    assert!(tag(&refused.body, "input", "confirm").contains("aria-describedby=\"confirm-error\""));
    assert!(
        refused
            .body
            .contains("id=\"confirm-error\">Repeated password: ")
    );

    // The audit filter's dates.
    let page = f.b.get(&f.app.url("/admin/audit?from=yesterday")).await;
    check_error_markup("audit filter", &page.body);
    assert!(tag(&page.body, "input", "from").contains("aria-describedby=\"from-error\""));
    assert!(!tag(&page.body, "input", "until").contains("aria-invalid"));
}

/// The sign-in page's one message covers both fields.
#[tokio::test]
async fn the_sign_in_error_is_marked_on_both_fields() {
    let app = spawn_app().await;
    let visitor = Browser::new();
    let login = visitor.get(&app.url("/login?next=%2Fadmin")).await;
    let csrf = hidden(&login.body, "csrf");
    let wrong = visitor
        .post(
            &app.url("/login"),
            &[
                ("csrf", &csrf),
                ("next", "/admin"),
                ("username", "admin"),
                ("password", "not the password"),
            ],
        )
        .await;
    check_error_markup("sign-in", &wrong.body);
    for id in ["username", "password"] {
        let field = tag(&wrong.body, "input", id);
        assert!(
            field.contains("aria-invalid=\"true\" aria-describedby=\"login-error\""),
            "{field}"
        );
    }
    assert!(
        wrong
            .body
            .contains("id=\"login-error\">Incorrect username or password.")
    );
}

/// Screenshots of the pages this point built or changed that the console and browser runs do
/// not cover: the home page and an audit event, plus the client page's sections with errors.
#[tokio::test]
#[ignore = "writes screenshots; run scripts/screenshots"]
async fn screenshots() {
    let dir = std::env::var_os("SCREENSHOT_DIR").map(std::path::PathBuf::from);
    let dir = dir.as_deref();
    let app = spawn_app().await;
    let (id, event) = failed_client_auth(&app).await;
    let event = event.id;

    let (_driver, c) = chromium(true).await;
    let mut problems = Vec::new();
    c.goto(&app.url("/")).await.expect("open /");
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("main h1"))
        .await
        .expect("the home page");
    problems.extend(crate::browser::photograph(&c, dir, "home").await);

    c.goto(&app.url("/admin")).await.expect("open /admin");
    wait_for_url(&c, "the sign-in page", |u| u.path() == "/login").await;
    sign_in(&c, "admin", ADMIN_PASSWORD).await;
    wait_for_url(&c, "the console", |u| u.path() == "/admin/clients").await;
    c.goto(&app.url(&format!("/admin/audit/{event}")))
        .await
        .expect("open the event");
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("main h1"))
        .await
        .expect("the event page");
    problems.extend(crate::browser::photograph(&c, dir, "admin-audit-event").await);

    c.goto(&app.url(&format!("/admin/clients/{id}")))
        .await
        .expect("open the client");
    fill(&c, "access_token_ttl", "soon").await;
    fill(&c, "redirect_uris", "http://app.example.com/cb").await;
    click(&c, "form.form button.primary").await;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("p.error"))
        .await
        .expect("the refused form");
    // The refused fields, not the top of the form (that is console::screenshots' admin-client).
    c.execute(
        "document.querySelector('[aria-invalid=true]').closest('fieldset.section').scrollIntoView();",
        vec![],
    )
    .await
    .expect("scroll");
    problems.extend(crate::browser::photograph(&c, dir, "admin-client-sections-errors").await);
    c.close().await.expect("close");
    assert!(problems.is_empty(), "{problems:#?}");
}
