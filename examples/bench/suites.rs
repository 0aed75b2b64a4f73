//! The runs behind the scripts: `all` (scripts/bench), `signin` (scripts/bench-signin) and
//! `overhead` (scripts/bench-overhead), each writing its summary as Markdown.

use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

use tessera::model::SigningAlg;

use crate::cases::{self, Drive, Measured, Out};
use crate::load::Shape;
use crate::options::{Common, Ctx, algs, backends, env_words, seconds};
use crate::report::{self, Table, thousands};
use crate::seed::Backend;
use crate::server::machine;
use crate::single::{self, Grant, LoginShape, Prepared, TokenCase};

#[derive(Args)]
pub struct AllArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, env = "BENCH_BACKENDS", default_value = "sqlite postgres")]
    backends: String,
    /// Algorithms of the throughput runs ("" for none).
    #[arg(long, env = "BENCH_ALGS", default_value = "EdDSA ES256 RS256")]
    algs: String,
    #[arg(long, env = "BENCH_DURATION", default_value = "15", value_parser = seconds)]
    duration: Duration,
    #[arg(long, env = "BENCH_WARMUP", default_value = "3", value_parser = seconds)]
    warmup: Duration,
    /// Requests per second of the fixed-rate case (0 skips it).
    #[arg(long, env = "BENCH_RATE", default_value_t = 1000)]
    rate: u32,
    #[arg(long, env = "BENCH_RATE_CONNECTIONS", default_value_t = 16)]
    rate_connections: usize,
    #[arg(long, env = "BENCH_RATE_ALG", default_value = "ES256")]
    rate_alg: SigningAlg,
    /// 0 skips the /jwks.json run.
    #[arg(long, env = "BENCH_JWKS", default_value_t = 1)]
    jwks: u8,
    /// The client-credentials form body.
    #[arg(
        long,
        env = "BENCH_BODY",
        default_value = "grant_type=client_credentials"
    )]
    body: String,
}

fn token_goal(alg: SigningAlg) -> u32 {
    match alg {
        SigningAlg::EdDSA => 40_000,
        SigningAlg::ES256 => 35_000,
        SigningAlg::RS256 => 6_000,
    }
}

/// A finished case of `all`: its label, figures, goal and whether it was met.
type Judged = (String, Measured, String, bool);

impl AllArgs {
    /// Token issuance per backend and algorithm, p99 at a fixed rate, /jwks.json, memory.
    pub async fn run(self, threads: usize) -> Result<()> {
        let ctx = Ctx::new(&self.common)?;
        let out = Out::create(&ctx.results, "")?;
        let mut table = cases::measured_table(&["backend", "case"], &["goal", "met"]);
        let mut tsv = Vec::new();
        for backend in backends(&self.backends)? {
            let p = single::prepare(&ctx, backend, "tessera_bench").await?;
            let runs = self.backend_cases(&ctx, &p).await;
            p.db.remove().await?;
            for (case, m, goal, met) in runs? {
                cases::log_case(&format!("[{}] {case}", backend.name()), &m);
                table.row(judged_row(backend, &case, &m, goal, met));
                let mut row = vec![backend.name().to_owned(), case];
                row.extend(cases::tsv_cells(&m));
                tsv.push(row);
            }
        }
        let mut header = vec!["backend", "case"];
        header.extend(cases::TSV_COLUMNS);
        out.tsv(&header, &tsv)?;
        out.summary(&format!(
            "# Tessera benchmark, {}\n\n\
             - machine: {}\n\
             - server: {}, default log level (info: one access-log line per request, to a file){}\n\
             - load: examples/bench (Rust, hyper), {} connections on {threads} threads, {} s \
             warm-up + {} s per run; fixed rate: {} req/s on {} connections, latency counted \
             from when each request was due\n\
             - the load generator shares the machine with the server; CPU = % of one core over \
             the\n  measured run (server / load generator / everything else on the machine)\n\n\
             {}\nRSS goals: ≤ 20 MB idle, ≤ 64 MB under load (peak = VmHWM, which includes the \
             warm-up).\n",
            out.started,
            machine(),
            cases::describe_build(&ctx.bin),
            extra_env_note(&ctx.server_env),
            ctx.connections,
            self.warmup.as_secs(),
            self.duration.as_secs(),
            self.rate,
            self.rate_connections,
            table.render()
        ))
    }

