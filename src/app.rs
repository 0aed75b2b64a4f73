//! Start-up: open the database, resolve the master key, load signing keys, serve with graceful
//! shutdown, and run the periodic key maintenance.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::master_key::{Keyring, create_key_file};
use crate::crypto::secrets::SecretHasher;
use crate::error::AppError;
use crate::http;
use crate::oauth::Protocol;
use crate::oauth::keys::KeyStore;
use crate::state::Core;
use crate::store::Db;
use crate::store::cache::Cache;
use crate::telemetry::Telemetry;
use crate::tls::Tls;

/// Whether this command may create a master key (only `serve` and `migrate`, on an empty
/// database) and initialise signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Allowed,
    Forbidden,
}

fn read_key_file(path: &Path) -> Result<Keyring, AppError> {
    let raw = std::fs::read_to_string(path).map_err(|e| {
        AppError::Startup(format!(
            "cannot read master key file {} (TESSERA_MASTER_KEY_FILE): {e}",
            path.display()
        ))
    })?;
    Keyring::parse(&raw).map_err(|e| {
        AppError::Startup(format!(
            "master key file {} (TESSERA_MASTER_KEY_FILE): {e}",
            path.display()
        ))
    })
}

/// The master keyring: `TESSERA_MASTER_KEY`, else the key file (configured, or beside the
/// SQLite database). A missing file is created only by `serve`/`migrate` on a database that has
/// never stored a key, so a lost key file can never lead to silently regenerated keys.
async fn resolve_keyring(config: &Config, db: &Db, init: Init) -> Result<Keyring, AppError> {
    if let Some(raw) = &config.master_key {
        return Keyring::parse(&raw.0)
            .map_err(|e| AppError::Startup(format!("TESSERA_MASTER_KEY: {e}")));
    }
    let path = config
        .master_key_file
        .clone()
        .or_else(|| config.default_master_key_file())
        .ok_or_else(|| {
            AppError::Startup(
                "no master key: set TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE (required with \
                 PostgreSQL so that every instance shares it)"
                    .into(),
            )
        })?;
    if path.exists() {
        return read_key_file(&path);
    }
    if init == Init::Forbidden {
        return Err(AppError::Startup(format!(
            "no master key at {}: set TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE, or run \
             `tessera serve`/`tessera migrate` once to create it",
            path.display()
        )));
    }
    if !db.is_empty().await? {
        return Err(AppError::Startup(format!(
            "the database holds keys encrypted under a master key, but {} is missing: restore it \
             or set TESSERA_MASTER_KEY",
            path.display()
        )));
    }
    match create_key_file(&path, &Keyring::generate_encoded()) {
        Ok(()) => tracing::info!(path = %path.display(), "created a new master key file"),
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(AppError::Startup(format!(
                "cannot create master key file {}: {e}",
                path.display()
            )));
        }
    }
    read_key_file(&path)
}

/// `keys rewrap --generate`: puts a new random master key at the head of the key file (old keys
/// kept, so everything encrypted under them still opens). Written to a temporary file and
/// renamed, mode 0600, so a crash never leaves a half-written keyring.
pub fn add_master_key_to_file(config: &Config) -> Result<std::path::PathBuf, AppError> {
    if config.master_key.is_some() {
        return Err(AppError::Startup(
            "the keyring comes from TESSERA_MASTER_KEY: put a new key first in it yourself \
             (comma-separated, old keys after it) on every instance, then run `keys rewrap`"
                .into(),
        ));
    }
    let path = config
        .master_key_file
        .clone()
        .or_else(|| config.default_master_key_file())
        .ok_or_else(|| AppError::Startup("no master key file is configured".into()))?;
    let old = read_key_file(&path)?;
    let existing = std::fs::read_to_string(&path)
        .map_err(|e| AppError::Startup(format!("cannot read {}: {e}", path.display())))?;
    let tmp = path.with_extension("key.new");
    let _ = std::fs::remove_file(&tmp);
    create_key_file(
        &tmp,
        &format!("{}\n{}", Keyring::generate_encoded(), existing.trim()),
    )
    .and_then(|()| std::fs::rename(&tmp, &path))
    .map_err(|e| AppError::Startup(format!("cannot write {}: {e}", path.display())))?;
    tracing::info!(previous_keys = old.keys().len(), "added a new master key");
    Ok(path)
}

