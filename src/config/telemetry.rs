//! `[metrics]` and `[otel]`: what the server tells operators about itself.

use serde::{Deserialize, Serialize};

use super::{ConfigError, SecretString, invalid};

/// Prometheus metrics at `/metrics`, served only to callers presenting this bearer token (off
/// when unset).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub token: Option<SecretString>,
    /// Client ids that get their own token-issuance series (off for everyone else).
    pub per_client: Vec<String>,
}

/// OpenTelemetry traces, exported over OTLP/HTTP with protobuf bodies (OTLP Specification 1.x,
/// "OTLP/HTTP"). Off unless `endpoint` is set; then each request is a server span whose parent
/// is the caller's W3C `traceparent`, and the response carries the span's own `traceparent`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtelConfig {
    /// Base URL of an OTLP/HTTP receiver (a collector), e.g. `http://127.0.0.1:4318`; spans are
    /// posted to `{endpoint}/v1/traces`, as with `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: Option<String>,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// Share of traces started here that are recorded (0.0–1.0). A caller's `traceparent`
    /// decides for its own trace (its sampled flag is followed).
    pub sampling_ratio: f64,
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            service_name: "tessera".to_owned(),
            sampling_ratio: 1.0,
        }
    }
}

impl OtelConfig {
    /// Whether traces are exported.
    pub fn enabled(&self) -> bool {
        self.endpoint.is_some()
    }

    /// The URL spans are posted to: the OTLP/HTTP traces path under the endpoint.
    pub fn traces_url(&self) -> Option<String> {
        let endpoint = self.endpoint.as_deref()?;
        Some(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(endpoint) = &self.endpoint {
            const SETTING: &str = "TESSERA_OTEL__ENDPOINT";
            let url = url::Url::parse(endpoint).map_err(|e| {
                invalid(
                    SETTING,
                    format!("{endpoint:?} is not an absolute URL ({e})"),
                )
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(invalid(
                    SETTING,
                    "must be an http:// or https:// URL with a host",
                ));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(invalid(SETTING, "must not have a query or fragment"));
            }
        }
        if self.service_name.trim().is_empty() {
            return Err(invalid("TESSERA_OTEL__SERVICE_NAME", "must not be empty"));
        }
        if !(0.0..=1.0).contains(&self.sampling_ratio) {
            return Err(invalid(
                "TESSERA_OTEL__SAMPLING_RATIO",
                "must be between 0.0 and 1.0",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
// figment's Jail closures return its large error type; that is the library's signature.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use crate::config::{Config, load_err};

    #[test]
    fn otel_settings_from_env_and_their_rules() {
        Jail::expect_with(|jail| {
            let config = Config::load().expect("defaults are valid");
            assert!(!config.otel.enabled());
            assert_eq!(config.otel.traces_url(), None);
            jail.set_env("TESSERA_OTEL__ENDPOINT", "http://127.0.0.1:4318/");
            jail.set_env("TESSERA_OTEL__SERVICE_NAME", "idp");
            jail.set_env("TESSERA_OTEL__SAMPLING_RATIO", "0.25");
            let config = Config::load().expect("valid");
            assert!(config.otel.enabled());
            assert_eq!(
                config.otel.traces_url().as_deref(),
                Some("http://127.0.0.1:4318/v1/traces")
            );
            assert_eq!(config.otel.service_name, "idp");
            assert!((config.otel.sampling_ratio - 0.25).abs() < f64::EPSILON);
            for (name, value, setting) in [
                (
                    "TESSERA_OTEL__ENDPOINT",
                    "collector:4318",
                    "TESSERA_OTEL__ENDPOINT",
                ),
                (
                    "TESSERA_OTEL__ENDPOINT",
                    "ftp://x.example",
                    "TESSERA_OTEL__ENDPOINT",
                ),
                (
                    "TESSERA_OTEL__ENDPOINT",
                    "http://x.example/?a=b",
                    "TESSERA_OTEL__ENDPOINT",
                ),
                (
                    "TESSERA_OTEL__SAMPLING_RATIO",
                    "1.5",
                    "TESSERA_OTEL__SAMPLING_RATIO",
                ),
                (
                    "TESSERA_OTEL__SAMPLING_RATIO",
                    "-0.1",
                    "TESSERA_OTEL__SAMPLING_RATIO",
                ),
                (
                    "TESSERA_OTEL__SERVICE_NAME",
                    " ",
                    "TESSERA_OTEL__SERVICE_NAME",
                ),
            ] {
                jail.set_env(name, value);
                let err = load_err(jail);
                assert!(err.contains(setting), "{name}={value}: {err}");
                jail.clear_env();
            }
            jail.set_env("TESSERA_OTEL__ENDPOINTS", "http://x");
            assert!(load_err(jail).contains("endpoints"), "{}", load_err(jail));
            Ok(())
        });
    }
}
