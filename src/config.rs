//! Configuration: built-in defaults, then an optional TOML file named by `TESSERA_CONFIG`, then
//! `TESSERA_*` environment variables (nested keys joined with `__`, e.g. `TESSERA_KEYS__ROTATION_DAYS`).
//! Validated once at start; every error names the setting it is about.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Dict;
use figment::{Figment, Provider};
use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `tessera=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Connections (plain and TLS): how long a client may take, and how many may be open.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// From a request head's first byte (or a new connection's start) to its last; also the
    /// TLS handshake's limit. Missed, the connection is dropped.
    pub header_read_timeout_ms: u32,
    /// A connection with no request in progress and no traffic for this long is closed.
    pub keep_alive_timeout_ms: u32,
    /// Reading a request body may take this long.
    pub body_timeout_ms: u32,
    /// Open connections at most; further ones wait in the listen backlog.
    pub max_connections: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            keep_alive_timeout_ms: 75_000,
            body_timeout_ms: 10_000,
            max_connections: 1000,
        }
    }
}

impl ServerConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        for (setting, value) in [
            (
                "TESSERA_SERVER__HEADER_READ_TIMEOUT_MS",
                self.header_read_timeout_ms,
            ),
            (
                "TESSERA_SERVER__KEEP_ALIVE_TIMEOUT_MS",
                self.keep_alive_timeout_ms,
            ),
            ("TESSERA_SERVER__BODY_TIMEOUT_MS", self.body_timeout_ms),
        ] {
            if !(100..=3_600_000).contains(&value) {
                return Err(invalid(
                    setting,
                    "must be between 100 and 3600000 milliseconds",
                ));
            }
        }
        // Semaphore permits are limited to usize::MAX >> 3; a million is far past any fd limit.
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(invalid(
                "TESSERA_SERVER__MAX_CONNECTIONS",
                "must be between 1 and 1000000",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Automatic rotation period of the active signing key per algorithm.
    pub rotation_days: u32,
    /// `Cache-Control: max-age` of /jwks.json; a next key is published at least this long
    /// before it may sign.
    pub jwks_max_age: u32,
    /// How often an instance re-reads the key set written by others.
    pub reload_seconds: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientsConfig {
    /// How long another instance's client change may stay unseen here.
    pub cache_ttl_ms: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub max_connections: u32,
}

/// Password storage (OWASP Password Storage Cheat Sheet): argon2id with at least 19 MiB of
/// memory, 2 iterations and 1 degree of parallelism. Stored hashes made with other parameters
/// are upgraded at the user's next successful sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordsConfig {
    /// argon2 `m`, in KiB.
    pub memory_kib: u32,
    /// argon2 `t`.
    pub iterations: u32,
    /// argon2 `p` (lanes).
    pub parallelism: u32,
    /// Shortest password accepted when one is set, in characters.
    pub min_length: u32,
    /// Hash requests waiting for a hashing thread before callers must wait; 0 = 64 per core.
    pub queue: u32,
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

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            rotation_days: 90,
            jwks_max_age: 300,
            reload_seconds: 30,
        }
    }
}

impl Default for ClientsConfig {
    fn default() -> Self {
        Self { cache_ttl_ms: 1000 }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: 16,
        }
    }
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            min_length: 12,
            queue: 0,
        }
    }
}

impl PasswordsConfig {
    /// Longest accepted password, in bytes: long passphrases are welcome, megabyte ones are
    /// a denial-of-service vector (OWASP Password Storage Cheat Sheet, "Maximum Password Lengths").
    pub const MAX_BYTES: usize = 256;

    fn validate(&self) -> Result<(), ConfigError> {
        // argon2's own limits: p in 1..=2^24-1, t ≥ 1, m ≥ 8 KiB per lane.
        if !(1..=0xFF_FFFF).contains(&self.parallelism) {
            return Err(invalid(
                "TESSERA_PASSWORDS__PARALLELISM",
                "must be between 1 and 16777215",
            ));
        }
        if self.iterations == 0 {
            return Err(invalid(
                "TESSERA_PASSWORDS__ITERATIONS",
                "must be at least 1",
            ));
        }
        let min_memory = u64::from(self.parallelism) * 8;
        // Every hashing thread keeps one block buffer of this size: cap it at 4 GiB.
        if u64::from(self.memory_kib) < min_memory || self.memory_kib > 4 * 1024 * 1024 {
            return Err(invalid(
                "TESSERA_PASSWORDS__MEMORY_KIB",
                format!(
                    "must be between {min_memory} (8 KiB per degree of parallelism) and 4194304                      (4 GiB); OWASP recommends at least 19456"
                ),
            ));
        }
        if !(8..=64).contains(&self.min_length) {
            return Err(invalid(
                "TESSERA_PASSWORDS__MIN_LENGTH",
                "must be between 8 and 64 characters",
            ));
        }
        if self.queue > 1_000_000 {
            return Err(invalid(
                "TESSERA_PASSWORDS__QUEUE",
                "must be at most 1000000 (0 = 64 per core)",
            ));
        }
        Ok(())
    }
}

/// Browser sessions: ended after `idle_minutes` without a request and `absolute_hours` after
/// sign-in, whichever comes first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    pub idle_minutes: u32,
    pub absolute_hours: u32,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            idle_minutes: 30,
            absolute_hours: 10,
        }
    }
}

/// Rate limits. Failures are limited by default; successful traffic only when configured
/// (0 = off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Failed client authentications per client and IP per minute before 429.
    pub client_auth_failures_per_minute: u32,
    pub token_per_client_per_second: u32,
    pub token_per_ip_per_second: u32,
    pub introspect_per_client_per_second: u32,
    pub revoke_per_client_per_second: u32,
    pub authorize_per_ip_per_minute: u32,
    pub login_per_ip_per_minute: u32,
    /// Proxies (IP addresses) whose `forwarded_header` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The one header the trusted proxies set: the other is ignored, so a client cannot pick
    /// its address by sending the header the proxies leave alone.
    pub forwarded_header: ForwardedHeader,
    /// Failed logins per account (and per IP) before each further attempt waits.
    pub login_failures_before_delay: u32,
    /// The longest such wait, in seconds: a delay, never a lock an attacker can hold forever.
    pub login_max_delay_seconds: u32,
    /// Where instances pool their counts so that the limits above hold across them.
    pub shared: SharedLimits,
    /// `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS), with
    /// `shared = "redis"`.
    pub redis_url: Option<SecretString>,
    /// PEM CA certificates a `rediss://` server's certificate is verified against (default:
    /// the system's roots).
    pub redis_ca_file: Option<PathBuf>,
    /// Prefix of every Redis key Tessera writes, so deployments can share one Redis.
    pub redis_key_prefix: String,
    /// How often an instance pushes its counts to the shared store and reads the totals back.
    pub sync_ms: u32,
}

