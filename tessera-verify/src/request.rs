//! A request's credentials (RFC 6750 §2.1, RFC 9449 §7.1) and the sender constraint of its
//! token (RFC 8705 §3, RFC 9449 §7).

use http::HeaderMap;
use http::header::AUTHORIZATION;
use http::request::Parts;

use crate::claims::VerifiedToken;
use crate::dpop;
use crate::error::{Rejection, Scheme, VerifyError};
use crate::mtls::ClientCertificate;
use crate::verifier::Verifier;

impl Verifier {
    /// Everything a protected route needs: the token from `Authorization` (Bearer or DPoP), the
    /// checks of [`Verifier::verify_token`], its sender constraint against the request, and
    /// `required_scopes` (all of them, RFC 6750 §3.1 `insufficient_scope` otherwise).
    pub async fn verify_request(
        &self,
        parts: &Parts,
        required_scopes: &[&str],
    ) -> Result<VerifiedToken, Rejection> {
        let (scheme, token) =
            credentials(&parts.headers).map_err(|e| e.in_scheme(Scheme::Bearer))?;
        let verified = self
            .verify_token(token)
            .await
            .map_err(|e| e.in_scheme(scheme))?;
        // A DPoP-bound token's refusals are answered in the DPoP scheme (RFC 9449 §7.1).
        let answer_in = match verified.cnf.as_ref().and_then(|c| c.jkt.as_ref()) {
            Some(_) => Scheme::DPoP,
            None => scheme,
        };
        self.check_binding(parts, scheme, token, &verified)
            .map_err(|e| e.in_scheme(answer_in))?;
        check_scopes(&verified, required_scopes).map_err(|e| e.in_scheme(answer_in))?;
        Ok(verified)
    }

    fn check_binding(
        &self,
        parts: &Parts,
        scheme: Scheme,
        token: &str,
        verified: &VerifiedToken,
    ) -> Result<(), VerifyError> {
        let cnf = verified.cnf.clone().unwrap_or_default();
        match (cnf.jkt.as_deref(), scheme) {
            (Some(jkt), Scheme::DPoP) => {
                let now = self.inner.clock.now();
                dpop::check(&self.inner.dpop, parts, token, jkt, now)?;
            }
            (Some(_), Scheme::Bearer) => {
                return Err(VerifyError::InvalidToken(
                    "a DPoP-bound token must be sent with the DPoP scheme and a proof".into(),
                ));
            }
            (None, Scheme::DPoP) => {
                return Err(VerifyError::InvalidToken(
                    "the token is not DPoP-bound".into(),
                ));
            }
            (None, Scheme::Bearer) => {}
        }
        if let Some(x5t) = cnf.x5t_s256.as_deref() {
            let presented = parts.extensions.get::<ClientCertificate>().ok_or_else(|| {
                VerifyError::InvalidToken(
                    "a certificate-bound token needs the client certificate it was issued to"
                        .into(),
                )
            })?;
            if presented.thumbprint() != x5t {
                return Err(VerifyError::InvalidToken(
                    "the token is bound to another client certificate".into(),
                ));
            }
        }
        Ok(())
    }
}

/// RFC 6750 §3.1 `insufficient_scope`, naming every scope the route needs.
pub(crate) fn check_scopes(token: &VerifiedToken, required: &[&str]) -> Result<(), VerifyError> {
    match token.missing_scopes(required).is_empty() {
        true => Ok(()),
        false => Err(VerifyError::InsufficientScope(required.join(" "))),
    }
}

/// RFC 6750 §2.1 and RFC 9449 §7.1: the scheme and token of the one `Authorization` header.
/// Another scheme (Basic) counts as no token at all (RFC 6750 §3.1).
fn credentials(headers: &HeaderMap) -> Result<(Scheme, &str), VerifyError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(VerifyError::Missing),
        (Some(_), Some(_)) => {
            return Err(VerifyError::InvalidRequest(
                "more than one Authorization header".into(),
            ));
        }
        (Some(value), None) => value,
    };
    let value = value
        .to_str()
        .map_err(|_| VerifyError::InvalidRequest("the Authorization header is not ASCII".into()))?;
    let (name, token) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if name.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if name.eq_ignore_ascii_case("dpop") {
        Scheme::DPoP
    } else {
        return Err(VerifyError::Missing);
    };
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(VerifyError::InvalidRequest(
            "the Authorization header has no single token".into(),
        ));
    }
    Ok((scheme, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<(Scheme, String), VerifyError> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(AUTHORIZATION, v.parse().unwrap());
        }
        credentials(&headers).map(|(s, t)| (s, t.to_owned()))
    }

    #[test]
    fn the_authorization_header_names_scheme_and_token() {
        assert_eq!(parse(&["Bearer abc"]), Ok((Scheme::Bearer, "abc".into())));
        assert_eq!(parse(&["bearer abc"]), Ok((Scheme::Bearer, "abc".into())));
        assert_eq!(parse(&["DPoP abc"]), Ok((Scheme::DPoP, "abc".into())));
        assert_eq!(parse(&[]), Err(VerifyError::Missing));
        assert_eq!(parse(&["Basic abc"]), Err(VerifyError::Missing));
        assert!(matches!(
            parse(&["Bearer"]),
            Err(VerifyError::InvalidRequest(_))
        ));
        assert!(matches!(
            parse(&["Bearer a b"]),
            Err(VerifyError::InvalidRequest(_))
        ));
        assert!(matches!(
            parse(&["Bearer a", "Bearer b"]),
            Err(VerifyError::InvalidRequest(_))
        ));
    }
}
