//! Form parameters of protocol requests (RFC 6749 §3.1, §3.2, Appendix B).

use std::borrow::Cow;

use super::OAuthError;
use crate::model::limits;

/// Decoded `application/x-www-form-urlencoded` parameters.
#[derive(Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// Names only: the values include client secrets, codes, verifiers and tokens.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.pairs.iter().map(|(n, _)| n))
            .finish()
    }
}

/// Parameters that may appear more than once (RFC 8707 §2: several `resource` values).
const REPEATABLE: &[&str] = &["resource"];

/// RFC 6749 Appendix B: `+` is a space, then percent-decoding; the result must be UTF-8.
pub fn form_decode(raw: &[u8]) -> Option<String> {
    let plus: Cow<[u8]> = if raw.contains(&b'+') {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let decoded: Cow<[u8]> = percent_encoding::percent_decode(&plus).into();
    String::from_utf8(decoded.into_owned()).ok()
}

/// Identifiers longer than their cap ([`limits`]) are refused before anything looks them up
/// or keys a cache, a rate limit or an audit tally on them: RFC 6749 §5.2 `invalid_request`
/// ("otherwise malformed").
fn check_length(name: &str, value: &str) -> Result<(), OAuthError> {
    let too_long = |what: &str, cap: usize| {
        Err(OAuthError::invalid_request(format!(
            "{what} is longer than {cap} bytes"
        )))
    };
    if let Some(cap) = limits::of_parameter(name)
        && value.len() > cap
    {
        return too_long(&format!("parameter {name}"), cap);
    }
    if name == "scope" && value.split(' ').any(|v| v.len() > limits::SCOPE_VALUE) {
        return too_long("a scope value", limits::SCOPE_VALUE);
    }
    Ok(())
}

impl Params {
    /// RFC 6749 §3.1: parameters sent without a value are treated as omitted, and request
    /// parameters MUST NOT be included more than once; unknown parameters are kept and ignored.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            let name = form_decode(name)
                .ok_or_else(|| OAuthError::invalid_request("parameters must be UTF-8"))?;
            let value = form_decode(value)
                .ok_or_else(|| OAuthError::invalid_request("parameters must be UTF-8"))?;
            // PostgreSQL refuses NUL in text, and no parameter may hold one.
            if name.contains('\0') || value.contains('\0') {
                return Err(OAuthError::invalid_request(
                    "parameters must not contain NUL",
                ));
            }
            if value.is_empty() {
                continue;
            }
            check_length(&name, &value)?;
            if !REPEATABLE.contains(&name.as_str()) && pairs.iter().any(|(n, _)| *n == name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {name} is repeated"
                )));
            }
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ErrorCode;

    #[test]
    fn decodes_plus_and_percent() {
        let p = Params::parse(b"a=x+y%2Bz%3A&b=%E2%9C%93").expect("valid");
        assert_eq!(p.get("a"), Some("x y+z:"));
        assert_eq!(p.get("b"), Some("\u{2713}"));
    }

    #[test]
    fn empty_values_are_absent_and_repeats_refused() {
        let p = Params::parse(b"scope=&scope=read&x").expect("empty ones do not count");
        assert_eq!(p.get("scope"), Some("read"));
        assert_eq!(p.get("x"), None);
        let e = Params::parse(b"scope=a&scope=b").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let p = Params::parse(b"resource=a&resource=b").expect("resource may repeat");
        assert_eq!(p.all("resource").count(), 2);
    }

    #[test]
    fn identifiers_longer_than_their_cap_are_refused() {
        let at_cap = format!("client_id={}", "a".repeat(limits::CLIENT_ID));
        assert!(Params::parse(at_cap.as_bytes()).is_ok());
        let over = format!("client_id={}", "a".repeat(limits::CLIENT_ID + 1));
        let e = Params::parse(over.as_bytes()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let scope = format!("scope=read+{}", "s".repeat(limits::SCOPE_VALUE + 1));
        assert!(Params::parse(scope.as_bytes()).is_err());
        let long_other = format!("code={}", "c".repeat(10_000));
        assert!(
            Params::parse(long_other.as_bytes()).is_ok(),
            "not an identifier"
        );
    }

    #[test]
    fn non_utf8_is_refused() {
        assert!(Params::parse(b"a=%FF").is_err());
        assert!(Params::parse(b"a=\xff").is_err());
        assert!(Params::parse(b"a=x%00y").is_err());
    }
}
