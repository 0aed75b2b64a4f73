//! `tessera serve`: the server, with its log writer and traces.

use std::sync::Arc;

use super::CliError;
use crate::app::{App, shutdown_signal};
use crate::clock::SystemClock;
use crate::config::{Config, LogFormat};
use crate::error::AppError;
use crate::telemetry::Telemetry;

/// Logs go to stderr through a background writer ([`crate::log_writer`]), so request threads
/// only format the line and copy it into a buffer; lines reach stderr within
/// [`crate::log_writer::FLUSH_INTERVAL`] and are never dropped.
/// ANSI colours only on a terminal. The guard writes out what is left when dropped at exit.
/// With `telemetry`, spans are also exported as OpenTelemetry traces.
pub(super) fn init_tracing(
    config: &Config,
    serving: bool,
    telemetry: Option<&Telemetry>,
) -> Result<crate::log_writer::FlushGuard, CliError> {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = if serving {
        config.log.level.as_str()
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = crate::log_writer::batched(std::io::stderr())?;
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    let fmt = match config.log.format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(telemetry.map(Telemetry::layer))
        .try_init();
    Ok(guard)
}

pub(super) async fn serve(
    mut config: Config,
    telemetry: Option<Telemetry>,
) -> Result<(), CliError> {
    // Held until the server has stopped: a second server on the same file refuses to start.
    let _instance = config
        .sqlite_path()
        .map(|db| crate::store::files::lock_instance(&db))
        .transpose()
        .map_err(AppError::Startup)?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| {
            AppError::Startup(format!(
                "TESSERA_BIND: cannot listen on {}: {e}",
                config.bind
            ))
        })?;
    // Port 0 lets the OS choose: an issuer derived from the bind address must name the real port.
    let scheme = if config.tls.enabled() {
        "https"
    } else {
        "http"
    };
    if config.bind.port() == 0 && config.issuer() == format!("{scheme}://{}", config.bind) {
        config.issuer = Some(format!("{scheme}://{}", listener.local_addr()?));
    }
    let mut app = App::build(config, Arc::new(SystemClock), listener).await?;
    if let Some(telemetry) = telemetry {
        app = app.with_telemetry(telemetry);
    }
    let addr = app.local_addr()?;
    let issuer = app.core.issuer().to_owned();
    tracing::info!(%addr, %issuer, "listening");
    if app.core.clients().await?.is_empty() {
        eprintln!(
            "Tessera listens on {scheme}://{addr} (issuer {issuer}).\n\
             Register a first API and client:\n  \
             tessera resources create https://api.example.com --scope 'read=Read data'\n  \
             tessera clients create --name my-service --resource https://api.example.com"
        );
    }
    app.serve(shutdown_signal()).await?;
    Ok(())
}