/// Which header carries the client address through trusted proxies.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// Neither: the socket's peer is the client.
    None,
    /// `X-Forwarded-For` (de facto standard).
    XForwardedFor,
    /// `Forwarded` (RFC 7239), its `for=` parameters.
    Forwarded,
}

/// The store behind shared rate limits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SharedLimits {
    /// In-process limits only: each instance allows the full rate.
    Off,
    /// The server's own PostgreSQL database.
    Database,
    /// Redis at `redis_url`.
    Redis,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            client_auth_failures_per_minute: 20,
            token_per_client_per_second: 0,
            token_per_ip_per_second: 0,
            introspect_per_client_per_second: 0,
            revoke_per_client_per_second: 0,
            authorize_per_ip_per_minute: 0,
            login_per_ip_per_minute: 0,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            login_failures_before_delay: 5,
            login_max_delay_seconds: 300,
            shared: SharedLimits::Off,
            redis_url: None,
            redis_ca_file: None,
            redis_key_prefix: "tessera:limits:".to_owned(),
            sync_ms: 250,
        }
    }
}

impl LimitsConfig {
    fn validate(&self, database_url: &str) -> Result<(), ConfigError> {
        if !(10..=60_000).contains(&self.sync_ms) {
            return Err(invalid(
                "TESSERA_LIMITS__SYNC_MS",
                "must be between 10 and 60000 milliseconds",
            ));
        }
        match (self.shared, &self.redis_url) {
            (SharedLimits::Redis, None) => {
                return Err(invalid(
                    "TESSERA_LIMITS__REDIS_URL",
                    "is required with TESSERA_LIMITS__SHARED=redis",
                ));
            }
            (SharedLimits::Redis, Some(url))
                if !(url.0.starts_with("redis://") || url.0.starts_with("rediss://")) =>
            {
                return Err(invalid(
                    "TESSERA_LIMITS__REDIS_URL",
                    "must start with redis:// or rediss:// (TLS)",
                ));
            }
            (SharedLimits::Off | SharedLimits::Database, Some(_)) => {
                return Err(invalid(
                    "TESSERA_LIMITS__REDIS_URL",
                    "is only used with TESSERA_LIMITS__SHARED=redis",
                ));
            }
            _ => {}
        }
        if self.redis_ca_file.is_some()
            && !self
                .redis_url
                .as_ref()
                .is_some_and(|u| u.0.starts_with("rediss://"))
        {
            return Err(invalid(
                "TESSERA_LIMITS__REDIS_CA_FILE",
                "is only used with a rediss:// TESSERA_LIMITS__REDIS_URL",
            ));
        }
        // One SQLite file is one instance's database, where in-process limits already hold;
        // sharing it between processes on one machine is not what "database" is for.
        if self.shared == SharedLimits::Database && database_url.starts_with("sqlite:") {
            return Err(invalid(
                "TESSERA_LIMITS__SHARED",
                "\"database\" needs PostgreSQL (TESSERA_DATABASE_URL=postgres://…); with SQLite \
                 use \"off\" or \"redis\"",
            ));
        }
        if self.shared == SharedLimits::Redis && self.redis_key_prefix.is_empty() {
            return Err(invalid(
                "TESSERA_LIMITS__REDIS_KEY_PREFIX",
                "must not be empty",
            ));
        }
        Ok(())
    }
}

