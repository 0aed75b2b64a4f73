//! Configuration: built-in defaults, then an optional TOML file named by `TESSERA_CONFIG`, then
//! `TESSERA_*` environment variables (nested keys joined with `__`, e.g. `TESSERA_KEYS__ROTATION_DAYS`).
//! Validated once at start; every error names the setting it is about.

mod audit;
mod clients;
mod database;
mod issuer;
mod keys;
mod limits;
mod log;
mod passwords;
mod server;
mod sessions;
mod telemetry;
mod tls;

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Dict;
use figment::{Figment, Provider};
use serde::{Deserialize, Serialize};

pub use audit::AuditConfig;
pub use clients::ClientsConfig;
pub use database::DatabaseConfig;
pub use keys::KeysConfig;
pub use limits::{ForwardedHeader, LimitsConfig, SharedLimits};
pub use log::{LogConfig, LogFormat};
pub use passwords::PasswordsConfig;
pub use server::ServerConfig;
pub use sessions::SessionsConfig;
pub use telemetry::{MetricsConfig, OtelConfig};
pub use tls::{ClientAuth, TlsConfig};

/// A configuration value that must never reach a log line.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretString(pub String);

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The issuer identifier (RFC 8414 §2). Defaults to `http://{bind}`.
    pub issuer: Option<String>,
    pub bind: SocketAddr,
    /// `sqlite://path/to/file.db` or `postgres://…`.
    pub database_url: String,
    /// Comma-separated base64url 256-bit keys; the first encrypts new data.
    pub master_key: Option<SecretString>,
    pub master_key_file: Option<PathBuf>,
    /// Serving plain http on a non-loopback address is refused unless this is set.
    pub allow_insecure_http: bool,
    /// The first admin's password when `serve` finds no admin (else one is generated and
    /// written to a 0600 file in the data directory).
    pub bootstrap_admin_password: Option<SecretString>,
    pub log: LogConfig,
    pub server: ServerConfig,
    pub keys: KeysConfig,
    pub clients: ClientsConfig,
    pub database: DatabaseConfig,
    pub passwords: PasswordsConfig,
    pub sessions: SessionsConfig,
    pub limits: LimitsConfig,
    pub metrics: MetricsConfig,
    pub tls: TlsConfig,
    pub otel: OtelConfig,
    pub audit: AuditConfig,
    /// `TESSERA_*` variables that name no setting: ignored, and named in a warning at start,
    /// because scripts use such variables for their own values (`--password-env TESSERA_PW`).
    #[serde(skip)]
    pub ignored_env: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://data/tessera.db".to_owned(),
            master_key: None,
            master_key_file: None,
            allow_insecure_http: false,
            bootstrap_admin_password: None,
            log: LogConfig::default(),
            server: ServerConfig::default(),
            keys: KeysConfig::default(),
            clients: ClientsConfig::default(),
            database: DatabaseConfig::default(),
            passwords: PasswordsConfig::default(),
            sessions: SessionsConfig::default(),
            limits: LimitsConfig::default(),
            metrics: MetricsConfig::default(),
            tls: TlsConfig::default(),
            otel: OtelConfig::default(),
            audit: AuditConfig::default(),
            ignored_env: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration error: {0}")]
    Load(Box<figment::Error>),
    #[error("configuration error: {setting}: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
}

/// The top-level settings and sections (`issuer`, `keys`, …). A `TESSERA_*` variable whose first
/// part names none of them is not meant for Tessera; one that names a section but a wrong key in
/// it (`TESSERA_AUDIT__KEEP`) is a typo and is refused by the section's `deny_unknown_fields`.
fn top_level_settings() -> HashSet<String> {
    Serialized::defaults(Config::default())
        .data()
        .map(|profiles| profiles.into_values().flat_map(Dict::into_keys).collect())
        .unwrap_or_default()
}

fn invalid(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        message: message.into(),
    }
}

