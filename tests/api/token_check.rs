//! One check for every endpoint that accepts an access token (`verify_access_token`):
//! /introspect, /userinfo and the admin API refuse the same bad tokens — of a disabled or
//! deleted client, of a disabled user, revoked, expired, or for another audience — each in its
//! own words: `active: false` (RFC 7662 §2.2), `invalid_token` with its challenge (RFC 6750
//! §3.1), and at /userinfo `insufficient_scope` for a good token that is not for it.

use reqwest::Response;
use tessera::model::{Actor, GrantType};
use tessera::service::clients::{ClientSpec, Registered};

use crate::helpers::basic;
use crate::signin::{API, Browser, Setup, enc, setup_with, sign_in_tokens};

const ADMIN_SCOPE: &str = "tessera:admin";

/// A user (alice) signing in to a web app ("Orders Web", granted the API), the API itself
/// introspecting as its resource server, and a service client of the admin API.
struct Fixture {
    s: Setup,
    api_server: (String, String),
    admin: (String, String),
}

fn credentials(r: Registered) -> (String, String) {
    (r.client.client_id.0, r.secret.expect("secret"))
}

async fn fixture() -> Fixture {
    let s = setup_with(|_| {}).await;
    let mut spec = ClientSpec::new("orders API");
    spec.resource_server_for = Some(API.into());
    let api_server = credentials(
        s.app
            .core
            .create_client(spec, &Actor::cli())
            .await
            .expect("resource server client"),
    );
    let mut spec = ClientSpec::new("automation");
    spec.admin_api = true;
    spec.grant_types = vec![GrantType::ClientCredentials];
    spec.resources = vec![s.app.core.admin_api_identifier()];
    let admin = credentials(
        s.app
            .core
            .create_client(spec, &Actor::cli())
            .await
            .expect("admin client"),
    );
    Fixture {
        s,
        api_server,
        admin,
    }
}

/// What a bearer endpoint answered: `ok`, or the error code of a 401/403 after checking that
/// the challenge names the same code as the body (RFC 6750 §3).
async fn bearer_verdict(r: Response) -> String {
    let status = r.status().as_u16();
    if status == 200 {
        return "ok".into();
    }
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.expect("JSON error");
    let code = body["error"].as_str().expect("error code").to_owned();
    let expected_status = if code == "insufficient_scope" {
        403
    } else {
        401
    };
    assert_eq!(status, expected_status, "{body}");
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"tessera\", error=\"{code}\"")),
        "{challenge}"
    );
    code
}

