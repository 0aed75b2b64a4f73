//! One measured case: a fresh server, a request checked by hand, a warm-up, then the run with
//! resident memory sampled and CPU time counted; and where the results are written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use tessera::clock::Clock as _;

use crate::http::Conn;
use crate::load::{self, Shape, Workload};
use crate::report::{Latencies, Table};
use crate::server::{CpuShare, CpuWindow, Launch, RssSampler, Server, loadavg};

/// How a case sends its load.
pub enum Drive {
    /// Closed loop (as wrk).
    Closed(Shape),
    /// A fixed rate in requests per second, latency corrected.
    Rate(u32, Shape),
}

impl Drive {
    async fn run(&self, server: &Server, work: Arc<Workload>) -> Result<Latencies> {
        match self {
            Drive::Closed(shape) => load::closed_loop(server.addr, work, *shape).await,
            Drive::Rate(rate, shape) => load::fixed_rate(server.addr, work, *rate, *shape).await,
        }
    }

    fn with_duration(&self, duration: Duration) -> Self {
        match self {
            Drive::Closed(shape) => Drive::Closed(Shape { duration, ..*shape }),
            Drive::Rate(rate, shape) => Drive::Rate(*rate, Shape { duration, ..*shape }),
        }
    }
}

/// What a case measured.
pub struct Measured {
    pub latencies: Latencies,
    pub rss_idle_kib: u64,
    pub rss_peak_kib: u64,
    pub rss_sampled_kib: u64,
    pub cpu: CpuShare,
    pub loadavg_before: String,
    /// What the check by hand saw.
    pub checked: String,
    pub warnings: Vec<String>,
}

/// The check made by hand before the load: one request whose answer is inspected.
pub enum Check {
    /// client_credentials: 200, a Bearer JWT signed with this algorithm.
    Token { authorization: String, alg: String },
    /// A code or refresh grant (this form body): 200, a refresh token, an ID token signed with
    /// this algorithm.
    Grant {
        authorization: String,
        body: String,
        alg: String,
    },
    /// `GET /jwks.json` lists keys.
    Jwks,
}

impl Check {
    async fn run(&self, server: &Server) -> Result<String> {
        let mut conn = Conn::open(server.addr).await?;
        match self {
            Check::Token { authorization, alg } => {
                let body = token(&mut conn, authorization, "grant_type=client_credentials").await?;
                let got = jwt_alg(&body, "access_token")?;
                if got != *alg || body["token_type"] != "Bearer" {
                    bail!("POST /token did not return a Bearer {alg} JWT: {body}");
                }
                Ok(format!("access_token {got}"))
            }
            Check::Grant {
                authorization,
                body,
                alg,
            } => {
                let body = token(&mut conn, authorization, body).await?;
                if body["refresh_token"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty()
                {
                    bail!("no refresh token: {body}");
                }
                let id = jwt_alg(&body, "id_token")?;
                if id != *alg {
                    bail!("the ID token is signed with {id}, not {alg}");
                }
                Ok(format!(
                    "access_token {}, refresh_token rotated, id_token {id}, scope {}",
                    jwt_alg(&body, "access_token")?,
                    body["scope"]
                ))
            }
            Check::Jwks => {
                let answer = conn.get("/jwks.json", &[]).await?;
                let keys: Value = serde_json::from_slice(&answer.body)?;
                let n = keys["keys"].as_array().map_or(0, Vec::len);
                if n == 0 {
                    bail!("GET /jwks.json has no keys");
                }
                Ok(format!("{n} keys"))
            }
        }
    }
}

async fn token(conn: &mut Conn, authorization: &str, body: &str) -> Result<Value> {
    let answer = conn
        .post_form(
            "/token",
            &[("authorization", authorization)],
            body.to_owned(),
        )
        .await?;
    if answer.status.as_u16() != 200 {
        bail!("POST /token answered {}: {}", answer.status, answer.text());
    }
    Ok(serde_json::from_slice(&answer.body)?)
}

/// The `alg` in the JOSE header of the JWT in `field`.
fn jwt_alg(body: &Value, field: &str) -> Result<String> {
    let jwt = body[field]
        .as_str()
        .with_context(|| format!("no {field} in {body}"))?;
    let head = jwt.split('.').next().unwrap_or_default();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head)?)?;
    Ok(header["alg"].as_str().unwrap_or_default().to_owned())
}