impl Config {
    /// Defaults → `TESSERA_CONFIG` file → `DATABASE_URL` → `TESSERA_*`, then validation.
    pub fn load() -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = std::env::var_os("TESSERA_CONFIG") {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(invalid(
                    "TESSERA_CONFIG",
                    format!("no such file: {}", path.display()),
                ));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let settings = top_level_settings();
        let ours = move |key: &str| {
            let first = key.split('.').next().unwrap_or_default();
            settings.contains(&first.to_ascii_lowercase())
        };
        let env = Env::prefixed("TESSERA_").ignore(&["CONFIG"]).split("__");
        let ignored_env = env
            .iter()
            .map(|(key, _)| key.to_string())
            .filter(|key| !ours(key))
            .map(|key| format!("TESSERA_{}", key.replace('.', "__").to_ascii_uppercase()))
            .collect();
        figment = figment
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .merge(env.filter(move |key| ours(key.as_str())));
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))?;
        config.ignored_env = ignored_env;
        config.validated()
    }

    /// Checks every rule that serde cannot express and fills in the derived issuer.
    pub fn validated(mut self) -> Result<Self, ConfigError> {
        self.tls.validate()?;
        self.otel.validate()?;
        self.server.validate()?;
        self.issuer = Some(self.checked_issuer()?);
        database::validate_url(&self.database_url)?;
        self.keys.validate()?;
        self.database.validate()?;
        self.passwords.validate()?;
        self.limits.validate(&self.database_url)?;
        self.sessions.validate()?;
        self.audit.validate()?;
        Ok(self)
    }

    /// The SQLite database file, when the database is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// Where files the server writes for the operator go (the generated master key, the
    /// bootstrap admin password): beside the SQLite file, else beside the configured key file,
    /// else `./data`.
    pub fn data_dir(&self) -> PathBuf {
        let beside = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
        self.sqlite_path()
            .as_deref()
            .or(self.master_key_file.as_deref())
            .map(beside)
            .unwrap_or_else(|| PathBuf::from("data"))
    }

    /// Where the generated master key lives when none is configured: beside the SQLite file.
    pub fn default_master_key_file(&self) -> Option<PathBuf> {
        let db = self.sqlite_path()?;
        let dir = db.parent().map(Path::to_path_buf).unwrap_or_default();
        Some(dir.join("master.key"))
    }
}

/// The message of the error `Config::load` gives inside a figment jail (the jail is taken to
/// show that the environment it reads is the jail's).
#[cfg(test)]
fn load_err(jail: &mut figment::Jail) -> String {
    let _ = jail;
    Config::load().map(|_| ()).unwrap_err().to_string()
}

#[cfg(test)]
// figment's Jail closures return its large error type; that is the library's signature.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_give_a_loopback_issuer_and_sqlite() {
        Jail::expect_with(|_jail| {
            let config = Config::load().expect("defaults are valid");
            assert_eq!(config.issuer(), "http://127.0.0.1:8080");
            assert_eq!(config.sqlite_path(), Some(PathBuf::from("data/tessera.db")));
            assert_eq!(
                config.default_master_key_file(),
                Some(PathBuf::from("data/master.key"))
            );
            Ok(())
        });
    }

    #[test]
    fn file_then_env_with_nested_keys_and_database_url_alias() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "t.toml",
                "issuer = \"https://id.example.com/\"\n[keys]\nrotation_days = 7\n",
            )?;
            jail.set_env("TESSERA_CONFIG", "t.toml");
            jail.set_env("TESSERA_KEYS__JWKS_MAX_AGE", "60");
            jail.set_env("DATABASE_URL", "postgres://db/x");
            let config = Config::load().expect("valid");
            assert_eq!(config.issuer(), "https://id.example.com");
            assert_eq!(config.keys.rotation_days, 7);
            assert_eq!(config.keys.jwks_max_age, 60);
            assert_eq!(config.database_url, "postgres://db/x");
            jail.set_env("TESSERA_DATABASE_URL", "sqlite://other.db");
            assert_eq!(
                Config::load().expect("valid").database_url,
                "sqlite://other.db"
            );
            Ok(())
        });
    }

    /// A script's own `TESSERA_PW` (README: `--password-env TESSERA_PW`) is ignored and named
    /// instead of failing the start; a variable naming a section keeps being checked.
    #[test]
    fn variables_that_name_no_setting_are_ignored() {
        Jail::expect_with(|jail| {
            jail.set_env("TESSERA_PW", "correct horse battery");
            jail.set_env("TESSERA_ISUER", "https://typo.example");
            jail.set_env("TESSERA_KEYS__ROTATION_DAYS", "5");
            jail.set_env("TESSERA_ISSUER", "https://id.example.com");
            let config = Config::load().expect("unknown variables do not stop the start");
            assert_eq!(config.keys.rotation_days, 5);
            assert_eq!(config.issuer(), "https://id.example.com");
            let mut ignored = config.ignored_env.clone();
            ignored.sort();
            assert_eq!(ignored, ["TESSERA_ISUER", "TESSERA_PW"]);
            jail.set_env("TESSERA_KEYS__ROTATON_DAYS", "3");
            assert!(
                load_err(jail).contains("rotaton_days"),
                "{}",
                load_err(jail)
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_setting() {
        Jail::expect_with(|jail| {
            jail.create_file("t.toml", "isuer = \"https://x\"\n")?;
            jail.set_env("TESSERA_CONFIG", "t.toml");
            assert!(load_err(jail).contains("isuer"), "{}", load_err(jail));
            jail.create_file("t.toml", "")?;
            jail.set_env("TESSERA_BIND", "not-an-address");
            assert!(load_err(jail).contains("BIND"), "{}", load_err(jail));
            Ok(())
        });
    }
}
