//! Sender-constrained tokens: DPoP-bound (RFC 9449 §7) accepted only with a proof by the bound
//! key, certificate-bound (RFC 8705 §3) only over a connection with the bound certificate.

use serde_json::{Value, json};

use crate::issuer::{EcKey, TestIssuer, sha256_b64};
use crate::support::answer;

/// What a DPoP proof says, each field open to a test's change.
struct Proof {
    htm: &'static str,
    htu: String,
    iat: u64,
    ath: Option<String>,
    jti: String,
}

impl Proof {
    fn for_get(url: &str, now: u64, token: &str) -> Self {
        Self {
            htm: "GET",
            htu: url.to_owned(),
            iat: now,
            ath: Some(sha256_b64(token.as_bytes())),
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }

    fn signed_by(&self, key: &EcKey) -> String {
        let mut claims =
            json!({"jti": self.jti, "htm": self.htm, "htu": self.htu, "iat": self.iat});
        if let Some(ath) = &self.ath {
            claims["ath"] = ath.as_str().into();
        }
        key.sign("dpop+jwt", None, true, &claims)
    }
}

async fn dpop_call(
    url: &str,
    scheme: &str,
    token: &str,
    proof: Option<&str>,
) -> (u16, String, Value) {
    let mut request = reqwest::Client::new()
        .get(url)
        .header("authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    answer(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_dpop_bound_token_needs_a_fresh_proof_by_its_key() {
    let issuer = TestIssuer::start().await;
    let holder = EcKey::generate();
    let service = protected_service_for(&issuer).await;
    let url = format!("{service}/read");
    let token = issuer.access_token(Some(json!({"jkt": holder.thumbprint()})));
    let now = issuer.now();

    let proof = Proof::for_get(&url, now, &token).signed_by(&holder);
    let (status, _, body) = dpop_call(&url, "DPoP", &token, Some(&proof)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sub"], "service-a");
    assert_eq!(body["jkt"], holder.thumbprint());

    // The same proof again: RFC 9449 §11.1 replay.
    let (status, challenge, _) = dpop_call(&url, "DPoP", &token, Some(&proof)).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("invalid_dpop_proof") && challenge.contains("used before"),
        "{challenge}"
    );

    // A stolen token with the thief's key, with the Bearer scheme, or with no proof.
    let thief = EcKey::generate();
    let stolen = Proof::for_get(&url, now, &token).signed_by(&thief);
    let (status, challenge, _) = dpop_call(&url, "DPoP", &token, Some(&stolen)).await;
    assert_eq!(status, 401);
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
    let (status, challenge, _) = dpop_call(&url, "Bearer", &token, None).await;
    assert_eq!(status, 401);
    assert!(
        challenge.starts_with("DPoP algs=\"ES256 EdDSA RS256 PS256\", error=\"invalid_token\""),
        "{challenge}"
    );
    let (status, challenge, _) = dpop_call(&url, "DPoP", &token, None).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_dpop_proof"), "{challenge}");
}

/// One change to a good proof.
type Change = Box<dyn Fn(&mut Proof)>;

/// RFC 9449 §4.3 checks 8-11 and §7.1 `ath`, one at a time on an otherwise good proof.
#[tokio::test]
async fn a_proof_for_another_request_or_token_is_refused() {
    let issuer = TestIssuer::start().await;
    let holder = EcKey::generate();
    let service = protected_service_for(&issuer).await;
    let url = format!("{service}/read");
    let token = issuer.access_token(Some(json!({"jkt": holder.thumbprint()})));
    let other_token = issuer.access_token(Some(json!({"jkt": holder.thumbprint()})));
    let now = issuer.now();
    let cases: Vec<(&str, Change)> = vec![
        ("another method", Box::new(|p| p.htm = "POST")),
        (
            "another URI",
            Box::new(move |p| p.htu = p.htu.replace("/read", "/write")),
        ),
        ("too old", Box::new(move |p| p.iat = now - 120)),
        ("from the future", Box::new(move |p| p.iat = now + 60)),
        ("without ath", Box::new(|p| p.ath = None)),
        (
            "for another token",
            Box::new(move |p| p.ath = Some(sha256_b64(other_token.as_bytes()))),
        ),
    ];
    for (case, change) in cases {
        let mut proof = Proof::for_get(&url, now, &token);
        change(&mut proof);
        let (status, challenge, _) =
            dpop_call(&url, "DPoP", &token, Some(&proof.signed_by(&holder))).await;
        assert_eq!(status, 401, "{case}");
        assert!(
            challenge.contains("invalid_dpop_proof"),
            "{case}: {challenge}"
        );
    }
    // The query string is not part of htu (RFC 9449 §4.3 check 9).
    let proof = Proof::for_get(&url, now, &token).signed_by(&holder);
    let (status, _, body) = dpop_call(&format!("{url}?page=2"), "DPoP", &token, Some(&proof)).await;
    assert_eq!(status, 200, "{body}");
    // A token without cnf.jkt sent with the DPoP scheme is refused.
    let plain = issuer.access_token(None);
    let proof = Proof::for_get(&url, now, &plain).signed_by(&holder);
    let (status, challenge, _) = dpop_call(&url, "DPoP", &plain, Some(&proof)).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("not DPoP-bound"), "{challenge}");
}

/// The verifier of `issuer` in front of the protected routes, with its public URL known.
async fn protected_service_for(issuer: &TestIssuer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let verifier = issuer.verifier().public_base_url(&base).build().unwrap();
    let router = crate::support::protected_router(&verifier);
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}
