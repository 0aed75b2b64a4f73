//! The listener: accepts connections up to a configured number, serves each over HTTP/1.1 or
//! HTTP/2 (over TLS when configured) with deadlines on slow and idle clients ([`conn`]), and
//! shuts down gracefully: no new connections, in-flight requests finish.

mod body;
mod conn;

pub use body::BodyTimeout;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::accept::Accept;
use axum_server::tls_rustls::RustlsAcceptor;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

use crate::config::ServerConfig;

/// How long a client may take; see [`conn`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// From the first byte of a request head (or the connection's start) to its end; also the
    /// TLS handshake's limit.
    header_read: Duration,
    /// Idle time after which a kept-alive connection is closed.
    keep_alive: Duration,
    /// Time allowed for receiving a request body, from the end of its head: a handler reading
    /// a body that trickles in gets an error (and answers 408) instead of waiting as long as
    /// the client likes.
    body: Duration,
}

impl Timeouts {
    fn of(settings: &ServerConfig) -> Self {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        Self {
            header_read: ms(settings.header_read_timeout_ms),
            keep_alive: ms(settings.keep_alive_timeout_ms),
            body: ms(settings.body_timeout_ms),
        }
    }
}

/// At most one "connection limit reached" line per this interval: a flood would otherwise
/// turn into a flood of log lines.
const FULL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` (TLS with `tls`) until `shutdown` resolves, then waits for
/// the open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<RustlsAcceptor>,
    settings: &ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let timeouts = Timeouts::of(settings);
    let tls = tls.map(|acceptor| acceptor.handshake_timeout(timeouts.header_read));
    let max = settings.max_connections;
    #[cfg(unix)]
    fit_descriptor_limit(max);
    let permits = Arc::new(Semaphore::new(max as usize));
    let (stop, stopping) = watch::channel(false);
    let mut warned_full: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        // A permit per open connection: at the cap, stop accepting (new connections wait in
        // the kernel's backlog) rather than run out of file descriptors.
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if warned_full.is_none_or(|at| at.elapsed() >= FULL_LOG_INTERVAL) {
                    tracing::warn!(
                        max_connections = max,
                        "connection limit reached (TESSERA_SERVER__MAX_CONNECTIONS): new \
                         connections wait until open ones close"
                    );
                    warned_full = Some(Instant::now());
                }
                tokio::select! {
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            tls.clone(),
            timeouts,
            stopping.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    // Each connection returns its permit when it ends: all of them back means all ended.
    let _ = permits.acquire_many(max).await;
    Ok(())
}

/// File descriptors kept for everything but client connections: the database pool, log and
/// key files, TLS reloads, outgoing connections (Redis, OpenTelemetry).
const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises the soft open-files limit when the connection cap needs more (up to the hard limit,
/// as nginx's `worker_rlimit_nofile` and Go's runtime do: 1024 is a common default soft limit,
/// below the default cap plus the pool), and warns when even the hard limit is too low, since
/// the server would then fail to accept before reaching the cap.
#[cfg(unix)]
fn fit_descriptor_limit(max_connections: u32) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let needed = u64::from(max_connections) + RESERVED_DESCRIPTORS;
    let limit = getrlimit(Resource::Nofile);
    let Some(soft) = limit.current else {
        return;
    };
    if soft >= needed {
        return;
    }
    let wanted = limit.maximum.map_or(needed, |hard| hard.min(needed));
    let raised = wanted > soft
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(wanted),
                maximum: limit.maximum,
            },
        )
        .is_ok();
    let now = if raised { wanted } else { soft };
    if now < needed {
        tracing::warn!(
            max_connections,
            open_files_limit = now,
            "TESSERA_SERVER__MAX_CONNECTIONS is above what the open-files limit allows ({} are \
             kept for the database and files): lower it or raise the limit (ulimit -n, systemd \
             LimitNOFILE)",
            RESERVED_DESCRIPTORS
        );
    }
}

/// Errors of one connection (reset before it was accepted) are the client's; others (out of
/// file descriptors) would repeat at once, so the loop pauses before trying again.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    tls: Option<RustlsAcceptor>,
    timeouts: Timeouts,
    stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    // Responses are small and written whole: do not hold them back for more data.
    let _ = stream.set_nodelay(true);
    let (activity, requests) = conn::track(router, peer, &timeouts);
    match tls {
        None => conn::serve(stream, activity, requests, timeouts, stopping).await,
        Some(acceptor) => match acceptor.accept(stream, requests).await {
            Ok((stream, service)) => {
                conn::serve(stream, activity, service, timeouts, stopping).await;
            }
            // Failed handshakes (unknown CA, missing client certificate, too slow) are the
            // client's problem, not ours.
            Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        },
    }
}
