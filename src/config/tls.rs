//! `[tls]`: native TLS, optionally with client certificates.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Native TLS (rustls). Off unless `cert_file` and `key_file` are set; the files are re-read
/// when they change, so renewed certificates need no restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the leaf certificate.
    pub key_file: Option<PathBuf>,
    /// PEM CA certificates that client certificates are verified against (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
    /// Whether a client certificate is required when `client_ca_file` is set.
    pub client_auth: ClientAuth,
    /// How often the files' modification times are checked.
    pub reload_seconds: u32,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// A certificate, when presented, must verify; clients without one still connect (and
    /// authenticate at /token with their secrets).
    Optional,
    /// No connection without a verified client certificate.
    Required,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            client_ca_file: None,
            client_auth: ClientAuth::Optional,
            reload_seconds: 30,
        }
    }
}

impl TlsConfig {
    /// Whether Tessera terminates TLS itself.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err(invalid(
                "TESSERA_TLS__CERT_FILE / TESSERA_TLS__KEY_FILE",
                "set both or neither",
            ));
        }
        if self.client_ca_file.is_some() && !self.enabled() {
            return Err(invalid(
                "TESSERA_TLS__CLIENT_CA_FILE",
                "needs TESSERA_TLS__CERT_FILE and TESSERA_TLS__KEY_FILE",
            ));
        }
        if self.client_auth == ClientAuth::Required && self.client_ca_file.is_none() {
            return Err(invalid(
                "TESSERA_TLS__CLIENT_AUTH",
                "\"required\" needs TESSERA_TLS__CLIENT_CA_FILE",
            ));
        }
        if self.reload_seconds == 0 {
            return Err(invalid("TESSERA_TLS__RELOAD_SECONDS", "must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
// figment's Jail closures return its large error type; that is the library's signature.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use super::*;
    use crate::config::Config;

    #[test]
    fn tls_rules_and_https_issuer() {
        let with = |tls: TlsConfig| Config {
            tls,
            ..Config::default()
        };
        let on = TlsConfig {
            cert_file: Some("c.pem".into()),
            key_file: Some("k.pem".into()),
            ..TlsConfig::default()
        };
        let config = with(on.clone()).validated().expect("valid");
        assert_eq!(config.issuer(), "https://127.0.0.1:8080");
        let config = Config {
            bind: "0.0.0.0:443".parse().expect("addr"),
            ..with(on.clone())
        };
        assert_eq!(
            config.validated().expect("valid").issuer(),
            "https://0.0.0.0:443"
        );
        for (tls, setting) in [
            (
                TlsConfig {
                    key_file: None,
                    ..on.clone()
                },
                "TESSERA_TLS__CERT_FILE / TESSERA_TLS__KEY_FILE",
            ),
            (
                TlsConfig {
                    client_ca_file: Some("ca.pem".into()),
                    ..TlsConfig::default()
                },
                "TESSERA_TLS__CLIENT_CA_FILE",
            ),
            (
                TlsConfig {
                    client_auth: ClientAuth::Required,
                    ..on.clone()
                },
                "TESSERA_TLS__CLIENT_AUTH",
            ),
            (
                TlsConfig {
                    reload_seconds: 0,
                    ..on.clone()
                },
                "TESSERA_TLS__RELOAD_SECONDS",
            ),
        ] {
            let err = with(tls).validated().unwrap_err().to_string();
            assert!(err.contains(setting), "{err}");
        }
        let config = Config {
            issuer: Some("http://127.0.0.1:8080".into()),
            ..with(on)
        };
        let err = config.validated().unwrap_err().to_string();
        assert!(err.contains("TESSERA_ISSUER"), "{err}");
    }

    #[test]
    fn tls_settings_from_env() {
        Jail::expect_with(|jail| {
            jail.set_env("TESSERA_TLS__CERT_FILE", "/etc/tessera/cert.pem");
            jail.set_env("TESSERA_TLS__KEY_FILE", "/etc/tessera/key.pem");
            jail.set_env("TESSERA_TLS__CLIENT_CA_FILE", "/etc/tessera/ca.pem");
            jail.set_env("TESSERA_TLS__CLIENT_AUTH", "required");
            let config = Config::load().expect("valid");
            assert_eq!(config.tls.client_auth, ClientAuth::Required);
            assert_eq!(
                config.tls.client_ca_file,
                Some(PathBuf::from("/etc/tessera/ca.pem"))
            );
            assert_eq!(config.issuer(), "https://127.0.0.1:8080");
            Ok(())
        });
    }
}
