//! Published keys and server metadata (RFC 7517, RFC 8414), key rotation and removal, first start
//! on an empty database, the master key check, and the health endpoints.

use std::collections::BTreeSet;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tessera::app::Init;
use tessera::crypto::master_key::Keyring;
use tessera::model::SigningAlg;
use tessera::service::ServiceError;

use crate::helpers::{TestApp, fresh_db, open_core, spawn_app};

const API: &str = "https://api.example.com/orders";

/// Members a public JWK must never carry (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn jwt_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    }
}

async fn get_jwks(app: &TestApp) -> Value {
    let r = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .expect("GET /jwks.json");
    assert_eq!(r.status(), 200);
    r.json().await.expect("JWKS is JSON")
}

fn kids(jwks: &Value) -> BTreeSet<String> {
    jwks["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("JWT header")
        .kid
        .expect("kid in header")
}

/// Verifies `token` the way a resource server would: the key named by `kid` from `jwks`, the
/// expected algorithm, issuer and audience, and the RFC 9068 `typ`. Returns the claims.
fn verify_with_jwks(token: &str, jwks: &Value, alg: SigningAlg, issuer: &str, aud: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JWT header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jwt_alg(alg));
    let kid = header.kid.expect("kid");
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} is not published in {jwks}"));
    let jwk: Jwk = serde_json::from_value(jwk.clone()).expect("a valid JWK");
    let key = DecodingKey::from_jwk(&jwk).expect("decoding key from JWK");
    let mut validation = Validation::new(jwt_alg(alg));
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[aud]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("token verifies against the published JWKS")
        .claims
}

/// kid of the key in `state` for `alg`, from the server's in-memory key set.
fn kid_in_state(app: &TestApp, alg: SigningAlg, state: &str) -> String {
    let set = app.core.keys.current();
    let found: Vec<_> = set
        .info
        .iter()
        .filter(|k| k.alg == alg && k.state == state)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one {state} {alg:?} key: {:?}",
        set.info
    );
    found[0].kid.clone()
}