/// Prometheus metrics at `/metrics`, served only to callers presenting this bearer token (off
/// when unset).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub token: Option<SecretString>,
    /// Client ids that get their own token-issuance series (off for everyone else).
    pub per_client: Vec<String>,
}

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

    fn validate(&self) -> Result<(), ConfigError> {
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

/// The audit log of security events: written in batches by a background writer, kept for
/// `retention_days` and then purged by the maintenance job.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days an event is kept. There is no "forever": an unbounded table eventually fills the
    /// disk, and a log kept for years belongs in a log archive, not in the login database.
    pub retention_days: u32,
    /// Events waiting for the writer; past that, events are dropped (and counted) rather than
    /// slowing requests down.
    pub queue: u32,
    /// How often the writer stores what it holds, in milliseconds (it also writes whenever
    /// 500 events are waiting).
    pub flush_ms: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention_days: 90,
            queue: 10_000,
            flush_ms: 1000,
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

    fn validate(&self) -> Result<(), ConfigError> {
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

impl AuditConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3650).contains(&self.retention_days) {
            return Err(invalid(
                "TESSERA_AUDIT__RETENTION_DAYS",
                "must be between 1 and 3650 days (keeping events forever is not supported)",
            ));
        }
        if !(1..=1_000_000).contains(&self.queue) {
            return Err(invalid(
                "TESSERA_AUDIT__QUEUE",
                "must be between 1 and 1000000 events",
            ));
        }
        if !(10..=60_000).contains(&self.flush_ms) {
            return Err(invalid(
                "TESSERA_AUDIT__FLUSH_MS",
                "must be between 10 and 60000 milliseconds",
            ));
        }
        Ok(())
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
        let issuer = validate_issuer(&issuer)?;
        self.issuer = Some(issuer);
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "TESSERA_DATABASE_URL",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if self.keys.rotation_days == 0 {
            return Err(invalid("TESSERA_KEYS__ROTATION_DAYS", "must be at least 1"));
        }
        if !(1..=86_400).contains(&self.keys.jwks_max_age) {
            return Err(invalid(
                "TESSERA_KEYS__JWKS_MAX_AGE",
                "must be between 1 and 86400 seconds",
            ));
        }
        if self.keys.reload_seconds == 0 {
            return Err(invalid(
                "TESSERA_KEYS__RELOAD_SECONDS",
                "must be at least 1",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(invalid(
                "TESSERA_DATABASE__MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        self.passwords.validate()?;
        self.limits.validate(&self.database_url)?;
        if self.sessions.idle_minutes == 0 || self.sessions.absolute_hours == 0 {
            return Err(invalid(
                "TESSERA_SESSIONS__IDLE_MINUTES / TESSERA_SESSIONS__ABSOLUTE_HOURS",
                "must be at least 1",
            ));
        }
        self.audit.validate()?;
        Ok(self)
    }

    /// The validated issuer (always set after [`Config::validated`]).
    pub fn issuer(&self) -> &str {
        self.issuer.as_deref().unwrap_or_default()
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
// figment's Jail closures return its large error type; that is the library's signature.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    fn load_err(jail: &mut Jail) -> String {
        let _ = jail;
        Config::load().map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn the_forwarded_header_is_one_named_choice() {
        Jail::expect_with(|jail| {
            let config = Config::load().expect("defaults are valid");
            assert_eq!(
                config.limits.forwarded_header,
                ForwardedHeader::XForwardedFor
            );
            jail.set_env("TESSERA_LIMITS__FORWARDED_HEADER", "forwarded");
            let config = Config::load().expect("valid");
            assert_eq!(config.limits.forwarded_header, ForwardedHeader::Forwarded);
            jail.set_env("TESSERA_LIMITS__FORWARDED_HEADER", "x-real-ip");
            assert!(Config::load().is_err());
            Ok(())
        });
    }

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

    #[test]
    fn shared_limit_settings_are_checked() {
        let with = |database_url: &str, limits: LimitsConfig| Config {
            database_url: database_url.to_owned(),
            limits,
            ..Config::default()
        };
        let pg = "postgres://db/x";
        let redis = |url: &str| LimitsConfig {
            shared: SharedLimits::Redis,
            redis_url: Some(SecretString(url.to_owned())),
            ..LimitsConfig::default()
        };
        for (url, limits, setting) in [
            (
                "sqlite://t.db",
                LimitsConfig {
                    shared: SharedLimits::Database,
                    ..LimitsConfig::default()
                },
                "TESSERA_LIMITS__SHARED",
            ),
            (
                pg,
                LimitsConfig {
                    shared: SharedLimits::Redis,
                    ..LimitsConfig::default()
                },
                "TESSERA_LIMITS__REDIS_URL",
            ),
            (pg, redis("http://r:6380"), "TESSERA_LIMITS__REDIS_URL"),
            (
                pg,
                LimitsConfig {
                    redis_ca_file: Some("ca.pem".into()),
                    ..redis("redis://r")
                },
                "TESSERA_LIMITS__REDIS_CA_FILE",
            ),
            (
                pg,
                LimitsConfig {
                    redis_url: Some(SecretString("redis://r".into())),
                    ..LimitsConfig::default()
                },
                "TESSERA_LIMITS__REDIS_URL",
            ),
            (
                pg,
                LimitsConfig {
                    redis_key_prefix: String::new(),
                    ..redis("redis://r")
                },
                "TESSERA_LIMITS__REDIS_KEY_PREFIX",
            ),
            (
                pg,
                LimitsConfig {
                    sync_ms: 0,
                    ..LimitsConfig::default()
                },
                "TESSERA_LIMITS__SYNC_MS",
            ),
        ] {
            let err = with(url, limits).validated().unwrap_err().to_string();
            assert!(err.contains(setting), "{err}");
        }
        let database = LimitsConfig {
            shared: SharedLimits::Database,
            ..LimitsConfig::default()
        };
        assert!(with(pg, database).validated().is_ok());
        assert!(
            with("sqlite://t.db", redis("redis://:pw@r:6379/2"))
                .validated()
                .is_ok()
        );
    }

    #[test]
    fn shared_limit_settings_from_env() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://db/x");
            jail.set_env("TESSERA_LIMITS__SHARED", "database");
            jail.set_env("TESSERA_LIMITS__SYNC_MS", "500");
            let config = Config::load().expect("valid");
            assert_eq!(config.limits.shared, SharedLimits::Database);
            assert_eq!(config.limits.sync_ms, 500);
            jail.set_env("TESSERA_LIMITS__SHARED", "memcached");
            assert!(
                load_err(jail).contains("LIMITS.SHARED"),
                "{}",
                load_err(jail)
            );
            Ok(())
        });
    }

    #[test]
    fn audit_settings_from_env_and_their_bounds() {
        Jail::expect_with(|jail| {
            let config = Config::load().expect("defaults are valid");
            assert_eq!(
                (
                    config.audit.retention_days,
                    config.audit.queue,
                    config.audit.flush_ms
                ),
                (90, 10_000, 1000)
            );
            jail.set_env("TESSERA_AUDIT__RETENTION_DAYS", "30");
            jail.set_env("TESSERA_AUDIT__QUEUE", "64");
            jail.set_env("TESSERA_AUDIT__FLUSH_MS", "250");
            let config = Config::load().expect("valid");
            assert_eq!(config.audit.retention_days, 30);
            assert_eq!(config.audit.queue, 64);
            assert_eq!(config.audit.flush_ms, 250);
            for (name, value) in [
                ("TESSERA_AUDIT__RETENTION_DAYS", "0"),
                ("TESSERA_AUDIT__RETENTION_DAYS", "3651"),
                ("TESSERA_AUDIT__QUEUE", "0"),
                ("TESSERA_AUDIT__FLUSH_MS", "5"),
            ] {
                jail.set_env(name, value);
                let err = load_err(jail);
                assert!(err.contains(name), "{name}={value}: {err}");
                jail.set_env(name, "100");
            }
            jail.set_env("TESSERA_AUDIT__KEEP", "1");
            assert!(
                load_err(jail).contains("keep"),
                "unknown audit keys are refused"
            );
            Ok(())
        });
    }

    #[test]
    fn server_settings_from_env_and_their_bounds() {
        Jail::expect_with(|jail| {
            let config = Config::load().expect("defaults are valid");
            assert_eq!(config.server.header_read_timeout_ms, 10_000);
            jail.set_env("TESSERA_SERVER__KEEP_ALIVE_TIMEOUT_MS", "500");
            jail.set_env("TESSERA_SERVER__MAX_CONNECTIONS", "20");
            let config = Config::load().expect("valid");
            assert_eq!(config.server.keep_alive_timeout_ms, 500);
            assert_eq!(config.server.max_connections, 20);
            for (name, value) in [
                ("TESSERA_SERVER__HEADER_READ_TIMEOUT_MS", "0"),
                ("TESSERA_SERVER__BODY_TIMEOUT_MS", "99"),
                ("TESSERA_SERVER__MAX_CONNECTIONS", "0"),
            ] {
                jail.set_env(name, value);
                let err = load_err(jail);
                assert!(err.contains(name), "{name}={value}: {err}");
                jail.clear_env();
            }
            Ok(())
        });
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
