//! Redirect URI matching (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3, RFC 8252 §7.3).

use std::borrow::Cow;

use crate::model::{ApplicationType, Client};

/// The redirect URI a request may use: an exact string match with a registered one, except that
/// a native client's loopback URI matches on any port (RFC 8252 §7.3). Without a redirect_uri,
/// OpenID requests fail (OIDC Core §3.1.2.1) and OAuth requests use the only registered URI.
pub fn resolve(
    client: &Client,
    requested: Option<&str>,
    openid: bool,
) -> Result<String, Cow<'static, str>> {
    let Some(uri) = requested else {
        if openid {
            return Err("The application did not say where to send you back (no redirect_uri). Return to it and try again.".into());
        }
        return match client.redirect_uris.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err("The application did not say where to send you back (no redirect_uri). Return to it and try again.".into()),
        };
    };
    let registered = client.redirect_uris.iter().any(|r| {
        r == uri
            || (client.application_type == ApplicationType::Native
                && same_loopback_ignoring_port(r, uri))
    });
    if registered {
        Ok(uri.to_owned())
    } else {
        Err("The address the application asked to return to is not registered for it, so you were not sent there.".into())
    }
}

fn same_loopback_ignoring_port(registered: &str, requested: &str) -> bool {
    // The URL parser drops tabs and newlines and trims spaces and controls, so only a clean
    // string may match by its parsed form: it is sent back verbatim in the Location header.
    if !requested.bytes().all(|b| b > b' ' && b != 0x7f) {
        return false;
    }
    let (Ok(mut a), Ok(mut b)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http"
            && (matches!(u.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                || matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback()))
    };
    if !loopback(&a) || !loopback(&b) {
        return false;
    }
    let _ = a.set_port(None);
    let _ = b.set_port(None);
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_port_rule_only_for_loopback() {
        assert!(same_loopback_ignoring_port(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51234/cb"
        ));
        assert!(same_loopback_ignoring_port(
            "http://[::1]:80/cb",
            "http://[::1]:9/cb"
        ));
        assert!(!same_loopback_ignoring_port(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5/other"
        ));
        assert!(!same_loopback_ignoring_port(
            "https://app.example/cb",
            "https://app.example:444/cb"
        ));
        assert!(!same_loopback_ignoring_port(
            "http://localhost/cb",
            "http://localhost:5/cb"
        ));
        assert!(!same_loopback_ignoring_port(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5/c\nb"
        ));
        assert!(!same_loopback_ignoring_port(
            "http://127.0.0.1/cb",
            " http://127.0.0.1:5/cb"
        ));
    }
}
