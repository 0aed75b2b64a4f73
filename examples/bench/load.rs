//! The load generators: a closed loop (each connection sends its next request when the last
//! one is answered, as wrk does) and a fixed rate (requests due on a schedule, latency counted
//! from when each was due, so a stall is not hidden by coordinated omission).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hyper::body::Bytes;
use hyper::{Method, Request};
use tokio::task::JoinSet;

use crate::http::{Answer, Body, Conn};
use crate::report::Latencies;

/// What every request of a run sends.
pub struct Workload {
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Form,
}

enum Form {
    None,
    Fixed(Bytes),
    /// `prefix + value + suffix`, each value of the pool used once (codes, refresh tokens).
    Pool {
        prefix: String,
        suffix: String,
        values: Vec<String>,
        next: AtomicUsize,
    },
}

impl Workload {
    pub fn get(path: &str) -> Self {
        Self {
            method: Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Form::None,
        }
    }

    /// `POST /token` with HTTP Basic client authentication and a fixed form body.
    pub fn token(authorization: &str, body: &str) -> Self {
        Self {
            method: Method::POST,
            path: "/token".to_owned(),
            headers: form_headers(authorization),
            body: Form::Fixed(Bytes::from(body.to_owned())),
        }
    }

    /// `POST /token` whose body carries one value of `values` per request, each used once
    /// (single-use codes and refresh tokens). Running out fails the run.
    pub fn token_pool(
        authorization: &str,
        prefix: &str,
        suffix: &str,
        values: Vec<String>,
    ) -> Self {
        Self {
            method: Method::POST,
            path: "/token".to_owned(),
            headers: form_headers(authorization),
            body: Form::Pool {
                prefix: prefix.to_owned(),
                suffix: suffix.to_owned(),
                values,
                next: AtomicUsize::new(0),
            },
        }
    }

    fn request(&self) -> Result<Request<Body>> {
        let body = match &self.body {
            Form::None => Body::default(),
            Form::Fixed(bytes) => Body::new(bytes.clone()),
            Form::Pool {
                prefix,
                suffix,
                values,
                next,
            } => {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let value = values.get(i).with_context(|| {
                    format!(
                        "all {} seeded values were used: seed more (--codes) or run shorter",
                        values.len()
                    )
                })?;
                Body::from(format!("{prefix}{value}{suffix}"))
            }
        };
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(&self.path);
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        Ok(request.body(body)?)
    }
}

fn form_headers(authorization: &str) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", authorization.to_owned()),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("accept", "application/json".to_owned()),
    ]
}

/// How a run sends its requests.
#[derive(Clone, Copy)]
pub struct Shape {
    pub connections: usize,
    pub duration: Duration,
    /// A request unanswered this long counts as a timeout (and its connection is replaced).
    pub timeout: Duration,
    /// A pause before each request on each connection (closed loop only): a run below
    /// saturation. Latencies do not include it.
    pub pace: Option<Duration>,
}

/// Any answer but 2xx fails the run, as a wrong answer measured fast is no result.
fn check(answer: &Answer) -> Result<()> {
    if !answer.status.is_success() {
        let text = answer.text();
        bail!(
            "{} answered: {}",
            answer.status,
            text.chars().take(300).collect::<String>()
        );
    }
    Ok(())
}

/// Each of `shape.connections` connections sends the next request as soon as the last one
/// was answered, for `shape.duration`.
pub async fn closed_loop(addr: SocketAddr, work: Arc<Workload>, shape: Shape) -> Result<Latencies> {
    let started = Instant::now();
    let deadline = started + shape.duration;
    let mut tasks = JoinSet::new();
    for _ in 0..shape.connections {
        let work = work.clone();
        tasks.spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut nanos = Vec::with_capacity(4096);
            let mut timeouts = 0u64;
            while Instant::now() < deadline {
                if let Some(pace) = shape.pace {
                    tokio::time::sleep(pace).await;
                }
                let request = work.request()?;
                let sent = Instant::now();
                match tokio::time::timeout(shape.timeout, conn.send(request)).await {
                    Ok(answer) => {
                        check(&answer?)?;
                        nanos.push(sent.elapsed().as_nanos() as u64);
                    }
                    Err(_) => {
                        timeouts += 1;
                        conn = Conn::open(addr).await?;
                    }
                }
            }
            Ok::<_, anyhow::Error>((nanos, timeouts))
        });
    }
    collect(tasks, started).await
}

/// `rate` requests per second for `shape.duration`, due at even intervals and sent on the
/// first free of `shape.connections` connections. A request sent more than 2 ms after it was
/// due (every connection was busy) counts from when it was due; below that the gap is the
/// timer's granularity, not the server's doing, and is not counted.
pub async fn fixed_rate(
    addr: SocketAddr,
    work: Arc<Workload>,
    rate: u32,
    shape: Shape,
) -> Result<Latencies> {
    let total = u64::from(rate) * shape.duration.as_secs().max(1);
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..shape.connections {
        let (work, next) = (work.clone(), next.clone());
        tasks.spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut nanos = Vec::with_capacity(4096);
            let mut timeouts = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let due = started + interval.mul_f64(i as f64);
                tokio::time::sleep_until(due.into()).await;
                let sent = Instant::now();
                let from = if sent > due + Duration::from_millis(2) {
                    due
                } else {
                    sent
                };
                let request = work.request()?;
                match tokio::time::timeout(shape.timeout, conn.send(request)).await {
                    Ok(answer) => {
                        check(&answer?)?;
                        nanos.push(from.elapsed().as_nanos() as u64);
                    }
                    Err(_) => {
                        timeouts += 1;
                        conn = Conn::open(addr).await?;
                    }
                }
            }
            Ok::<_, anyhow::Error>((nanos, timeouts))
        });
    }
    collect(tasks, started).await
}

async fn collect(
    mut tasks: JoinSet<Result<(Vec<u64>, u64)>>,
    started: Instant,
) -> Result<Latencies> {
    let mut all = Vec::new();
    let mut timeouts = 0;
    while let Some(done) = tasks.join_next().await {
        let (nanos, t) = done??;
        all.extend(nanos);
        timeouts += t;
    }
    Ok(Latencies::new(all, started.elapsed(), timeouts))
}
