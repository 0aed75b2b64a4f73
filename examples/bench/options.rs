//! Options every server-driving command shares, and what a run is given from them.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use tessera::model::SigningAlg;

use crate::load::Shape;
use crate::seed::Backend;

#[derive(Args)]
pub struct Common {
    /// The server binary.
    #[arg(long, env = "BENCH_BIN", default_value = "target/release/tessera")]
    pub bin: PathBuf,
    /// PostgreSQL URL through which benchmark databases are dropped and created.
    #[arg(
        long,
        env = "BENCH_PG_ADMIN_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg_admin_url: String,
    /// Extra VAR=value words for the server only (diagnostics, e.g. RUST_LOG=warn).
    #[arg(long, env = "BENCH_SERVER_ENV", default_value = "")]
    server_env: String,
    /// Concurrent connections (wrk's -c).
    #[arg(long, env = "BENCH_CONNECTIONS", default_value_t = 64)]
    connections: usize,
    /// A request unanswered this long counts as a timeout (e.g. 10s).
    #[arg(long, env = "BENCH_WRK_TIMEOUT", default_value = "10s", value_parser = seconds)]
    timeout: Duration,
    /// Where result folders go.
    #[arg(long, env = "BENCH_RESULTS", default_value = "bench-results")]
    results: PathBuf,
}

/// Settings of one single case.
#[derive(Args)]
pub struct Single {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: Backend,
    /// Measured seconds.
    #[arg(long, env = "BENCH_DURATION", default_value = "15", value_parser = seconds)]
    pub duration: Duration,
    /// Warm-up seconds (not counted).
    #[arg(long, env = "BENCH_WARMUP", default_value = "2", value_parser = seconds)]
    pub warmup: Duration,
}

/// "10", "10s" or "1.5" → seconds.
pub fn seconds(raw: &str) -> Result<Duration, String> {
    raw.trim_end_matches('s')
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{raw:?} is not a number of seconds"))
}

/// What every run needs: the server binary, where PostgreSQL is, the server's extra
/// environment, how requests are sent, and a scratch directory (removed at the end).
pub struct Ctx {
    pub bin: PathBuf,
    pub pg_admin_url: String,
    pub server_env: Vec<(String, String)>,
    pub connections: usize,
    pub timeout: Duration,
    pub results: PathBuf,
    pub work: tempfile::TempDir,
}

impl Ctx {
    pub fn new(common: &Common) -> Result<Self> {
        crate::server::check_executable(&common.bin)?;
        Ok(Self {
            bin: common.bin.clone(),
            pg_admin_url: common.pg_admin_url.clone(),
            server_env: env_words(&common.server_env)?,
            connections: common.connections,
            timeout: common.timeout,
            results: common.results.clone(),
            work: tempfile::Builder::new()
                .prefix("tessera-bench.")
                .tempdir()?,
        })
    }

    pub fn shape(&self, duration: Duration) -> Shape {
        Shape {
            connections: self.connections,
            duration,
            timeout: self.timeout,
            pace: None,
        }
    }

    /// The server's log file in the scratch directory.
    pub fn server_log(&self) -> PathBuf {
        self.work.path().join("server.log")
    }
}

/// `VAR=value VAR2=value2` → pairs.
pub fn env_words(words: &str) -> Result<Vec<(String, String)>> {
    words
        .split_whitespace()
        .map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .with_context(|| format!("{w:?} is not VAR=value"))
        })
        .collect()
}

/// "EdDSA ES256" → algorithms.
pub fn algs(words: &str) -> Result<Vec<SigningAlg>> {
    words
        .split_whitespace()
        .map(|w| w.parse().map_err(|e| anyhow::anyhow!("{w}: {e}")))
        .collect()
}

/// "sqlite postgres" → backends.
pub fn backends(words: &str) -> Result<Vec<Backend>> {
    words
        .split_whitespace()
        .map(|w| match w {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" => Ok(Backend::Postgres),
            other => bail!("unknown backend {other} (sqlite or postgres)"),
        })
        .collect()
}
