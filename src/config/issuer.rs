//! `issuer`, `bind` and `allow_insecure_http`: the issuer identifier and the address it is served
//! on.

use std::net::IpAddr;

use super::{Config, ConfigError, invalid};

impl Config {
    /// The configured issuer, or `http(s)://{bind}` when none is; checked against the
    /// transport it is served over. Takes the configured value out of `self.issuer`.
    pub(super) fn checked_issuer(&mut self) -> Result<String, ConfigError> {
        let scheme = if self.tls.enabled() { "https" } else { "http" };
        let issuer = match self.issuer.take() {
            Some(issuer) => issuer,
            None => format!("{scheme}://{}", self.bind),
        };
        if self.tls.enabled() && !issuer.starts_with("https://") {
            return Err(invalid(
                "TESSERA_ISSUER",
                "must use https when TLS is on (TESSERA_TLS__CERT_FILE)",
            ));
        }
        let http = issuer.starts_with("http://");
        if http && !self.bind.ip().is_loopback() && !self.allow_insecure_http {
            return Err(invalid(
                "TESSERA_BIND",
                format!(
                    "{} is not a loopback address and the issuer uses plain http; use an https \
                     issuer or set TESSERA_ALLOW_INSECURE_HTTP=true",
                    self.bind
                ),
            ));
        }
        validate_issuer(&issuer)
    }

    /// The validated issuer (always set after [`Config::validated`]).
    pub fn issuer(&self) -> &str {
        self.issuer.as_deref().unwrap_or_default()
    }
}

/// RFC 8414 §2: the issuer is an https URL with no query or fragment; plain http is allowed
/// only for loopback hosts, which is what local development and tests use.
fn validate_issuer(raw: &str) -> Result<String, ConfigError> {
    const SETTING: &str = "TESSERA_ISSUER";
    let url = url::Url::parse(raw)
        .map_err(|e| invalid(SETTING, format!("{raw:?} is not an absolute URL ({e})")))?;
    if url.query().is_some() || url.fragment().is_some() || raw.contains(['?', '#']) {
        return Err(invalid(SETTING, "must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(SETTING, "must not contain user information"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(invalid(SETTING, "must have a host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                SETTING,
                "must use https unless the host is loopback (127.0.0.1, [::1], localhost)",
            ));
        }
        other => return Err(invalid(SETTING, format!("unsupported scheme {other:?}"))),
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn issuer_rules() {
        for bad in [
            "https://x.example/?a=b",
            "https://x.example/#f",
            "http://id.example.com",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            let config = Config {
                issuer: Some(bad.to_owned()),
                ..Config::default()
            };
            let err = config.validated().unwrap_err().to_string();
            assert!(err.contains("TESSERA_ISSUER"), "{bad}: {err}");
        }
        for good in [
            "https://id.example.com",
            "http://localhost:9",
            "http://[::1]:80",
        ] {
            let config = Config {
                issuer: Some(good.to_owned()),
                ..Config::default()
            };
            assert!(config.validated().is_ok(), "{good}");
        }
    }

    #[test]
    fn non_loopback_http_needs_opt_in() {
        let config = Config {
            bind: "0.0.0.0:8080".parse().expect("addr"),
            issuer: Some("http://127.0.0.1:8080".to_owned()),
            ..Config::default()
        };
        let err = config.clone().validated().unwrap_err().to_string();
        assert!(err.contains("TESSERA_ALLOW_INSECURE_HTTP"), "{err}");
        let config = Config {
            allow_insecure_http: true,
            ..config
        };
        assert!(config.validated().is_ok());
    }
}
