//! The single cases every run is made of, each also a command of its own: client credentials,
//! /jwks.json, code exchange, refresh, logins, the argon2 micro-benchmark.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

use tessera::crypto::master_key::Keyring;
use tessera::model::SigningAlg;

use crate::argon2_cost::{self, Argon2Rate};
use crate::cases::{self, Check, Drive, Measured};
use crate::load::Workload;
use crate::login::{self, Login};
use crate::options::{Common, Ctx, Single, seconds};
use crate::report::{Latencies, Table, mb};
use crate::seed::{self, Backend, Database, Seeded, Seeder};
use crate::server::{Launch, RssSampler, Server, loadavg};

/// A fresh database seeded through the library, and its master key.
pub struct Prepared {
    pub db: Database,
    pub key: String,
    pub seeded: Seeded,
}

pub async fn prepare(ctx: &Ctx, backend: Backend, name: &str) -> Result<Prepared> {
    eprintln!(
        "==> [{}] fresh database, seeded through the service layer",
        backend.name()
    );
    let db = Database::fresh(backend, ctx.work.path(), name, &ctx.pg_admin_url).await?;
    let key = Keyring::generate_encoded();
    let seeder = Seeder::open(&db.url, &key).await?;
    let seeded = seeder.seed().await?;
    seeder.close().await?;
    Ok(Prepared { db, key, seeded })
}

/// How to start a server on `p`'s database, with `extra_env` after the run's own.
pub fn launch(ctx: &Ctx, p: &Prepared, extra_env: &[(String, String)]) -> Launch {
    let mut env = ctx.server_env.clone();
    env.extend(extra_env.iter().cloned());
    Launch {
        bin: ctx.bin.clone(),
        database_url: p.db.url.clone(),
        master_key: p.key.clone(),
        env,
        log: ctx.server_log(),
    }
}

/// What a client-credentials case sends.
pub struct TokenCase<'a> {
    pub alg: SigningAlg,
    pub body: &'a str,
    pub warmup: Duration,
    /// Server environment of this case only.
    pub env: &'a [(String, String)],
}

/// client_credentials with HTTP Basic (RFC 6749 §4.4) for the client of `alg`'s resource.
pub async fn token(
    ctx: &Ctx,
    p: &Prepared,
    case: &TokenCase<'_>,
    drive: &Drive,
) -> Result<Measured> {
    let authorization = p.seeded.service(case.alg)?.basic();
    let work = Arc::new(Workload::token(&authorization, case.body));
    let check = Check::Token {
        authorization,
        alg: case.alg.as_str().to_owned(),
    };
    let warm = Some((work.clone(), case.warmup));
    cases::measure(&launch(ctx, p, case.env), &check, drive, warm, work).await
}

pub async fn jwks(ctx: &Ctx, p: &Prepared, drive: &Drive, warmup: Duration) -> Result<Measured> {
    let work = Arc::new(Workload::get("/jwks.json"));
    let warm = Some((work.clone(), warmup));
    cases::measure(&launch(ctx, p, &[]), &Check::Jwks, drive, warm, work).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Code,
    Refresh,
}

impl Grant {
    pub fn name(self) -> &'static str {
        match self {
            Grant::Code => "code",
            Grant::Refresh => "refresh",
        }
    }

    /// The form body around the value.
    fn form(self) -> Result<(String, String)> {
        Ok(match self {
            Grant::Code => (
                "grant_type=authorization_code&code=".to_owned(),
                format!(
                    "&{}",
                    serde_urlencoded::to_string([("redirect_uri", seed::REDIRECT_URI)])?
                ),
            ),
            Grant::Refresh => (
                "grant_type=refresh_token&refresh_token=".to_owned(),
                String::new(),
            ),
        })
    }
}

/// Code exchange (RFC 6749 §4.1.3) or refresh (§6) for the web client with ID-token
/// algorithm `alg`: `n` single-use values seeded (one for the check, a fifth for the warm-up),
/// each request presenting a different one.
pub async fn grant(
    ctx: &Ctx,
    p: &Prepared,
    (kind, alg, n): (Grant, SigningAlg, usize),
    drive: &Drive,
    warmup: Duration,
) -> Result<Measured> {
    if n < 10 {
        bail!("seed at least 10 values");
    }
    let web = p.seeded.web(alg)?;
    eprintln!("==> seeding {n} {} values", kind.name());
    let seeder = Seeder::open(&p.db.url, &p.key).await?;
    let mut values = match kind {
        Grant::Code => seeder.codes(&web.client_id, &p.seeded.sub, n).await?,
        Grant::Refresh => {
            seeder
                .refresh_tokens(&web.client_id, &p.seeded.sub, n)
                .await?
        }
    };
    seeder.close().await?;
    let (prefix, suffix) = kind.form()?;
    let run = values.split_off(n / 5);
    let warm = values.split_off(1);
    let authorization = web.basic();
    let check = Check::Grant {
        authorization: authorization.clone(),
        body: format!("{prefix}{}{suffix}", values.concat()),
        alg: alg.as_str().to_owned(),
    };
    let warm = Arc::new(Workload::token_pool(&authorization, &prefix, &suffix, warm));
    let work = Arc::new(Workload::token_pool(&authorization, &prefix, &suffix, run));
    cases::measure(
        &launch(ctx, p, &[]),
        &check,
        drive,
        Some((warm, warmup)),
        work,
    )
    .await
}