/// A fresh server; idle memory; the check; a warm-up of `warmup` (own workload, e.g. its own
/// codes); the measured run.
pub async fn measure(
    launch: &Launch,
    check: &Check,
    drive: &Drive,
    warmup: Option<(Arc<Workload>, Duration)>,
    work: Arc<Workload>,
) -> Result<Measured> {
    let server = Server::start(launch).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle_kib = server.memory_kib("VmRSS")?;
    let checked = check.run(&server).await?;
    if let Some((warm, duration)) = warmup
        && !duration.is_zero()
    {
        drive
            .with_duration(duration)
            .run(&server, warm)
            .await
            .context("warm-up")?;
    }
    let loadavg_before = loadavg();
    let sampler = RssSampler::start(&server);
    let cpu = CpuWindow::start(&server)?;
    let latencies = drive.run(&server, work).await;
    let cpu = cpu.finish()?;
    let rss_sampled_kib = sampler.stop();
    let rss_peak_kib = server.memory_kib("VmHWM")?;
    let warnings = server.stop()?;
    Ok(Measured {
        latencies: latencies?,
        rss_idle_kib,
        rss_peak_kib,
        rss_sampled_kib,
        cpu,
        loadavg_before,
        checked,
        warnings,
    })
}

/// A results folder `bench-results/<prefix><UTC timestamp>/` (gitignored).
pub struct Out {
    pub dir: PathBuf,
    pub started: String,
}

impl Out {
    pub fn create(root: &Path, prefix: &str) -> Result<Self> {
        let now = tessera::SystemClock.now();
        let at = time::OffsetDateTime::from_unix_timestamp(now)?;
        let stamp = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
        let dir = root.join(format!("{prefix}{stamp}"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        eprintln!("==> results: {}", dir.display());
        Ok(Self {
            dir,
            started: format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            ),
        })
    }

    /// Writes `summary.md` and prints it.
    pub fn summary(&self, text: &str) -> Result<()> {
        std::fs::write(self.dir.join("summary.md"), text)?;
        println!("{text}");
        eprintln!("==> written: {}", self.dir.join("summary.md").display());
        Ok(())
    }

    /// Writes `results.tsv`: one line per case.
    pub fn tsv(&self, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
        let mut text = header.join("\t");
        text.push('\n');
        for row in rows {
            text.push_str(&row.join("\t"));
            text.push('\n');
        }
        std::fs::write(self.dir.join("results.tsv"), text)?;
        Ok(())
    }
}

/// "target/release/tessera built from <commit>[ + uncommitted changes]" for the summaries.
pub fn describe_build(bin: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"])
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "?".into());
    let dirty = git(&[
        "diff",
        "--quiet",
        "HEAD",
        "--",
        "src",
        "migrations",
        "Cargo.toml",
        "Cargo.lock",
    ])
    .is_none();
    format!(
        "{} built from {commit}{}",
        bin.display(),
        if dirty { " + uncommitted changes" } else { "" }
    )
}

/// Logs a finished case to stderr.
pub fn log_case(name: &str, m: &Measured) {
    eprintln!(
        "==> {name}: {}; RSS idle {} KiB, peak {} KiB; CPU % server/generator/other {} \
         (load average before: {}); {}",
        m.latencies.one_line(),
        m.rss_idle_kib,
        m.rss_peak_kib,
        m.cpu.cell(),
        m.loadavg_before,
        m.checked
    );
    for w in &m.warnings {
        eprintln!("    server log: {w}");
    }
}

/// The usual columns of a throughput table after the case's own ones.
pub fn measured_cells(m: &Measured) -> Vec<String> {
    let mut cells = m.latencies.cells();
    cells.push(crate::report::mb(m.rss_idle_kib));
    cells.push(crate::report::mb(m.rss_peak_kib));
    cells.push(m.cpu.cell());
    cells
}

pub const MEASURED_COLUMNS: [&str; 8] = [
    "req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "RSS idle MB",
    "RSS peak MB",
    "CPU % server / generator / other",
];

/// A table with `first` columns then [`MEASURED_COLUMNS`] then `last`.
pub fn measured_table(first: &[&str], last: &[&str]) -> Table {
    let titles: Vec<&str> = first
        .iter()
        .chain(MEASURED_COLUMNS.iter())
        .chain(last.iter())
        .copied()
        .collect();
    Table::new(&titles)
}

/// The tab-separated figures of a case, for results.tsv.
pub fn tsv_cells(m: &Measured) -> Vec<String> {
    let l = &m.latencies;
    vec![
        format!("{:.0}", l.per_second()),
        format!("{:.3}", l.percentile_ms(50.0)),
        format!("{:.3}", l.percentile_ms(90.0)),
        format!("{:.3}", l.percentile_ms(99.0)),
        format!("{:.3}", l.max_ms()),
        m.rss_idle_kib.to_string(),
        m.rss_peak_kib.to_string(),
        m.rss_sampled_kib.to_string(),
        format!("{:.0}", m.cpu.server),
        format!("{:.0}", m.cpu.generator),
        format!("{:.0}", m.cpu.other),
        m.loadavg_before.clone(),
        l.timeouts.to_string(),
    ]
}

pub const TSV_COLUMNS: [&str; 13] = [
    "req_per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "rss_idle_kib",
    "rss_peak_kib",
    "rss_sampled_max_kib",
    "cpu_server_pct",
    "cpu_loadgen_pct",
    "cpu_other_pct",
    "loadavg_before",
    "timeouts",
];
