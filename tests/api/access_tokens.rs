//! One decision for every endpoint that accepts an access token (`verify_access_token`): a
//! token whose client was disabled or deleted is refused at /userinfo as at /introspect.

use tessera::model::Actor;
use tessera::service::clients::ClientSpec;

use crate::signin::{Browser, Setup, setup_with, sign_in_tokens};

/// /userinfo with `token`: the status and the `WWW-Authenticate` challenge.
async fn userinfo(s: &Setup, token: &str) -> (u16, String) {
    let r = s
        .app
        .http
        .get(s.app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo");
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), challenge)
}

async fn set_disabled(s: &Setup, disabled: bool) {
    let client = s.app.core.client(&s.client_id).await.expect("client");
    let mut spec = ClientSpec::from_client(&client);
    spec.disabled = disabled;
    s.app
        .core
        .update_client(&s.client_id, spec, &Actor::cli())
        .await
        .expect("update");
}

/// RFC 6750 §3.1: the token of a disabled or deleted client is `invalid_token` (401).
#[tokio::test]
async fn userinfo_refuses_tokens_of_a_disabled_or_deleted_client() {
    let s = setup_with(|_| {}).await;
    let b = Browser::new();
    let tokens = sign_in_tokens(&s, &b, "openid profile").await;
    let token = tokens["access_token"].as_str().expect("access token");
    assert_eq!(userinfo(&s, token).await.0, 200);

    set_disabled(&s, true).await;
    let (status, challenge) = userinfo(&s, token).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    set_disabled(&s, false).await;
    assert_eq!(userinfo(&s, token).await.0, 200, "enabled again");

    s.app
        .core
        .delete_client(&s.client_id, &Actor::cli())
        .await
        .expect("delete");
    let (status, challenge) = userinfo(&s, token).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}