/// What the login case measured.
pub struct Logins {
    pub latencies: Latencies,
    pub argon2_before: Argon2Rate,
    pub argon2_after: Argon2Rate,
    /// VmRSS before, sampled maximum during, VmHWM, and VmRSS `after` the logins, in KiB.
    pub rss_kib: [u64; 4],
    pub loadavg: String,
}

/// How the login case runs.
#[derive(Args, Clone, Copy)]
pub struct LoginShape {
    #[arg(id = "login_duration", long = "login-duration", env = "BENCH_LOGIN_DURATION", default_value = "30", value_parser = seconds)]
    pub duration: Duration,
    #[arg(
        id = "login_workers",
        long = "login-workers",
        env = "BENCH_LOGIN_WORKERS",
        default_value_t = 4
    )]
    pub workers: usize,
    /// Seconds after the logins before the last memory reading.
    #[arg(id = "login_after", long = "login-after", env = "BENCH_LOGIN_AFTER", default_value = "10", value_parser = seconds)]
    pub after: Duration,
    #[arg(long, env = "BENCH_ARGON2_SECONDS", default_value = "10", value_parser = seconds)]
    pub argon2_seconds: Duration,
}

async fn argon2_rate(seconds: Duration) -> Result<Argon2Rate> {
    let rate = tokio::task::spawn_blocking(move || argon2_cost::measure(seconds, None)).await??;
    eprintln!("==> {}", rate.describe());
    Ok(rate)
}

/// The argon2 micro-benchmark, password logins through the pages with the ES256 web client,
/// then the micro-benchmark again (the machine's load can change within a minute).
pub async fn logins(ctx: &Ctx, p: &Prepared, shape: LoginShape) -> Result<Logins> {
    let argon2_before = argon2_rate(shape.argon2_seconds).await?;
    let la_argon2 = loadavg();
    let server = Server::start(&launch(ctx, p, &[])).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = server.memory_kib("VmRSS")?;
    let la_login = loadavg();
    let sampler = RssSampler::start(&server);
    let login = Login {
        client_id: p.seeded.web(SigningAlg::ES256)?.client_id.clone(),
        redirect_uri: seed::REDIRECT_URI.to_owned(),
        username: seed::USERNAME.to_owned(),
        password: seed::PASSWORD.to_owned(),
    };
    eprintln!(
        "==> logins: {} workers for {} s",
        shape.workers,
        shape.duration.as_secs()
    );
    let latencies = login::drive(server.addr, &login, shape.workers, shape.duration).await;
    let rss_during = sampler.stop();
    let rss_hwm = server.memory_kib("VmHWM")?;
    tokio::time::sleep(shape.after).await;
    let rss_after = server.memory_kib("VmRSS")?;
    for w in server.stop()? {
        eprintln!("    server log: {w}");
    }
    let latencies = latencies?;
    Ok(Logins {
        latencies,
        argon2_before,
        argon2_after: argon2_rate(shape.argon2_seconds).await?,
        rss_kib: [rss_before, rss_during, rss_hwm, rss_after],
        loadavg: format!("{la_argon2} / {la_login}"),
    })
}

pub fn logins_table(after: Duration) -> Table {
    let rss = format!(
        "RSS before / during max / VmHWM / {} s after MB",
        after.as_secs()
    );
    Table::new(&[
        "backend",
        "logins/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "argon2 hashes/s (before / after)",
        "% of argon2",
        &rss,
        "load avg (argon2 / login)",
    ])
}

pub fn logins_row(backend: Backend, l: &Logins) -> Vec<String> {
    let rate = l.latencies.per_second();
    let (before, after) = (l.argon2_before.per_second(), l.argon2_after.per_second());
    let mut cells = vec![backend.name().to_owned()];
    cells.extend(l.latencies.cells());
    cells[1] = format!("{rate:.1}");
    cells.push(format!("{before:.1} / {after:.1}"));
    cells.push(format!(
        "{:.0} / {:.0}",
        100.0 * rate / before.max(1e-9),
        100.0 * rate / after.max(1e-9)
    ));
    let rss: Vec<String> = l.rss_kib.iter().map(|k| mb(*k)).collect();
    cells.push(rss.join(" / "));
    cells.push(l.loadavg.clone());
    cells
}

