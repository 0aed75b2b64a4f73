//! What the rate limiter and the metrics add to one client-credentials request, timed in
//! isolation (BENCHMARKS.md, "Cost of the rate limiter and the metrics"): the calls `POST /token`
//! makes with limits on successful traffic configured and metrics recorded, against the calls
//! left when both are off. End-to-end throughput on a shared 2-core machine varies more than
//! this difference; these per-call figures bound it. Each case runs on one thread, then on two
//! at once (the server's two tokio workers share the limiter's and the registry's maps and
//! counters, so contention is part of the cost).
//!
//! `cargo run --release --example limits_metrics_cost [iterations]`

// A measurement program run by hand: a failed setup step ends the run with its message.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;

use tessera::SystemClock;
use tessera::config::LimitsConfig;
use tessera::metrics::Metrics;
use tessera::service::limits::{Limit, Limits};
use tessera::store::Db;

const CLIENT: &str = "c_Xq3v9KpL2mN8rT5wY1zA4b";
const IP: &str = "127.0.0.1";

/// Wall-clock nanoseconds per iteration of `f` while `threads` threads each run it
/// `iterations` times.
fn per_call(threads: u32, iterations: u32, f: impl Fn() + Sync) -> f64 {
    // Warm the maps and caches first, as a running server has them.
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..iterations {
                    f();
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / f64::from(iterations)
}

/// The limiter calls of one `/token` request: per-IP limit, the failure block list, per-client
/// limit (as `http::oauth::token` and `http::oauth::authenticate` make them).
fn limiter_calls(limits: &Limits) {
    let _ = black_box(limits.check(Limit::TokenPerIp, black_box(IP)));
    let _ = black_box(limits.client_blocked(black_box(CLIENT), black_box(IP)));
    let _ = black_box(limits.check(Limit::TokenPerClient, black_box(CLIENT)));
}

/// The metrics calls of one `/token` request: the access log's request counter and latency
/// histogram, and the tokens-issued counter.
fn metrics_calls(metrics: &Metrics) {
    metrics.http(
        black_box("/token"),
        "POST",
        200,
        black_box(Duration::from_micros(60)),
    );
    metrics.token_issued(black_box("client_credentials"), black_box(CLIENT));
}

fn main() {
    let iterations = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000_000u32);
    let clock: tessera::clock::SharedClock = Arc::new(SystemClock);
    // The in-process limiter (the default) never touches the database; Limits::new only
    // needs one to offer the shared kind.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let db = runtime
        .block_on(Db::connect("sqlite::memory:", 1))
        .expect("in-memory SQLite");
    let limits = |config: LimitsConfig| {
        Limits::new(&config, clock.clone(), &db, Counter::default()).expect("local limits")
    };
    // Far above any load: every call is checked, none refused.
    let on = limits(LimitsConfig {
        token_per_client_per_second: 1_000_000,
        token_per_ip_per_second: 1_000_000,
        ..LimitsConfig::default()
    });
    let off = limits(LimitsConfig {
        client_auth_failures_per_minute: 0,
        ..LimitsConfig::default()
    });
    let recording = Metrics::new(&[], true);
    let silent = Metrics::new(&[], false);

    for threads in [1, 2] {
        let limits_on = per_call(threads, iterations, || limiter_calls(&on));
        let limits_off = per_call(threads, iterations, || limiter_calls(&off));
        let metrics_on = per_call(threads, iterations, || metrics_calls(&recording));
        let metrics_off = per_call(threads, iterations, || metrics_calls(&silent));
        println!("per /token request, {iterations} iterations on each of {threads} thread(s):");
        println!("  limiter  on {limits_on:7.1} ns   off {limits_off:7.1} ns");
        println!("  metrics  on {metrics_on:7.1} ns   off {metrics_off:7.1} ns");
        println!(
            "  added by limiter + metrics: {:.1} ns",
            limits_on + metrics_on - limits_off - metrics_off
        );
    }
}