    async fn backend_cases(&self, ctx: &Ctx, p: &Prepared) -> Result<Vec<Judged>> {
        let closed = Drive::Closed(ctx.shape(self.duration));
        let mut runs = Vec::new();
        for alg in algs(&self.algs)? {
            eprintln!("==> POST /token {}", alg.as_str());
            let m = single::token(ctx, p, &self.case(alg), &closed).await?;
            let goal = token_goal(alg);
            let met = m.latencies.per_second() >= f64::from(goal);
            let label = format!("POST /token {}", alg.as_str());
            runs.push((label, m, format!("≥ {}/s", thousands(f64::from(goal))), met));
        }
        if self.rate > 0 {
            let label = format!(
                "POST /token {} at {} req/s",
                self.rate_alg.as_str(),
                thousands(f64::from(self.rate))
            );
            eprintln!("==> {label}");
            let shape = Shape {
                connections: self.rate_connections,
                ..ctx.shape(self.duration)
            };
            let drive = Drive::Rate(self.rate, shape);
            let m = single::token(ctx, p, &self.case(self.rate_alg), &drive).await?;
            let met = m.latencies.percentile_ms(99.0) <= 1.0;
            runs.push((label, m, "p99 ≤ 1 ms".into(), met));
        }
        if self.jwks != 0 {
            eprintln!("==> GET /jwks.json");
            let m = single::jwks(ctx, p, &closed, self.warmup).await?;
            let met = m.latencies.per_second() >= 80_000.0;
            runs.push(("GET /jwks.json".into(), m, "≥ 80,000/s".into(), met));
        }
        Ok(runs)
    }

    fn case(&self, alg: SigningAlg) -> TokenCase<'_> {
        TokenCase {
            alg,
            body: &self.body,
            warmup: self.warmup,
            env: &[],
        }
    }
}

fn judged_row(backend: Backend, case: &str, m: &Measured, goal: String, met: bool) -> Vec<String> {
    let memory_ok = m.rss_idle_kib * 1024 <= 20_000_000 && m.rss_peak_kib * 1024 <= 64_000_000;
    let mut verdict = if met { "yes" } else { "**no**" }.to_owned();
    if !memory_ok {
        verdict.push_str(", RSS **no**");
    }
    if m.latencies.timeouts > 0 {
        verdict.push_str(&format!(", {} timeouts", m.latencies.timeouts));
    }
    let mut cells = vec![backend.name().to_owned(), case.to_owned()];
    cells.extend(cases::measured_cells(m));
    cells.push(goal);
    cells.push(verdict);
    cells
}

fn extra_env_note(env: &[(String, String)]) -> String {
    if env.is_empty() {
        return String::new();
    }
    let words: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(", extra server environment: {}", words.join(" "))
}

#[derive(Args)]
pub struct SigninArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, env = "BENCH_BACKENDS", default_value = "sqlite postgres")]
    backends: String,
    /// ID-token algorithms of the code-exchange runs ("" for none).
    #[arg(long, env = "BENCH_ALGS", default_value = "ES256 RS256")]
    algs: String,
    /// 0 skips the refresh run.
    #[arg(long, env = "BENCH_REFRESH", default_value_t = 1)]
    refresh: u8,
    #[arg(long, env = "BENCH_DURATION", default_value = "15", value_parser = seconds)]
    duration: Duration,
    #[arg(long, env = "BENCH_WARMUP", default_value = "2", value_parser = seconds)]
    warmup: Duration,
    /// Codes / refresh tokens seeded per case (must outlast warm-up and run).
    #[arg(long, env = "BENCH_CODES", default_value_t = 200_000)]
    codes: usize,
    /// A pause before each request on each connection, in ms, for latency below saturation.
    #[arg(long, env = "BENCH_PACE_MS")]
    pace_ms: Option<u64>,
    /// The backend of the login run ("" skips it).
    #[arg(long, env = "BENCH_LOGIN_BACKEND", default_value = "sqlite")]
    login_backend: String,
    #[command(flatten)]
    login: LoginShape,
}

