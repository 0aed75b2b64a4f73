//! No input gives a 5xx: every route (protocol, pages, console, admin API) gets NUL bytes and
//! invalid UTF-8 in its query, form or JSON body, headers and path segments, signed in where the
//! route needs it, and answers with a client error. PostgreSQL refuses NUL in text, so this
//! matters most there (`TEST_DATABASE_URL`).

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tessera::model::{Actor, GrantType};
use tessera::service::clients::ClientSpec;

use crate::console::console_session;
use crate::helpers::{ADMIN_PASSWORD, TestApp, spawn_app};
use crate::signin::hidden;

/// Parameter names the routes read, each sent with the bad value.
const NAMES: &[&str] = &[
    "client_id",
    "client_secret",
    "grant_type",
    "scope",
    "resource",
    "state",
    "nonce",
    "redirect_uri",
    "response_type",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "token_type_hint",
    "id_token_hint",
    "post_logout_redirect_uri",
    "login_hint",
    "prompt",
    "username",
    "password",
    "next",
    "q",
    "after",
    "after_id",
    "kind",
    "actor",
    "since",
    "limit",
    "name",
    "identifier",
    "sub",
    "kid",
    "target",
    "confirm",
    "email",
    "current",
    "new",
    "request",
    "decision",
    "redirect_uris",
    "allowed_origins",
];

/// Encoded values: NUL and invalid UTF-8, alone and inside text.
const ENCODED: &[&str] = &["%00", "a%00b", "%FF", "a%FF%FEb", "%C3%28"];

fn query(value: &str) -> String {
    NAMES
        .iter()
        .map(|n| format!("{n}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Bad header values (obs-text bytes: HTTP cannot carry NUL in a header).
fn bad_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in [
        ("authorization", &b"Basic \xff\xfe\x80"[..]),
        ("cookie", b"tessera_session=\xff\x80; x=\xfe"),
        ("origin", b"https://\xff.example"),
        ("x-forwarded-for", b"\xff\x80"),
        ("forwarded", b"for=\xff"),
        ("x-request-id", b"\xff\xfe"),
        ("traceparent", b"00-\xff"),
        ("accept-language", b"\xff"),
    ] {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_bytes(value).expect("obs-text is a valid header value"),
        );
    }
    h
}

struct Walk<'a> {
    app: &'a TestApp,
    failures: Vec<String>,
}

impl Walk<'_> {
    /// A request whose path or query holds `%00` must get exactly 400 with a JSON error or an
    /// HTML page; every request must get something other than a 5xx.
    async fn send(&mut self, req: reqwest::RequestBuilder, what: &str) {
        let nul_in_url = req
            .try_clone()
            .and_then(|r| r.build().ok())
            .is_some_and(|r| r.url().as_str().contains("%00"));
        match req.send().await {
            Ok(r) if nul_in_url => {
                let status = r.status();
                let kind = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if status != 400
                    || !(kind.starts_with("application/json") || kind.starts_with("text/html"))
                {
                    self.failures
                        .push(format!("{what}: {status} {kind}, not a 400"));
                }
            }
            Ok(r) if r.status().is_server_error() => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                let cut: String = body.chars().take(200).collect();
                self.failures.push(format!("{what}: {status} {cut}"));
            }
            Ok(_) => {}
            Err(e) => self.failures.push(format!("{what}: no answer: {e}")),
        }
    }

    /// Every bad variant against one route.
    async fn route(
        &mut self,
        http: &reqwest::Client,
        method: Method,
        path: &str,
        extra_form: &str,
        auth: Option<&str>,
    ) {
        let url = |p: &str, q: &str| self.app.url(&format!("{p}?{q}"));
        let with_auth = |r: reqwest::RequestBuilder| match auth {
            Some(a) => r.header("authorization", a),
            None => r,
        };
        for v in ENCODED {
            let paths = [path.replace("{}", v), path.replace("{}", "x")];
            for p in &paths {
                let r = with_auth(http.request(method.clone(), url(p, &query(v))));
                self.send(r, &format!("{method} {p} query {v}")).await;
                if method != Method::GET {
                    let r = with_auth(http.request(method.clone(), self.app.url(p)))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(format!("{extra_form}&{}", query(v)));
                    self.send(r, &format!("{method} {p} form {v}")).await;
                }
            }
        }
        let p = path.replace("{}", "x");
        let mut raw = extra_form.as_bytes().to_vec();
        for n in NAMES {
            raw.extend_from_slice(format!("&{n}=").as_bytes());
            raw.extend_from_slice(b"a\xff\x00b");
        }
        if method != Method::GET {
            let r = with_auth(http.request(method.clone(), self.app.url(&p)))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(raw);
            self.send(r, &format!("{method} {p} raw form bytes")).await;
        }
        let r = http
            .request(method.clone(), self.app.url(&p))
            .headers(bad_headers());
        self.send(r, &format!("{method} {p} headers")).await;
    }
}

