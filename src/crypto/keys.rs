//! Signing key pairs: generation, PKCS#8 round trip and the public JWK (RFC 7517), with the
//! RFC 7638 thumbprint as `kid`. Key pairs are parsed once and kept in memory.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::CryptoError;
use crate::model::SigningAlg;

pub enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPair([redacted])")
    }
}

impl KeyPair {
    /// A new key pair and its PKCS#8 encoding (RSA keys are 2048 bits).
    pub fn generate(alg: SigningAlg) -> Result<(Self, Vec<u8>), CryptoError> {
        let err = |_| CryptoError::KeyGeneration;
        let pkcs8 = match alg {
            SigningAlg::RS256 => {
                let kp = RsaKeyPair::generate(KeySize::Rsa2048).map_err(err)?;
                let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp).map_err(err)?;
                der.as_ref().to_vec()
            }
            SigningAlg::ES256 => {
                let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(err)?;
                kp.to_pkcs8v1().map_err(err)?.as_ref().to_vec()
            }
            SigningAlg::EdDSA => {
                let kp = Ed25519KeyPair::generate().map_err(err)?;
                kp.to_pkcs8v1().map_err(err)?.as_ref().to_vec()
            }
        };
        let pair = Self::from_pkcs8(alg, &pkcs8).map_err(|_| CryptoError::KeyGeneration)?;
        Ok((pair, pkcs8))
    }

    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, String> {
        match alg {
            SigningAlg::RS256 => RsaKeyPair::from_pkcs8(der).map(KeyPair::Rsa),
            SigningAlg::ES256 => {
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map(KeyPair::Ec)
            }
            SigningAlg::EdDSA => Ed25519KeyPair::from_pkcs8(der).map(KeyPair::Ed),
        }
        .map_err(|e| e.to_string())
    }

    /// The JWS signature over `message` (RFC 7515 §5.1): PKCS#1 v1.5 for RS256, the fixed
    /// r‖s form for ES256 (RFC 7518 §3.4), Ed25519 for EdDSA.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rng = SystemRandom::new();
        match self {
            KeyPair::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| CryptoError::Signing)?;
                Ok(sig)
            }
            KeyPair::Ec(kp) => kp
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::Signing),
            KeyPair::Ed(kp) => Ok(kp.sign(message).as_ref().to_vec()),
        }
    }

    /// The public members of the JWK, in RFC 7638 order (lexicographic), without kid/alg/use.
    fn public_members(&self) -> Value {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match self {
            KeyPair::Rsa(kp) => {
                let public = kp.public_key();
                json!({
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                })
            }
            KeyPair::Ec(kp) => {
                // Uncompressed SEC1 point: 0x04 ‖ X (32 bytes) ‖ Y (32 bytes).
                let point = kp.public_key().as_ref();
                json!({
                    "crv": "P-256",
                    "kty": "EC",
                    "x": b64(&point[1..33]),
                    "y": b64(&point[33..65]),
                })
            }
            KeyPair::Ed(kp) => json!({
                "crv": "Ed25519",
                "kty": "OKP",
                "x": b64(kp.public_key().as_ref()),
            }),
        }
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url): a stable kid derived from the key.
    pub fn thumbprint(&self) -> String {
        // serde_json's default map is ordered by key, which is exactly RFC 7638's required form.
        let canonical = self.public_members().to_string();
        let hash = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        URL_SAFE_NO_PAD.encode(hash.as_ref())
    }

    /// The public JWK as published in /jwks.json.
    pub fn public_jwk(&self, kid: &str, alg: SigningAlg) -> Value {
        let mut jwk = self.public_members();
        if let Value::Object(map) = &mut jwk {
            map.insert("kid".into(), kid.into());
            map.insert("alg".into(), alg.as_str().into());
            map.insert("use".into(), "sig".into());
        }
        jwk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_generates_round_trips_and_verifies_with_jsonwebtoken() {
        crate::crypto::install_providers();
        for alg in SigningAlg::ALL {
            let (pair, der) = KeyPair::generate(alg).expect("generate");
            let again = KeyPair::from_pkcs8(alg, &der).expect("parse");
            let kid = pair.thumbprint();
            assert_eq!(kid, again.thumbprint());
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(pair.public_jwk(&kid, alg)).expect("valid JWK");
            let message = b"header.payload";
            let sig = URL_SAFE_NO_PAD.encode(again.sign(message).expect("sign"));
            let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
            let jalg = match alg {
                SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
                SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
                SigningAlg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            };
            assert!(
                jsonwebtoken::crypto::verify(&sig, message, &key, jalg).expect("verify"),
                "{alg:?}"
            );
        }
    }
}
