//! The algorithm rules: PS256 verifies; a token must use the algorithm its key is published
//! for, and a key of the right kind for it.

use serde_json::json;

use crate::issuer::{KID, RSA_KID, TestIssuer};
use crate::support::call;

#[tokio::test]
async fn ps256_verifies_and_the_key_decides_the_algorithm() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().build().unwrap();
    let service = crate::support::protected_service(&verifier).await;
    let url = format!("{service}/read");
    let claims = issuer.claims(None);

    let ps256 = issuer.sign_rsa(
        &json!({"alg": "PS256", "typ": "at+jwt", "kid": RSA_KID}),
        &claims,
    );
    let (status, _, body) = call(&url, Some(&format!("Bearer {ps256}"))).await;
    assert_eq!(status, 200, "{body}");

    // The RSA key is published for PS256: a header saying RS256 is refused before verifying.
    let rs256 = issuer.sign_rsa(
        &json!({"alg": "RS256", "typ": "at+jwt", "kid": RSA_KID}),
        &claims,
    );
    let (status, challenge, _) = call(&url, Some(&format!("Bearer {rs256}"))).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("does not sign with this algorithm"),
        "{challenge}"
    );

    // An RSA signature under the EC key's kid: the key is not of the kind the algorithm needs.
    let swapped = issuer.sign_rsa(
        &json!({"alg": "PS256", "typ": "at+jwt", "kid": KID}),
        &claims,
    );
    let (status, challenge, _) = call(&url, Some(&format!("Bearer {swapped}"))).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("does not sign with this algorithm"),
        "{challenge}"
    );

    // A verifier narrowed to ES256 refuses PS256 outright.
    let narrow = issuer
        .verifier()
        .algorithms(&[tessera_verify::Algorithm::ES256])
        .build()
        .unwrap();
    let narrow_service = crate::support::protected_service(&narrow).await;
    let (status, challenge, _) = call(
        &format!("{narrow_service}/read"),
        Some(&format!("Bearer {ps256}")),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("algorithm is not accepted"),
        "{challenge}"
    );
}

/// RFC 8693 §4.1: a delegation chain reaches the handler, outermost actor first, with the raw
/// claims beside it.
#[tokio::test]
async fn the_act_chain_and_raw_claims_reach_the_handler() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().build().unwrap();
    let service = crate::support::protected_service(&verifier).await;
    let mut claims = issuer.claims(None);
    claims["sub"] = "user-7".into();
    claims["act"] = json!({"sub": "service-a", "act": {"sub": "gateway"}});
    let token = issuer.key.sign("at+jwt", Some(KID), false, &claims);
    let (status, _, body) = call(&format!("{service}/any"), Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sub"], "user-7");
    assert_eq!(body["actors"], json!(["service-a", "gateway"]));
    assert_eq!(body["jti"], claims["jti"]);
}
