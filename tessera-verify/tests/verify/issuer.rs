//! A small issuer of the tests' own (discovery and a JWKS with one ES256 key) for tokens
//! Tessera does not issue yet: DPoP-bound and certificate-bound ones.

use std::sync::Arc;

use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PSS_SHA256, RsaKeyPair,
};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tessera::TestClock;
use tessera_verify::{Verifier, VerifierBuilder};

use crate::support::SharedClock;

/// A P-256 key pair: its private key for jsonwebtoken and its public JWK.
pub struct EcKey {
    pub encoding: EncodingKey,
    pub public_jwk: Value,
}

impl EcKey {
    pub fn generate() -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        let point = pair.public_key().as_ref(); // 0x04 ‖ x ‖ y
        Self {
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            public_jwk: json!({
                "kty": "EC",
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..]),
            }),
        }
    }

    /// RFC 7638 §3.2: SHA-256 over the required members in lexicographic order, computed here
    /// apart from the verifier's own code.
    pub fn thumbprint(&self) -> String {
        let j = &self.public_jwk;
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":{},"y":{}}}"#,
            j["x"], j["y"]
        );
        sha256_b64(canonical.as_bytes())
    }

    pub fn jwk(&self) -> Jwk {
        serde_json::from_value(self.public_jwk.clone()).unwrap()
    }

    /// A JWS of `claims` with `typ`, and the public key in the header when `embed_jwk`.
    pub fn sign(&self, typ: &str, kid: Option<&str>, embed_jwk: bool, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(typ.to_owned());
        header.kid = kid.map(str::to_owned);
        header.jwk = embed_jwk.then(|| self.jwk());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

pub fn sha256_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

pub const KID: &str = "test-key-1";
/// The issuer's RSA key, published for PS256 only.
pub const RSA_KID: &str = "test-rsa-1";
pub const AUDIENCE: &str = "https://orders.test";

pub struct TestIssuer {
    pub base: String,
    pub key: EcKey,
    pub rsa: RsaKeyPair,
    pub clock: TestClock,
}

impl TestIssuer {
    pub async fn start() -> Self {
        let key = EcKey::generate();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut jwk = key.public_jwk.clone();
        jwk["kid"] = KID.into();
        jwk["alg"] = "ES256".into();
        let metadata = Arc::new(json!({"issuer": base, "jwks_uri": format!("{base}/jwks")}));
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let rsa_jwk = json!({
            "kty": "RSA", "kid": RSA_KID, "alg": "PS256", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(rsa.public_key().modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(rsa.public_key().exponent().big_endian_without_leading_zero()),
        });
        let jwks = Arc::new(json!({"keys": [jwk, rsa_jwk]}));
        let router = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { axum::Json((*metadata).clone()) }),
            )
            .route(
                "/jwks",
                get(move || async move { axum::Json((*jwks).clone()) }),
            );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            base,
            key,
            rsa,
            clock: TestClock::new(),
        }
    }

    pub fn now(&self) -> u64 {
        use tessera_verify::Clock;
        SharedClock(self.clock.clone()).now()
    }

    pub fn verifier(&self) -> VerifierBuilder {
        Verifier::builder(&self.base, AUDIENCE).clock(Arc::new(SharedClock(self.clock.clone())))
    }

    /// A JWS of `claims` by the RSA key with PS256, whatever `header` claims, signed here with
    /// aws-lc-rs (jsonwebtoken wants PKCS#1 RSA keys, aws-lc-rs makes PKCS#8).
    pub fn sign_rsa(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.rsa.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.rsa
            .sign(&RSA_PSS_SHA256, &rng, input.as_bytes(), &mut signature)
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// An RFC 9068 access token for AUDIENCE with `cnf`, scope `read`.
    pub fn access_token(&self, cnf: Option<Value>) -> String {
        let claims = self.claims(cnf);
        self.key.sign("at+jwt", Some(KID), false, &claims)
    }

    /// The claims of `access_token`.
    pub fn claims(&self, cnf: Option<Value>) -> Value {
        let now = self.now();
        let mut claims = json!({
            "iss": self.base,
            "sub": "service-a",
            "client_id": "service-a",
            "aud": AUDIENCE,
            "scope": "read",
            "iat": now,
            "exp": now + 300,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(cnf) = cnf {
            claims["cnf"] = cnf;
        }
        claims
    }
}