/// Prints one case as a table.
fn print_case(name: &str, m: &Measured) {
    cases::log_case(name, m);
    let mut table = cases::measured_table(&["case"], &["response"]);
    let mut cells = vec![name.to_owned()];
    cells.extend(cases::measured_cells(m));
    cells.push(m.checked.clone());
    table.row(cells);
    println!("{}", table.render());
}

// ---------------------------------------------------------------------------------------
// The commands.

#[derive(Args)]
pub struct TokenArgs {
    #[command(flatten)]
    single: Single,
    #[arg(long, default_value = "ES256")]
    alg: SigningAlg,
    /// A fixed rate in requests per second instead of a closed loop.
    #[arg(long)]
    rate: Option<u32>,
    /// The form body (e.g. with an RFC 8707 resource parameter).
    #[arg(
        long,
        env = "BENCH_BODY",
        default_value = "grant_type=client_credentials"
    )]
    body: String,
}

impl TokenArgs {
    pub async fn run(self) -> Result<()> {
        let s = self.single;
        let ctx = Ctx::new(&s.common)?;
        let p = prepare(&ctx, s.backend, "tessera_bench").await?;
        let drive = match self.rate {
            Some(rate) => Drive::Rate(rate, ctx.shape(s.duration)),
            None => Drive::Closed(ctx.shape(s.duration)),
        };
        let case = TokenCase {
            alg: self.alg,
            body: &self.body,
            warmup: s.warmup,
            env: &[],
        };
        let m = token(&ctx, &p, &case, &drive).await;
        p.db.remove().await?;
        print_case(&format!("POST /token {}", self.alg.as_str()), &m?);
        Ok(())
    }
}

#[derive(Args)]
pub struct JwksArgs {
    #[command(flatten)]
    single: Single,
}

impl JwksArgs {
    pub async fn run(self) -> Result<()> {
        let s = self.single;
        let ctx = Ctx::new(&s.common)?;
        let p = prepare(&ctx, s.backend, "tessera_bench").await?;
        let m = jwks(&ctx, &p, &Drive::Closed(ctx.shape(s.duration)), s.warmup).await;
        p.db.remove().await?;
        print_case("GET /jwks.json", &m?);
        Ok(())
    }
}

#[derive(Args)]
pub struct GrantArgs {
    #[command(flatten)]
    single: Single,
    /// The web client's ID-token algorithm.
    #[arg(long, default_value = "ES256")]
    alg: SigningAlg,
    /// Values seeded (must outlast warm-up and run).
    #[arg(long, env = "BENCH_CODES", default_value_t = 200_000)]
    codes: usize,
}

impl GrantArgs {
    pub async fn run(self, kind: Grant) -> Result<()> {
        let s = self.single;
        let ctx = Ctx::new(&s.common)?;
        let p = prepare(&ctx, s.backend, "tessera_bench_signin").await?;
        let drive = Drive::Closed(ctx.shape(s.duration));
        let m = grant(&ctx, &p, (kind, self.alg, self.codes), &drive, s.warmup).await;
        p.db.remove().await?;
        print_case(&format!("{} {}", kind.name(), self.alg.as_str()), &m?);
        Ok(())
    }
}

#[derive(Args)]
pub struct LoginArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    #[command(flatten)]
    shape: LoginShape,
}

impl LoginArgs {
    pub async fn run(self) -> Result<()> {
        let ctx = Ctx::new(&self.common)?;
        let p = prepare(&ctx, self.backend, "tessera_bench_signin").await?;
        let l = logins(&ctx, &p, self.shape).await;
        p.db.remove().await?;
        let mut table = logins_table(self.shape.after);
        table.row(logins_row(self.backend, &l?));
        println!("{}", table.render());
        Ok(())
    }
}

#[derive(Args)]
pub struct Argon2Args {
    #[arg(long, env = "BENCH_ARGON2_SECONDS", default_value = "10", value_parser = seconds)]
    seconds: Duration,
    /// Hashing threads (default: one per core).
    #[arg(long)]
    hash_threads: Option<usize>,
}

impl Argon2Args {
    pub async fn run(self) -> Result<()> {
        let (seconds, threads) = (self.seconds, self.hash_threads);
        let rate =
            tokio::task::spawn_blocking(move || argon2_cost::measure(seconds, threads)).await??;
        println!("{}", rate.describe());
        Ok(())
    }
}