impl SigninArgs {
    /// Code exchange per ID-token algorithm, refresh with rotation, password logins.
    pub async fn run(self) -> Result<()> {
        let ctx = Ctx::new(&self.common)?;
        let login_backend = match backends(&self.login_backend)?.as_slice() {
            [] => None,
            [one] => Some(*one),
            _ => bail!("BENCH_LOGIN_BACKEND names one backend"),
        };
        let out = Out::create(&ctx.results, "signin-")?;
        let mut table =
            cases::measured_table(&["backend", "case"], &["load avg before", "response"]);
        let mut logins = single::logins_table(self.login.after);
        let mut tsv = Vec::new();
        for backend in backends(&self.backends)? {
            let p = single::prepare(&ctx, backend, "tessera_bench_signin").await?;
            let runs = self.grant_cases(&ctx, &p).await;
            let login = match (&runs, login_backend == Some(backend)) {
                (Ok(_), true) => Some(single::logins(&ctx, &p, self.login).await),
                _ => None,
            };
            p.db.remove().await?;
            for (case, m) in runs? {
                cases::log_case(&format!("[{}] {case}", backend.name()), &m);
                let mut cells = vec![backend.name().to_owned(), case.clone()];
                cells.extend(cases::measured_cells(&m));
                cells.push(m.loadavg_before.clone());
                cells.push(m.checked.clone());
                table.row(cells);
                let mut row = vec![backend.name().to_owned(), case];
                row.extend(cases::tsv_cells(&m));
                tsv.push(row);
            }
            if let Some(l) = login.transpose()? {
                eprintln!(
                    "==> [{}] logins: {}",
                    backend.name(),
                    l.latencies.one_line()
                );
                logins.row(single::logins_row(backend, &l));
            }
        }
        let mut header = vec!["backend", "case"];
        header.extend(cases::TSV_COLUMNS);
        out.tsv(&header, &tsv)?;
        out.summary(&self.summary(&ctx, &out, &table, &logins))
    }

    async fn grant_cases(&self, ctx: &Ctx, p: &Prepared) -> Result<Vec<(String, Measured)>> {
        let drive = Drive::Closed(Shape {
            pace: self.pace_ms.map(Duration::from_millis),
            ..ctx.shape(self.duration)
        });
        let mut runs = Vec::new();
        for alg in algs(&self.algs)? {
            let what = (Grant::Code, alg, self.codes);
            let m = single::grant(ctx, p, what, &drive, self.warmup).await?;
            runs.push((format!("code {}", alg.as_str()), m));
        }
        if self.refresh != 0 {
            let what = (Grant::Refresh, SigningAlg::ES256, self.codes);
            let m = single::grant(ctx, p, what, &drive, self.warmup).await?;
            runs.push(("refresh ES256".to_owned(), m));
        }
        Ok(runs)
    }

    fn summary(&self, ctx: &Ctx, out: &Out, table: &Table, logins: &Table) -> String {
        let pace = self
            .pace_ms
            .map(|p| format!(", pacing {p} ms"))
            .unwrap_or_default();
        let mut summary = format!(
            "# Sign-in benchmark, {}\n\n- machine: {}\n- server: {}\n\
             - settings: {} s warm-up + {} s per run, {} connections{pace}, {} values seeded \
             per case; logins: {} workers, {} s\n\n",
            out.started,
            machine(),
            cases::describe_build(&ctx.bin),
            self.warmup.as_secs(),
            self.duration.as_secs(),
            ctx.connections,
            self.codes,
            self.login.workers,
            self.login.duration.as_secs()
        );
        if !table.is_empty() {
            summary.push_str(&table.render());
        }
        if !logins.is_empty() {
            summary.push('\n');
            summary.push_str(&logins.render());
        }
        summary
    }
}