/// Protocol endpoints, pages and the console ("{}" marks a path segment that gets the bad
/// value too).
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/authorize"),
    ("POST", "/authorize"),
    ("POST", "/token"),
    ("OPTIONS", "/token"),
    ("POST", "/introspect"),
    ("POST", "/revoke"),
    ("GET", "/userinfo"),
    ("POST", "/userinfo"),
    ("GET", "/jwks.json"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/consent"),
    ("POST", "/consent"),
    ("GET", "/logout"),
    ("POST", "/logout"),
    ("GET", "/static/{}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/admin"),
    ("GET", "/admin/password"),
    ("POST", "/admin/password"),
    ("GET", "/admin/clients"),
    ("POST", "/admin/clients"),
    ("GET", "/admin/clients/new"),
    ("GET", "/admin/clients/{}"),
    ("POST", "/admin/clients/{}"),
    ("POST", "/admin/clients/{}/rotate"),
    ("POST", "/admin/clients/{}/delete"),
    ("GET", "/admin/resources"),
    ("POST", "/admin/resources"),
    ("GET", "/admin/resources/new"),
    ("GET", "/admin/resources/edit"),
    ("POST", "/admin/resources/update"),
    ("POST", "/admin/resources/delete"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("GET", "/admin/users/new"),
    ("GET", "/admin/users/{}"),
    ("POST", "/admin/users/{}"),
    ("POST", "/admin/users/{}/password"),
    ("POST", "/admin/users/{}/disabled"),
    ("POST", "/admin/users/{}/revoke"),
    ("GET", "/admin/keys"),
    ("POST", "/admin/keys/rotate"),
    ("POST", "/admin/keys/retire"),
    ("GET", "/admin/lockouts"),
    ("POST", "/admin/lockouts/clear"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/audit/{}"),
    ("GET", "/"),
];

/// JSON bodies for the admin API with NUL (`\u0000`) in every string field it may read.
fn bad_json() -> Value {
    let s = "a\u{0}b";
    serde_json::json!({
        "name": s, "identifier": s, "username": s, "email": s, "password": s,
        "redirect_uris": [s], "post_logout_redirect_uris": [s], "allowed_origins": [s],
        "grant_types": [s], "resources": [s], "scopes": [{"name": s, "description": s}],
        "scope": s, "default_resource": s, "default_scopes": s, "signing_alg": s,
        "resource_server_for": s, "auth_method": s, "application_type": s, "id_token_alg": s,
        "target": s, "kid": s, "alg": s,
    })
}

#[tokio::test]
async fn nul_bytes_and_invalid_utf8_never_give_a_server_error() {
    let app = spawn_app().await;
    let mut spec = ClientSpec::new("admin automation");
    spec.admin_api = true;
    spec.grant_types = vec![GrantType::ClientCredentials];
    spec.resources = vec![app.core.admin_api_identifier()];
    let reg = app
        .core
        .create_client(spec, &Actor::cli())
        .await
        .expect("admin client");
    let (id, secret) = (reg.client.client_id.0, reg.secret.expect("secret"));
    let form = format!(
        "grant_type=client_credentials&resource={}&scope=tessera%3Aadmin",
        crate::signin::enc(&app.core.admin_api_identifier())
    );
    let r = app
        .post_form("/token", Some(&crate::helpers::basic(&id, &secret)), &form)
        .await;
    let token: Value = r.json().await.expect("token");
    let bearer = format!("Bearer {}", token["access_token"].as_str().expect("token"));

    let console = console_session(&app, "admin", ADMIN_PASSWORD).await;
    let page = console.get(&app.url("/admin/clients/new")).await;
    let csrf = format!("csrf={}", hidden(&page.body, "csrf"));
    let mut walk = Walk {
        app: &app,
        failures: Vec::new(),
    };
    for (method, path) in ROUTES {
        let method: Method = method.parse().expect("method");
        // Signed out, then in the console session with its CSRF token.
        walk.route(&app.http, method.clone(), path, "", None).await;
        if path.starts_with("/admin") || path.starts_with("/consent") || path.starts_with("/logout")
        {
            walk.route(&console.http, method, path, &csrf, None).await;
        }
    }

    // The admin API, every route from its own OpenAPI document, with the admin token.
    let doc: Value = app
        .http
        .get(app.url("/admin/api/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() > 5, "{doc}");
    for (path, ops) in paths {
        let template: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let full = format!("/admin/api{template}");
        for method in ops.as_object().expect("operations").keys() {
            let method: Method = method.to_uppercase().parse().expect("method");
            walk.route(&app.http, method.clone(), &full, "", Some(&bearer))
                .await;
            for v in ENCODED {
                let p = full.replace("{}", v);
                let r = app
                    .http
                    .request(method.clone(), app.url(&p))
                    .header("authorization", &bearer)
                    .json(&bad_json());
                walk.send(r, &format!("{method} {p} JSON with NUL")).await;
            }
        }
    }
    assert!(
        walk.failures.is_empty(),
        "{} bad answers:\n{}",
        walk.failures.len(),
        walk.failures.join("\n")
    );
}
