//! RFC 7636: Proof Key for Code Exchange, S256 only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::oauth::params::Params;

/// RFC 7636 §4.1: 43–128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
pub fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.2/§4.3: the S256 challenge is base64url(SHA-256(verifier)), 43 characters.
/// `plain` is refused (RFC 9700 §2.1.1); an absent method means plain, so it is refused too.
pub fn challenge(params: &Params, required: bool) -> Result<Option<String>, &'static str> {
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) if required => Err("code_challenge (PKCE, S256) is required"),
        (None, None) => Ok(None),
        (None, Some(_)) => Err("code_challenge_method without code_challenge"),
        (Some(_), None | Some("plain")) => Err("code_challenge_method must be S256"),
        (Some(_), Some(m)) if m != "S256" => Err("code_challenge_method must be S256"),
        (Some(c), Some(_)) => {
            let well_formed =
                c.len() == 43 && URL_SAFE_NO_PAD.decode(c).is_ok_and(|d| d.len() == 32);
            if well_formed {
                Ok(Some(c.to_owned()))
            } else {
                Err("code_challenge must be 43 base64url characters (S256)")
            }
        }
    }
}

/// RFC 7636 §4.6, compared in constant time.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(digest.as_ref());
    crate::crypto::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_valid_verifier(verifier));
        assert!(verify(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!verify(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
    }

    #[test]
    fn methods_and_shapes() {
        let p = |s: &str| Params::parse(s.as_bytes()).expect("params");
        let good = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(challenge(&p(""), true).is_err());
        assert_eq!(challenge(&p(""), false), Ok(None));
        assert!(challenge(&p(&format!("code_challenge={good}")), true).is_err());
        assert!(
            challenge(
                &p(&format!(
                    "code_challenge={good}&code_challenge_method=plain"
                )),
                true
            )
            .is_err()
        );
        assert!(challenge(&p("code_challenge=short&code_challenge_method=S256"), true).is_err());
        assert_eq!(
            challenge(
                &p(&format!("code_challenge={good}&code_challenge_method=S256")),
                true
            ),
            Ok(Some(good.to_owned()))
        );
        assert!(!is_valid_verifier("short"));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
    }
}