#[derive(Args)]
pub struct OverheadArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, env = "BENCH_OVERHEAD_PAIRS", default_value_t = 6)]
    pairs: usize,
    #[arg(long, env = "BENCH_DURATION", default_value = "10", value_parser = seconds)]
    duration: Duration,
    #[arg(long, env = "BENCH_WARMUP", default_value = "3", value_parser = seconds)]
    warmup: Duration,
}

impl OverheadArgs {
    /// The rate limiter and the metrics on, against both off (issue 5, point 10): SQLite,
    /// ES256 client credentials, a fresh server per run, alternating pairs of runs so that
    /// other work hits both alike.
    pub async fn run(self) -> Result<()> {
        let ctx = Ctx::new(&self.common)?;
        let on = env_words(
            "TESSERA_METRICS__TOKEN=bench-scrape-token \
             TESSERA_LIMITS__TOKEN_PER_CLIENT_PER_SECOND=1000000 \
             TESSERA_LIMITS__TOKEN_PER_IP_PER_SECOND=1000000",
        )?;
        let off = env_words("TESSERA_LIMITS__CLIENT_AUTH_FAILURES_PER_MINUTE=0")?;
        let p = single::prepare(&ctx, Backend::Sqlite, "overhead").await?;
        let drive = Drive::Closed(ctx.shape(self.duration));
        let mut runs: Vec<(&str, Measured)> = Vec::new();
        for i in 0..self.pairs {
            // Alternate which configuration goes first, so neither always follows the other.
            let order = if i % 2 == 0 {
                ["on", "off"]
            } else {
                ["off", "on"]
            };
            for config in order {
                let case = TokenCase {
                    alg: SigningAlg::ES256,
                    body: "grant_type=client_credentials",
                    warmup: self.warmup,
                    env: if config == "on" { &on } else { &off },
                };
                let m = single::token(&ctx, &p, &case, &drive).await?;
                eprintln!("==> {config}: {}", m.latencies.one_line());
                runs.push((config, m));
            }
        }
        p.db.remove().await?;
        print_overhead(&runs);
        Ok(())
    }
}

fn print_overhead(runs: &[(&str, Measured)]) {
    let mut table = Table::new(&[
        "run",
        "configuration",
        "tokens/s",
        "p50 ms",
        "p99 ms",
        "server CPU %",
        "other CPU %",
    ]);
    for (i, (config, m)) in runs.iter().enumerate() {
        table.row(vec![
            (i + 1).to_string(),
            (*config).to_owned(),
            thousands(m.latencies.per_second()),
            format!("{:.2}", m.latencies.percentile_ms(50.0)),
            format!("{:.2}", m.latencies.percentile_ms(99.0)),
            format!("{:.0}", m.cpu.server),
            format!("{:.0}", m.cpu.other),
        ]);
    }
    let median_of = |config: &str, f: &dyn Fn(&Measured) -> f64| {
        let mut v: Vec<f64> = runs
            .iter()
            .filter(|(c, _)| *c == config)
            .map(|(_, m)| f(m))
            .collect();
        report::median(&mut v)
    };
    let rate = |m: &Measured| m.latencies.per_second();
    // Server CPU per token is steadier than throughput on a shared machine.
    let cpu_per_token =
        |m: &Measured| m.cpu.server / 100.0 / m.latencies.per_second().max(1e-9) * 1e6;
    let (rate_on, rate_off) = (median_of("on", &rate), median_of("off", &rate));
    println!("{}", table.render());
    println!(
        "median tokens/s: on {}, off {}: limiter + metrics cost {:.1} % of throughput",
        thousands(rate_on),
        thousands(rate_off),
        (rate_off - rate_on) / rate_off.max(1e-9) * 100.0
    );
    println!(
        "median server CPU per token: on {:.1} µs, off {:.1} µs",
        median_of("on", &cpu_per_token),
        median_of("off", &cpu_per_token)
    );
}