impl Core {
    /// Connects, migrates, resolves the master key and loads the signing keys (creating them
    /// first when `init` allows).
    pub async fn open(
        config: Config,
        clock: SharedClock,
        init: Init,
    ) -> Result<Arc<Core>, AppError> {
        let db = Db::connect(&config.database_url, config.database.max_connections)
            .await
            .map_err(|e| AppError::Startup(format!("TESSERA_DATABASE_URL: {e}")))?;
        db.migrate().await?;
        let keyring = resolve_keyring(&config, &db, init).await?;
        let metrics = crate::metrics::Metrics::new(
            &config.metrics.per_client,
            config.metrics.token.is_some(),
        );
        let on_wait = metrics.argon2_queue_wait().map(|histogram| {
            Arc::new(move |waited: Duration| histogram.observe(waited.as_secs_f64()))
                as crate::crypto::password::QueueWait
        });
        let limits = crate::service::limits::Limits::new(
            &config.limits,
            clock.clone(),
            &db,
            metrics.rate_limit_sync_failures.clone(),
        )?;
        let audit = crate::auditor::Auditor::start(
            db.clone(),
            &config.audit,
            clock.clone(),
            metrics.audit_dropped.clone(),
        );
        let passwords = crate::crypto::password::PasswordHasher::start(&config.passwords, on_wait)
            .await
            .map_err(|e| AppError::Startup(format!("password hashing: {e}")))?;
        let ttl = config.clients.cache_ttl_ms;
        let core = Arc::new(Core {
            protocol: Protocol {
                audit,
                metrics,
                hasher: SecretHasher::new(&keyring),
                clients: Cache::new(ttl),
                resources: Cache::new(ttl),
                keys: KeyStore::default(),
                keyring,
                config: Arc::new(config),
                db,
                clock,
            },
            request_ids: crate::crypto::random::Sequence::new(),
            origins: Cache::new(ttl),
            limits,
            passwords,
        });
        let loaded = match init {
            Init::Allowed => match core.ensure_keys().await {
                Ok(()) => core.ensure_admin_api_resource().await,
                Err(e) => Err(e),
            },
            Init::Forbidden => core.reload_keys().await,
        };
        loaded.map_err(|e| AppError::Startup(e.to_string()))?;
        Ok(core)
    }
}

/// A running server's parts, built apart from `main` so tests can start it on port 0.
pub struct App {
    pub core: Arc<Core>,
    listener: TcpListener,
    /// Native TLS, when configured.
    tls: Option<Tls>,
    /// OpenTelemetry export, when configured; flushed at shutdown.
    telemetry: Option<Telemetry>,
}

impl App {
    pub async fn build(
        config: Config,
        clock: SharedClock,
        listener: TcpListener,
    ) -> Result<Self, AppError> {
        crate::crypto::install_providers();
        // Unusable TLS files stop the start before anything touches the database.
        let tls = Tls::load(&config.tls).map_err(|e| AppError::Startup(e.to_string()))?;
        let core = Core::open(config, clock, Init::Allowed).await?;
        core.bootstrap_admin()
            .await
            .map_err(|e| AppError::Startup(e.to_string()))?;
        Ok(Self {
            core,
            listener,
            tls,
            telemetry: None,
        })
    }

    /// Hands over the trace exporter (set up with the process's tracing subscriber) so that
    /// the spans of the last requests are exported before the process exits.
    pub fn with_telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves (over TLS when configured) until `shutdown` resolves, then finishes in-flight
    /// requests.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let core = self.core.clone();
        let maintenance = tokio::spawn(maintain(core.clone()));
        let limits = core.clone();
        let limits_sync = tokio::spawn(async move { limits.limits.run_sync().await });
        let router = http::router(core.clone());
        let settings = core.config.server.clone();
        let result = match self.tls {
            None => crate::server::serve(self.listener, router, None, &settings, shutdown).await,
            Some(tls) => serve_tls(self.listener, tls, router, &settings, shutdown).await,
        };
        maintenance.abort();
        limits_sync.abort();
        // Events of the last requests (and this minute's token counts) go in before the pool
        // closes.
        if let Err(e) = core.audit.flush().await {
            tracing::error!(error = %e, "audit events could not be written at shutdown");
        }
        core.db.close().await;
        if let Some(telemetry) = self.telemetry {
            // The flush blocks while the export runs on this runtime's workers.
            if tokio::task::spawn_blocking(move || telemetry.shutdown())
                .await
                .is_err()
            {
                tracing::warn!("flushing traces at shutdown did not finish");
            }
        }
        result
    }
}

/// HTTPS (HTTP/1.1 and HTTP/2 by ALPN) with HSTS on every response and the certificate files
/// watched for renewal.
async fn serve_tls(
    listener: TcpListener,
    tls: Tls,
    router: axum::Router,
    settings: &crate::config::ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let router = router.layer(axum::middleware::map_response(crate::tls::hsts));
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls.rustls.clone());
    let watcher = tokio::spawn(tls.watch());
    let result = crate::server::serve(listener, router, Some(acceptor), settings, shutdown).await;
    watcher.abort();
    result
}

/// Periodically re-reads keys written by other instances, rotates due keys and purges what
/// expired.
async fn maintain(core: Arc<Core>) {
    let period = Duration::from_secs(u64::from(core.config.keys.reload_seconds));
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = core.maintain_keys().await {
            tracing::error!(error = %e, "key maintenance failed");
        }
        if let Err(e) = core.purge_expired().await {
            tracing::error!(error = %e, "purging expired rows failed");
        }
        core.limits.shrink();
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