impl Fixture {
    /// A fresh sign-in's access token: for the API and /userinfo when `scope` has `openid`.
    async fn user_token(&self, scope: &str) -> String {
        let tokens = sign_in_tokens(&self.s, &Browser::new(), scope).await;
        tokens["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// A client_credentials token of the admin client for the admin API.
    async fn admin_token(&self) -> String {
        let (id, secret) = &self.admin;
        let extra = format!(
            "&resource={}&scope={}",
            enc(&self.s.app.core.admin_api_identifier()),
            enc(ADMIN_SCOPE)
        );
        let (status, body) = self.s.app.token(id, secret, &extra).await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// /introspect by the API's resource server: `active` or `inactive`.
    async fn introspect(&self, token: &str) -> String {
        let (id, secret) = &self.api_server;
        let answer = self.s.app.introspect(id, secret, token).await;
        match answer["active"].as_bool() {
            Some(true) => "active".into(),
            Some(false) => {
                assert_eq!(answer, serde_json::json!({"active": false}));
                "inactive".into()
            }
            None => panic!("no active in {answer}"),
        }
    }

    async fn userinfo(&self, token: &str) -> String {
        let r = self
            .s
            .app
            .http
            .get(self.s.app.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .expect("userinfo");
        bearer_verdict(r).await
    }

    async fn admin_api(&self, token: &str) -> String {
        let r = self
            .s
            .app
            .http
            .get(self.s.app.url("/admin/api/keys"))
            .bearer_auth(token)
            .send()
            .await
            .expect("admin API");
        bearer_verdict(r).await
    }

    /// The three endpoints on a user token (introspect, userinfo) and an admin token (admin API).
    async fn verdicts(&self, user: &str, admin: &str) -> [String; 3] {
        [
            self.introspect(user).await,
            self.userinfo(user).await,
            self.admin_api(admin).await,
        ]
    }

    async fn set_client_disabled(&self, id: &str, disabled: bool) {
        let core = &self.s.app.core;
        let mut spec = ClientSpec::from_client(&core.client(id).await.expect("client"));
        spec.disabled = disabled;
        core.update_client(id, spec, &Actor::cli())
            .await
            .expect("update");
    }

    async fn revoke(&self, (id, secret): &(String, String), token: &str) {
        let r = self
            .s
            .app
            .post_form(
                "/revoke",
                Some(&basic(id, secret)),
                &format!("token={token}"),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
}

const GOOD: [&str; 3] = ["active", "ok", "ok"];
const REFUSED: [&str; 3] = ["inactive", "invalid_token", "invalid_token"];

#[tokio::test]
async fn tokens_of_a_disabled_client_are_refused_everywhere() {
    let f = fixture().await;
    let user = f.user_token("openid read").await;
    let admin = f.admin_token().await;
    assert_eq!(f.verdicts(&user, &admin).await, GOOD);

    f.set_client_disabled(&f.s.client_id, true).await;
    f.set_client_disabled(&f.admin.0, true).await;
    assert_eq!(f.verdicts(&user, &admin).await, REFUSED);

    f.set_client_disabled(&f.s.client_id, false).await;
    f.set_client_disabled(&f.admin.0, false).await;
    assert_eq!(f.verdicts(&user, &admin).await, GOOD, "enabled again");
}

#[tokio::test]
async fn tokens_of_a_deleted_client_are_refused_everywhere() {
    let f = fixture().await;
    let user = f.user_token("openid read").await;
    let admin = f.admin_token().await;
    assert_eq!(f.verdicts(&user, &admin).await, GOOD);

    for id in [&f.s.client_id, &f.admin.0] {
        f.s.app
            .core
            .delete_client(id, &Actor::cli())
            .await
            .expect("delete");
    }
    assert_eq!(f.verdicts(&user, &admin).await, REFUSED);
}

/// Admin-API tokens are a client's own (no user), so only the endpoints that take a user's
/// token have a user to check.
#[tokio::test]
async fn tokens_of_a_disabled_user_are_refused_everywhere() {
    let f = fixture().await;
    let user = f.user_token("openid read").await;
    assert_eq!(f.introspect(&user).await, "active");
    assert_eq!(f.userinfo(&user).await, "ok");

    let core = &f.s.app.core;
    core.set_user_disabled("alice", true, &Actor::cli())
        .await
        .expect("disable");
    assert_eq!(f.introspect(&user).await, "inactive");
    assert_eq!(f.userinfo(&user).await, "invalid_token");

    core.set_user_disabled("alice", false, &Actor::cli())
        .await
        .expect("enable");
    assert_eq!(f.introspect(&user).await, "active", "enabled again");
    assert_eq!(f.userinfo(&user).await, "ok", "enabled again");
}

#[tokio::test]
async fn revoked_tokens_are_refused_everywhere() {
    let f = fixture().await;
    let user = f.user_token("openid read").await;
    let admin = f.admin_token().await;
    assert_eq!(f.verdicts(&user, &admin).await, GOOD);

    let web = (f.s.client_id.clone(), f.s.secret.clone());
    f.revoke(&web, &user).await;
    f.revoke(&f.admin, &admin).await;
    assert_eq!(f.verdicts(&user, &admin).await, REFUSED);
}

#[tokio::test]
async fn expired_tokens_are_refused_everywhere() {
    let f = fixture().await;
    let user = f.user_token("openid read").await;
    let admin = f.admin_token().await;
    assert_eq!(f.verdicts(&user, &admin).await, GOOD);

    // Past the longest lifetime of the two (the admin API's and the API's, both minutes).
    f.s.app.clock.advance(24 * 3600);
    assert_eq!(f.verdicts(&user, &admin).await, REFUSED);
}

/// RFC 9068 §4: each endpoint takes only tokens meant for it. /userinfo calls a token without
/// its audience (no `openid`) `insufficient_scope`; the admin API `invalid_token`; the API's
/// resource server learns nothing about a token for another resource.
#[tokio::test]
async fn tokens_for_another_audience_are_refused() {
    let f = fixture().await;
    let api_only = f.user_token("read").await;
    let user = f.user_token("openid read").await;
    let admin = f.admin_token().await;
    assert_eq!(f.verdicts(&user, &admin).await, GOOD);

    assert_eq!(f.introspect(&api_only).await, "active", "it is for the API");
    assert_eq!(f.userinfo(&api_only).await, "insufficient_scope");
    assert_eq!(f.admin_api(&api_only).await, "invalid_token");
    assert_eq!(f.admin_api(&user).await, "invalid_token");
    assert_eq!(f.introspect(&admin).await, "inactive");
    assert_eq!(f.userinfo(&admin).await, "insufficient_scope");
}

/// A bad token is refused for what is wrong with it, whatever it was sent to: a revoked token
/// for another audience is `invalid_token` at /userinfo too, not `insufficient_scope`.
#[tokio::test]
async fn a_bad_token_is_invalid_before_it_is_misdirected() {
    let f = fixture().await;
    let api_only = f.user_token("read").await;
    let web = (f.s.client_id.clone(), f.s.secret.clone());
    f.revoke(&web, &api_only).await;
    assert_eq!(f.userinfo(&api_only).await, "invalid_token");
    assert_eq!(f.admin_api(&api_only).await, "invalid_token");
    assert_eq!(f.introspect(&api_only).await, "inactive");
}