#[tokio::test]
async fn jwks_is_cacheable_and_answers_conditional_requests() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/jwks.json"))
        .header("origin", "https://spa.example.net")
        .send()
        .await
        .expect("GET /jwks.json");
    assert_eq!(r.status(), 200);
    let cache = r.headers()["cache-control"].to_str().expect("ascii");
    assert!(cache.contains("max-age=300"), "{cache}");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let etag = r.headers()["etag"].to_str().expect("ascii").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{etag}"
    );
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["keys"].as_array().expect("keys").len(), 6);

    let r = app
        .http
        .get(app.url("/jwks.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("conditional GET");
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"], etag.as_str());
    assert!(r.text().await.expect("body").is_empty());

    let r = app
        .http
        .get(app.url("/jwks.json"))
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .expect("conditional GET, other tag");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn jwks_publishes_an_active_and_a_next_public_key_per_algorithm() {
    let app = spawn_app().await;
    let jwks = get_jwks(&app).await;
    let keys = jwks["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 6, "{jwks}");
    for (alg, kty, crv) in [
        ("RS256", "RSA", None),
        ("ES256", "EC", Some("P-256")),
        ("EdDSA", "OKP", Some("Ed25519")),
    ] {
        let of_alg: Vec<&Value> = keys.iter().filter(|k| k["alg"] == alg).collect();
        assert_eq!(of_alg.len(), 2, "{alg}: {jwks}");
        for k in of_alg {
            assert_eq!(k["kty"], kty, "{k}");
            assert_eq!(k["use"], "sig", "{k}");
            assert!(k["kid"].as_str().is_some_and(|s| !s.is_empty()), "{k}");
            match crv {
                Some(crv) => assert_eq!(k["crv"], crv, "{k}"),
                None => {
                    assert!(k["n"].is_string() && k["e"].is_string(), "{k}");
                }
            }
            for private in PRIVATE_MEMBERS {
                assert!(
                    k.get(private).is_none(),
                    "{alg} key publishes {private}: {k}"
                );
            }
            // Every published key is usable by a standard library.
            let jwk: Jwk = serde_json::from_value(k.clone()).expect("valid JWK");
            DecodingKey::from_jwk(&jwk).expect("decoding key");
        }
    }
    // The published kids are exactly the server's active and next keys.
    let set = app.core.keys.current();
    let expected: BTreeSet<String> = set.info.iter().map(|k| k.kid.clone()).collect();
    assert_eq!(kids(&jwks), expected);
    for alg in SigningAlg::ALL {
        kid_in_state(&app, alg, "active");
        kid_in_state(&app, alg, "next");
    }
}

#[tokio::test]
async fn metadata_describes_this_server() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .header("origin", "https://spa.example.net")
        .send()
        .await
        .expect("GET metadata");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let m: Value = r.json().await.expect("JSON");
    assert_eq!(m["issuer"], app.base.as_str());
    assert_eq!(m["token_endpoint"], app.url("/token"));
    assert_eq!(m["jwks_uri"], app.url("/jwks.json"));
    assert_eq!(m["introspection_endpoint"], app.url("/introspect"));
    assert_eq!(m["revocation_endpoint"], app.url("/revoke"));
    assert_eq!(
        m["grant_types_supported"],
        serde_json::json!(["authorization_code", "client_credentials", "refresh_token"])
    );
    let methods: BTreeSet<&str> = m["token_endpoint_auth_methods_supported"]
        .as_array()
        .expect("auth methods")
        .iter()
        .map(|v| v.as_str().expect("string"))
        .collect();
    assert_eq!(
        methods,
        BTreeSet::from(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        m["token_endpoint_auth_methods_supported"]
            .as_array()
            .expect("auth methods")
            .len(),
        3
    );
    // OIDC Discovery §3: the OpenID document is the same document, with every REQUIRED field.
    let oidc: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("GET openid-configuration")
        .json()
        .await
        .expect("JSON");
    assert_eq!(oidc, m);
    for field in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "userinfo_endpoint",
    ] {
        assert!(!oidc[field].is_null(), "{field} missing");
    }
    assert_eq!(oidc["id_token_signing_alg_values_supported"][0], "RS256");
    assert_eq!(
        oidc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(oidc["authorization_response_iss_parameter_supported"], true);
    // What the metadata advertises actually answers.
    let jwks = app
        .http
        .get(m["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .expect("GET jwks_uri");
    assert_eq!(jwks.status(), 200);
}

/// An ES256 resource, a client and the state right after the first ES256 rotation.
struct Rotated {
    app: TestApp,
    id: String,
    secret: String,
    issuer: String,
    /// The key active at the start, now retired.
    k1: String,
    /// The seeded next key, now active.
    n1: String,
    /// The next key the rotation published.
    n2: String,
    /// A token k1 signed before the rotation.
    t1: String,
    /// The JWKS before the rotation and its ETag.
    jwks0: Value,
    etag0: reqwest::header::HeaderValue,
    rotated_at: i64,
}

const ALG: SigningAlg = SigningAlg::ES256;

/// A token signed by the active key, then a rotation: the seeded next key was published an
/// hour ago, so it may sign now.
async fn rotated_once() -> Rotated {
    let app = spawn_app().await;
    app.resource(API, ALG).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (
        reg.client.client_id.0.clone(),
        reg.secret.clone().expect("confidential client"),
    );
    let issuer = app.base.clone();
    let k1 = kid_in_state(&app, ALG, "active");
    let n1 = kid_in_state(&app, ALG, "next");
    let t1 = app.access_token(&id, &secret).await;
    assert_eq!(kid_of(&t1), k1);
    let jwks0 = get_jwks(&app).await;
    verify_with_jwks(&t1, &jwks0, ALG, &issuer, API);
    let etag0 = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .expect("GET /jwks.json")
        .headers()["etag"]
        .clone();
    let rotated = rotate(&app).await.expect("first rotation");
    assert_eq!(rotated.kid, n1);
    assert_eq!(rotated.state, "active");
    let rotated_at = app.core.now();
    let n2 = kid_in_state(&app, ALG, "next");
    assert!(n2 != n1 && n2 != k1);
    Rotated {
        app,
        id,
        secret,
        issuer,
        k1,
        n1,
        n2,
        t1,
        jwks0,
        etag0,
        rotated_at,
    }
}

/// An ES256 rotation without force, as the CLI asks for it.
async fn rotate(app: &TestApp) -> Result<tessera::oauth::keys::KeyInfo, ServiceError> {
    app.core
        .rotate_key(ALG, false, &tessera::model::Actor::cli())
        .await
}

/// A new token is signed by the former next key; the old one still verifies.
#[tokio::test]
async fn after_a_rotation_the_former_next_key_signs_and_old_tokens_still_verify() {
    let Rotated {
        app,
        id,
        secret,
        issuer,
        k1,
        n1,
        n2,
        t1,
        jwks0,
        etag0,
        ..
    } = rotated_once().await;
    let t2 = app.access_token(&id, &secret).await;
    assert_eq!(kid_of(&t2), n1);
    assert_ne!(kid_of(&t2), k1);
    let jwks1 = get_jwks(&app).await;
    let published = kids(&jwks1);
    assert!(published.contains(&k1), "retired key still published");
    assert!(
        published.contains(&n1) && published.contains(&n2),
        "{jwks1}"
    );
    assert!(!kids(&jwks0).contains(&n2), "the new next key is new");
    let claims = verify_with_jwks(&t1, &jwks1, ALG, &issuer, API);
    assert_eq!(claims["client_id"], id.as_str());
    verify_with_jwks(&t2, &jwks1, ALG, &issuer, API);
    let retired: Vec<_> = app
        .core
        .keys
        .current()
        .info
        .iter()
        .filter(|k| k.state == "retired")
        .map(|k| k.kid.clone())
        .collect();
    assert_eq!(retired, vec![k1.clone()]);
    // The document changed, so its validator did too.
    let r = app
        .http
        .get(app.url("/jwks.json"))
        .header("if-none-match", etag0)
        .send()
        .await
        .expect("conditional GET");
    assert_eq!(r.status(), 200, "a stale ETag must not get 304");
    assert_eq!(app.introspect(&id, &secret, &t1).await["active"], true);
    assert_eq!(app.introspect(&id, &secret, &t2).await["active"], true);
}

/// The new next key was published just now: verifiers may not have it yet, for 300 s.
#[tokio::test]
async fn a_next_key_published_under_five_minutes_ago_may_not_sign_yet() {
    let r = rotated_once().await;
    let (app, alg) = (&r.app, ALG);
    match rotate(app).await {
        Err(ServiceError::Conflict(message)) => assert!(message.contains(&r.n2), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        kid_in_state(app, alg, "active"),
        r.n1,
        "a refused rotation changes nothing"
    );
    app.clock.advance(299);
    assert!(matches!(rotate(app).await, Err(ServiceError::Conflict(_))));
    app.clock.advance(1);
    let rotated = rotate(app).await.expect("second rotation");
    assert_eq!(rotated.kid, r.n2);
    let t3 = app.access_token(&r.id, &r.secret).await;
    assert_eq!(kid_of(&t3), r.n2);
    // Other algorithms were not touched.
    let jwks2 = get_jwks(app).await;
    assert_eq!(
        kids(&jwks2).len(),
        6 + 2,
        "two retired ES256 keys added: {jwks2}"
    );
    verify_with_jwks(&r.t1, &jwks2, alg, &r.issuer, API);
    assert_eq!(
        app.introspect(&r.id, &r.secret, &r.t1).await["active"],
        true
    );
}

/// Retired keys stay while a token they signed may be valid, then go.
#[tokio::test]
async fn retired_keys_stay_published_while_their_tokens_may_be_valid() {
    let r = rotated_once().await;
    let (app, k1) = (&r.app, &r.k1);
    app.clock.advance(300);
    rotate(app).await.expect("second rotation");
    let ttl = app
        .core
        .resources()
        .await
        .expect("resources")
        .iter()
        .map(|r| r.access_token_ttl)
        .max()
        .expect("a resource");
    let max_age = i64::from(app.core.config.keys.jwks_max_age);
    // The last moment a token signed by k1 can still be valid.
    app.clock.advance(r.rotated_at + ttl - app.core.now());
    app.core.maintain_keys().await.expect("maintenance");
    assert!(
        kids(&get_jwks(app).await).contains(k1),
        "k1 removed too early"
    );

    app.clock.advance(max_age + 1);
    app.core.maintain_keys().await.expect("maintenance");
    let jwks3 = get_jwks(app).await;
    let published = kids(&jwks3);
    assert!(!published.contains(k1), "k1 still published: {jwks3}");
    assert!(
        published.contains(&r.n1),
        "n1 retired 300 s later and must stay: {jwks3}"
    );
    assert!(published.contains(&r.n2));
    assert_eq!(published.len(), 7);
    assert!(app.core.keys.current().info.iter().all(|k| &k.kid != k1));
    // Expired and its key gone: inactive.
    assert_eq!(
        app.introspect(&r.id, &r.secret, &r.t1).await["active"],
        false
    );
}

#[tokio::test]
async fn first_start_generates_keys_once_under_a_race() {
    let db = fresh_db().await;
    let master = Keyring::generate_encoded();
    let (a, b) = tokio::join!(
        open_core(&db.url, &master, Init::Allowed),
        open_core(&db.url, &master, Init::Allowed)
    );
    let a = a.expect("first instance starts");
    let b = b.expect("second instance starts");
    let kids_of = |core: &tessera::state::Core| -> BTreeSet<String> {
        core.keys
            .current()
            .info
            .iter()
            .map(|k| k.kid.clone())
            .collect()
    };
    assert_eq!(kids_of(&a), kids_of(&b));
    assert_eq!(kids_of(&a).len(), 6);
    for core in [&a, &b] {
        let set = core.keys.current();
        for alg in SigningAlg::ALL {
            for state in ["active", "next"] {
                let n = set
                    .info
                    .iter()
                    .filter(|k| k.alg == alg && k.state == state)
                    .count();
                assert_eq!(n, 1, "{alg:?} {state}: {:?}", set.info);
            }
            assert!(set.signer(alg).is_some(), "{alg:?} can sign");
        }
    }
    // Real generation, not the shared test keys.
    let shared = open_core(&db.url, &master, Init::Forbidden)
        .await
        .expect("a third open loads the same keys");
    assert_eq!(kids_of(&shared), kids_of(&a));
    for core in [a, b, shared] {
        core.db.close().await;
    }
}

#[tokio::test]
async fn a_different_master_key_is_refused() {
    let db = fresh_db().await;
    let first = Keyring::generate_encoded();
    let core = open_core(&db.url, &first, Init::Allowed)
        .await
        .expect("first start");
    let kids_before: BTreeSet<String> = core
        .keys
        .current()
        .info
        .iter()
        .map(|k| k.kid.clone())
        .collect();
    core.db.close().await;

    let other = Keyring::generate_encoded();
    assert_ne!(first, other);
    for init in [Init::Allowed, Init::Forbidden] {
        let err = open_core(&db.url, &other, init)
            .await
            .expect_err("a wrong master key must not start");
        let text = err.to_string();
        assert!(text.contains("master key"), "{init:?}: {text}");
    }
    // Nothing was regenerated: the right key still opens the same set.
    let again = open_core(&db.url, &first, Init::Allowed)
        .await
        .expect("right key");
    let kids_after: BTreeSet<String> = again
        .keys
        .current()
        .info
        .iter()
        .map(|k| k.kid.clone())
        .collect();
    assert_eq!(kids_before, kids_after);
    again.db.close().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let get = |path: &str| app.http.get(app.url(path)).send();
    assert_eq!(get("/healthz").await.expect("healthz").status(), 200);
    assert_eq!(get("/readyz").await.expect("readyz").status(), 200);
    app.core.db.close().await;
    assert_eq!(get("/readyz").await.expect("readyz").status(), 503);
    assert_eq!(get("/healthz").await.expect("healthz").status(), 200);
}
