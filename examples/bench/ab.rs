//! Alternating A/B runs of several server binaries (scripts/bench-ab): each round starts a
//! fresh server per binary and runs the same cases back to back, so the binaries are compared
//! within the same minutes on a machine whose speed drifts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;

use tessera::crypto::master_key::Keyring;
use tessera::model::SigningAlg;

use crate::load::{self, Workload};
use crate::options::{Common, Ctx, env_words, seconds};
use crate::report::{Table, mb, median, thousands};
use crate::seed::{Backend, Credentials, Database};
use crate::server::{CpuWindow, Launch, Server, check_executable};

#[derive(Args)]
pub struct AbArgs {
    #[command(flatten)]
    common: Common,
    /// token:EdDSA, token:ES256, token:RS256 or a GET path such as /jwks.json.
    #[arg(
        long,
        env = "BENCH_AB_CASES",
        default_value = "token:EdDSA token:ES256 /jwks.json"
    )]
    cases: String,
    #[arg(long, env = "BENCH_AB_ROUNDS", default_value_t = 2)]
    rounds: usize,
    #[arg(long, env = "BENCH_AB_DURATION", default_value = "8", value_parser = seconds)]
    duration: Duration,
    #[arg(long, env = "BENCH_AB_WARMUP", default_value = "2", value_parser = seconds)]
    warmup: Duration,
    /// Extra VAR=value words for the servers (e.g. TOKIO_WORKER_THREADS=4).
    #[arg(long, env = "BENCH_AB_ENV", default_value = "")]
    env: String,
    /// The server binaries to compare.
    #[arg(required = true, num_args = 2..)]
    binaries: Vec<PathBuf>,
}

/// One binary with its own database.
struct Contender {
    bin: PathBuf,
    launch: Launch,
    clients: Vec<(SigningAlg, Credentials)>,
}

/// Each binary's own SQLite database, seeded by that binary's CLI: only the binary knows its
/// schema (an older build refuses a database with newer migrations than it has).
fn seed_with_cli(bin: &Path, url: &str, key: &str) -> Result<Vec<(SigningAlg, Credentials)>> {
    let run = |args: &[&str]| -> Result<Value> {
        let output = std::process::Command::new(bin)
            .args(args)
            .env("TESSERA_DATABASE_URL", url)
            .env("TESSERA_MASTER_KEY", key)
            .env("RUST_LOG", "warn")
            .output()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        if !output.status.success() {
            bail!(
                "{} {}: {}",
                bin.display(),
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(serde_json::from_slice(&output.stdout).unwrap_or(Value::Null))
    };
    run(&["migrate"])?;
    let mut clients = Vec::new();
    for alg in [SigningAlg::EdDSA, SigningAlg::ES256, SigningAlg::RS256] {
        let alg_name = alg.as_str();
        let resource = format!("https://api.example.com/ab-{alg_name}");
        let (name, client_name) = (format!("ab {alg_name}"), format!("ab-{alg_name}"));
        run(&[
            "resources",
            "create",
            &resource,
            "--name",
            &name,
            "--scope",
            "read=Read",
            "--alg",
            alg_name,
            "--json",
        ])?;
        let client = run(&[
            "clients",
            "create",
            "--name",
            &client_name,
            "--resource",
            &resource,
            "--json",
        ])?;
        let field = |v: &Value| v.as_str().map(str::to_owned);
        let credentials = Credentials {
            client_id: field(&client["client"]["client_id"]).context("no client_id")?,
            secret: field(&client["client_secret"]).context("no client_secret")?,
        };
        clients.push((alg, credentials));
    }
    Ok(clients)
}

impl AbArgs {
    pub async fn run(mut self) -> Result<()> {
        self.common.bin = self.binaries.first().cloned().unwrap_or_default();
        let mut ctx = Ctx::new(&self.common)?;
        ctx.server_env.extend(env_words(&self.env)?);
        let cases: Vec<String> = self.cases.split_whitespace().map(str::to_owned).collect();
        let mut contenders = Vec::new();
        for (i, bin) in self.binaries.iter().enumerate() {
            check_executable(bin)?;
            let db =
                Database::fresh(Backend::Sqlite, ctx.work.path(), &format!("ab-{i}"), "").await?;
            let key = Keyring::generate_encoded();
            let clients = seed_with_cli(bin, &db.url, &key)?;
            let launch = Launch {
                bin: bin.clone(),
                database_url: db.url,
                master_key: key,
                env: ctx.server_env.clone(),
                log: ctx.server_log(),
            };
            contenders.push(Contender {
                bin: bin.clone(),
                launch,
                clients,
            });
        }
        let mut table = Table::new(&[
            "round",
            "binary",
            "case",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "server CPU %",
            "RSS idle / peak MB",
        ]);
        let mut rates: Vec<(String, String, f64)> = Vec::new();
        for round in 1..=self.rounds {
            for c in &contenders {
                for (case, cells, rate) in self.round(&ctx, c, &cases).await? {
                    let mut row =
                        vec![round.to_string(), c.bin.display().to_string(), case.clone()];
                    row.extend(cells);
                    eprintln!("{}", row.join(" | "));
                    table.row(row);
                    rates.push((c.bin.display().to_string(), case, rate));
                }
            }
        }
        let mut medians = Table::new(&["binary", "case", "median req/s"]);
        for c in &contenders {
            let name = c.bin.display().to_string();
            for case in &cases {
                let mut v: Vec<f64> = rates
                    .iter()
                    .filter(|(b, k, _)| *b == name && k == case)
                    .map(|(.., r)| *r)
                    .collect();
                medians.row(vec![name.clone(), case.clone(), thousands(median(&mut v))]);
            }
        }
        println!("{}\n{}", table.render(), medians.render());
        Ok(())
    }

    /// One fresh server of `c`, each case warmed up and measured on it: (case, cells, req/s).
    async fn round(
        &self,
        ctx: &Ctx,
        c: &Contender,
        cases: &[String],
    ) -> Result<Vec<(String, Vec<String>, f64)>> {
        let server = Server::start(&c.launch).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle = server.memory_kib("VmRSS")?;
        let mut out = Vec::new();
        for case in cases {
            let work = Arc::new(workload(case, &c.clients)?);
            load::closed_loop(server.addr, work.clone(), ctx.shape(self.warmup)).await?;
            let cpu = CpuWindow::start(&server)?;
            let l = load::closed_loop(server.addr, work, ctx.shape(self.duration))
                .await
                .with_context(|| format!("{case} on {}", c.bin.display()))?;
            let cpu = cpu.finish()?;
            let peak = server.memory_kib("VmHWM")?;
            let mut cells = l.cells();
            cells.push(format!("{:.0}", cpu.server));
            cells.push(format!("{} / {}", mb(idle), mb(peak)));
            out.push((case.clone(), cells, l.per_second()));
        }
        for w in server.stop()? {
            eprintln!("    server log: {w}");
        }
        Ok(out)
    }
}

fn workload(case: &str, clients: &[(SigningAlg, Credentials)]) -> Result<Workload> {
    match case.strip_prefix("token:") {
        Some(alg) => {
            let alg: SigningAlg = alg.parse().map_err(|e| anyhow::anyhow!("{case}: {e}"))?;
            let credentials = clients
                .iter()
                .find(|(a, _)| *a == alg)
                .map(|(_, c)| c)
                .with_context(|| format!("no client for {case}"))?;
            Ok(Workload::token(
                &credentials.basic(),
                "grant_type=client_credentials",
            ))
        }
        None if case.starts_with('/') => Ok(Workload::get(case)),
        None => bail!("unknown case {case} (token:ALG or a GET path)"),
    }
}
