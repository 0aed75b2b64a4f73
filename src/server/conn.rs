//! One connection: HTTP/1.1 or HTTP/2 (chosen by the client) served by hyper, with the
//! deadlines that keep slow or silent clients from holding a connection (and a file
//! descriptor) forever.
//!
//! hyper's own `header_read_timeout` also counts the wait for the next request on a kept-alive
//! connection, which would close idle connections after the (short) header timeout and defeat a
//! longer keep-alive that load balancers rely on. So both deadlines are kept here, from what the
//! connection's reads and requests show:
//! - a request head must arrive within the header-read timeout of its first byte (and the first
//!   request within that time of the connection's start): missed, the connection is dropped;
//! - with no request in progress and nothing read or written for the keep-alive timeout, the
//!   connection is closed gracefully (HTTP/2: GOAWAY).
//!
//! Request bodies have their own deadline ([`super::body`]).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use super::Timeouts;
use super::body::Deadline;

/// What the deadlines are computed from, shared by the stream and the service.
struct State {
    /// When the head being read started: the connection's start before its first request, the
    /// first byte after the last request otherwise; None while idle or in a request.
    head_since: Option<Instant>,
    /// Requests whose response has not been produced yet.
    busy: usize,
    /// The last read or write, or the end of the last request.
    last: Instant,
    /// HTTP/1 or HTTP/2, as far as the first bytes tell (read above TLS, so over TLS too).
    protocol: Protocol,
}

/// What the first bytes of a connection say.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// This many bytes matched the HTTP/2 preface so far.
    Undecided(usize),
    Http1,
    /// Frames between requests (PING, WINDOW_UPDATE) are not a request head, so only the first
    /// request is held to the header timeout.
    Http2,
}

impl Protocol {
    /// Matches `bytes` against the rest of the preface. A byte at a time is enough to tell:
    /// a client trickling `P`, `O`, … cannot pass for HTTP/2 and escape the header timeout.
    fn after(self, bytes: &[u8]) -> Self {
        let Self::Undecided(matched) = self else {
            return self;
        };
        let rest = &H2_PREFACE[matched..];
        let n = rest.len().min(bytes.len());
        if rest[..n] != bytes[..n] {
            Self::Http1
        } else if n == rest.len() {
            Self::Http2
        } else {
            Self::Undecided(matched + n)
        }
    }
}

/// The HTTP/2 connection preface (RFC 9113 §3.4), as far as needed to tell it from HTTP/1.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

#[derive(Clone)]
pub(super) struct Activity(Arc<Mutex<State>>);

impl Activity {
    fn new() -> Self {
        let now = Instant::now();
        Self(Arc::new(Mutex::new(State {
            head_since: Some(now),
            busy: 0,
            last: now,
            protocol: Protocol::Undecided(0),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it; if something did, the state would still be usable
        // (at worst one deadline off), which beats failing every later read.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self, bytes: &[u8]) {
        let mut s = self.lock();
        let now = Instant::now();
        s.last = now;
        s.protocol = s.protocol.after(bytes);
        if s.busy == 0
            && s.head_since.is_none()
            && s.protocol != Protocol::Http2
            && !bytes.is_empty()
        {
            s.head_since = Some(now);
        }
    }

    fn wrote(&self) {
        self.lock().last = Instant::now();
    }

    fn request_started(&self) -> RequestGuard {
        let mut s = self.lock();
        s.busy += 1;
        s.head_since = None;
        RequestGuard(self.clone())
    }

    /// When to look again, and what happens then if nothing changed.
    fn next_deadline(&self, timeouts: &Timeouts) -> (Instant, Expiry) {
        let s = self.lock();
        if s.busy > 0 {
            return (Instant::now() + timeouts.keep_alive, Expiry::Busy);
        }
        match s.head_since {
            Some(since) => (since + timeouts.header_read, Expiry::HeadTooSlow),
            None => (s.last + timeouts.keep_alive, Expiry::Idle),
        }
    }
}

enum Expiry {
    Busy,
    HeadTooSlow,
    Idle,
}

/// Marks a request in progress until its response is produced.
struct RequestGuard(Activity);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.busy -= 1;
        s.last = Instant::now();
    }
}

/// A stream that reports its reads and writes to the connection's [`Activity`].
struct Tracked<T> {
    inner: T,
    activity: Activity,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.activity.read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(_)) = polled {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(_)) = polled {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router for one connection: adds the peer address (`ConnectInfo`) and marks each request
/// in progress for the deadlines.
#[derive(Clone)]
pub(super) struct Requests {
    router: Router,
    peer: SocketAddr,
    activity: Activity,
    body_timeout: std::time::Duration,
}

impl tower::Service<Request<Incoming>> for Requests {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let deadline = Instant::now() + self.body_timeout;
        let mut req = req.map(|body| axum::body::Body::new(Deadline::new(body, deadline)));
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let guard = self.activity.request_started();
        let response = tower::ServiceExt::oneshot(self.router.clone(), req);
        Box::pin(async move {
            let response = response.await;
            drop(guard);
            response
        })
    }
}

/// The deadline keeper of a new connection and the service for its requests.
pub(super) fn track(router: Router, peer: SocketAddr, timeouts: &Timeouts) -> (Activity, Requests) {
    let activity = Activity::new();
    let requests = Requests {
        router,
        peer,
        activity: activity.clone(),
        body_timeout: timeouts.body,
    };
    (activity, requests)
}

/// Serves a connection until the client closes it, a deadline passes, or `shutdown` turns true
/// (then in-flight requests finish first). `stream` is what HTTP is read from (the TLS stream
/// over TLS); `service` is the [`Requests`] of `activity`, possibly wrapped.
pub(super) async fn serve<T, S>(
    stream: T,
    activity: Activity,
    service: S,
    timeouts: Timeouts,
    mut shutdown: watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's header timer would also close idle kept-alive connections: see the module
    // comment.
    builder.http1().header_read_timeout(None);
    let conn = builder.serve_connection(io, TowerToHyperService::new(service));
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let (deadline, _) = activity.next_deadline(&timeouts);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            // An Err (the sender is gone) means the server stops too.
            _ = shutdown.wait_for(|&stop| stop), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = tokio::time::sleep_until(deadline), if !closing => {
                // Activity since the sleep began may have moved the deadline.
                let (deadline, expiry) = activity.next_deadline(&timeouts);
                if deadline > Instant::now() {
                    continue;
                }
                match expiry {
                    Expiry::Busy => {}
                    Expiry::HeadTooSlow => {
                        tracing::debug!("closing a connection: request head not received in time");
                        return;
                    }
                    Expiry::Idle => {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http2_preface_is_recognised_only_when_whole() {
        let fed = |chunks: &[&[u8]]| {
            chunks
                .iter()
                .fold(Protocol::Undecided(0), |p, chunk| p.after(chunk))
        };
        assert!(fed(&[b"PRI * HTTP/2.0\r\n\r\nSM"]) == Protocol::Http2);
        assert!(fed(&[b"PRI *", b" HTTP/2", b".0"]) == Protocol::Http2);
        assert!(fed(&[b"P", b"O", b"ST /token"]) == Protocol::Http1);
        assert!(fed(&[b"P", b"R"]) == Protocol::Undecided(2));
        assert!(fed(&[b"GET / HTTP/1.1"]) == Protocol::Http1);
        assert!(fed(&[b"GET", b"PRI * HTTP/2.0"]) == Protocol::Http1);
    }
}
