//! The admin console at scale (PostgreSQL, issue 4 point 8): list, keyset and search pages over
//! many clients and users, measured as *server* time (the access log's `micros`), with the plans
//! PostgreSQL ran for them (scripts/bench-console). Requests go one at a time on one keep-alive
//! connection, so the figures are the cost of a page, not queueing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;

use tessera::crypto::master_key::Keyring;

use crate::cases::Out;
use crate::console_db::{expected, explain, postgres, postgres_version, template_hashes};
use crate::console_pages::{Driven, drive};
use crate::console_report::{plan_texts, server_times};
use crate::options::{Common, Ctx};
use crate::report::{Table, thousands};
use crate::seed::{Backend, Database};
use crate::server::{Launch, Server, loadavg, machine};

pub const ADMIN_PASSWORD: &str = "bench console admin password";
pub const DATABASE: &str = "tessera_bench_console";
pub const RESOURCE_A: &str = "https://api.example.com/orders";
pub const RESOURCE_B: &str = "https://api.example.com/reports";
/// The log of the auto_explain pass.
const PLANS_LOG: &str = "server-plans.log";
/// Rows on one console page.
pub const PAGE_ROWS: usize = 50;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The same URL again and again.
    Repeat,
    /// Follow the "Next page" links (the keyset cursor) to the end, and again.
    Walk,
}

/// The pages measured: name, page, search prefix, mode. Prefixes are in mixed case on purpose:
/// the search must not care. Their selectivities come from the seed (console-seed.sql): "Ord"
/// ≈ 17 % of clients, "qUOKKA" 4 clients, "C_" every client (through client_id; "_" is a LIKE
/// wildcard the server must escape); "MGar" only usernames, "Maria.GAR" only emails, "mARIA g"
/// only names, "XOCH" 4 users, "M" ≈ 26 % of users.
pub const KINDS: [(&str, &str, Option<&str>, Mode); 13] = [
    ("clients-list-first", "clients", None, Mode::Repeat),
    ("clients-list-deep", "clients", None, Mode::Walk),
    (
        "clients-search-common",
        "clients",
        Some("Ord"),
        Mode::Repeat,
    ),
    (
        "clients-search-rare",
        "clients",
        Some("qUOKKA"),
        Mode::Repeat,
    ),
    (
        "clients-search-every-id",
        "clients",
        Some("C_"),
        Mode::Repeat,
    ),
    ("users-list-first", "users", None, Mode::Repeat),
    ("users-list-deep", "users", None, Mode::Walk),
    ("users-search-username", "users", Some("MGar"), Mode::Repeat),
    (
        "users-search-email",
        "users",
        Some("Maria.GAR"),
        Mode::Repeat,
    ),
    ("users-search-name", "users", Some("mARIA g"), Mode::Repeat),
    ("users-search-rare", "users", Some("XOCH"), Mode::Repeat),
    ("users-search-one-letter", "users", Some("M"), Mode::Repeat),
    (
        "users-search-one-letter-deep",
        "users",
        Some("M"),
        Mode::Walk,
    ),
];

#[derive(Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Args)]
struct Settings {
    #[arg(long, env = "BENCH_CLIENTS", default_value_t = 10_000)]
    clients: usize,
    #[arg(long, env = "BENCH_USERS", default_value_t = 100_000)]
    users: usize,
    /// Counted requests per kind of page.
    #[arg(long, env = "BENCH_REQUESTS", default_value_t = 200)]
    requests: usize,
    /// Warm-up requests per kind of page (not counted).
    #[arg(long, env = "BENCH_WARMUP", default_value_t = 20)]
    warmup: usize,
    /// Requests per kind in the auto_explain pass.
    #[arg(long, env = "BENCH_PLAN_REQUESTS", default_value_t = 8)]
    plan_requests: usize,
    /// The p95 goal in ms.
    #[arg(long, env = "BENCH_GOAL_MS", default_value_t = 100.0)]
    goal_ms: f64,
    /// 1 keeps the database afterwards (for poking at plans by hand).
    #[arg(long, env = "BENCH_KEEP_DB", default_value_t = 0)]
    keep_db: u8,
    /// The bulk seed, run by psql with the variables n_clients, n_users, pw_hash,
    /// secret_hash, resource_a, resource_b and now.
    #[arg(long, default_value = "scripts/bench-sql/console-seed.sql")]
    seed_sql: PathBuf,
}

/// What the measured pass found.
struct Measured {
    driven: BTreeMap<&'static str, Driven>,
    expected: BTreeMap<&'static str, usize>,
    seed_seconds: u64,
    load: (String, String),
}

impl ConsoleArgs {
    pub async fn run(self) -> Result<()> {
        let (ctx, a) = (Ctx::new(&self.common)?, self.settings);
        let out = Out::create(&ctx.results, "console-")?;
        let db = Database::fresh(
            Backend::Postgres,
            ctx.work.path(),
            DATABASE,
            &ctx.pg_admin_url,
        )
        .await?;
        let key = Keyring::generate_encoded();
        let measured = a.measure(&ctx, &out, &db.url, &key).await;
        let pg = postgres_version(&db.url)
            .await
            .unwrap_or_else(|e| format!("PostgreSQL ({e})"));
        if a.keep_db != 0 {
            eprintln!("==> kept database {}", db.url);
        } else {
            db.remove().await?;
        }
        a.report(&ctx, &out, &pg, measured?)
    }
}

impl Settings {
    fn launch(ctx: &Ctx, out: &Out, url: &str, key: &str, log: &str) -> Launch {
        let mut env = ctx.server_env.clone();
        if log == PLANS_LOG {
            // The request span (which the notices carrying the plans are logged in) exists
            // only at debug level.
            env.push(("RUST_LOG".into(), "info,tessera::http::log=debug".into()));
        }
        env.push((
            "TESSERA_BOOTSTRAP_ADMIN_PASSWORD".into(),
            ADMIN_PASSWORD.into(),
        ));
        env.push(("TESSERA_LOG__FORMAT".into(), "json".into()));
        Launch {
            bin: ctx.bin.clone(),
            database_url: url.to_owned(),
            master_key: key.to_owned(),
            env,
            log: out.dir.join(log),
        }
    }

    /// First start, seed, the measured pass, then the plan pass with auto_explain on.
    async fn measure(&self, ctx: &Ctx, out: &Out, url: &str, key: &str) -> Result<Measured> {
        let launch = |log: &str| Self::launch(ctx, out, url, key, log);
        eprintln!("==> first start (migrations, keys, bootstrap admin)");
        Server::start(&launch("server-first-start.log"))
            .await?
            .stop()?;
        eprintln!(
            "==> seeding {} clients and {} users",
            self.clients, self.users
        );
        let seeding = Instant::now();
        let (clients, users, grants) = self.seed(url, key).await?;
        let seed_seconds = seeding.elapsed().as_secs();
        if clients != i64::try_from(self.clients)? || users != i64::try_from(self.users)? + 1 {
            bail!(
                "expected {} clients and {} users + the admin, found {clients} and {users}",
                self.clients,
                self.users
            );
        }
        eprintln!(
            "==> seeded in {seed_seconds} s: {clients} clients ({grants} grants), {users} users"
        );
        let expected = expected(url, clients, users).await?;
        eprintln!(
            "==> measuring: {} warm-up + {} counted requests per kind",
            self.warmup, self.requests
        );
        let load_start = loadavg();
        let server = Server::start(&launch("server.log")).await?;
        let driven = drive(&server, "m", (self.warmup, self.requests), true, &expected).await;
        server.stop()?;
        let load = (load_start, loadavg());
        let driven = driven?;
        eprintln!(
            "==> plans: auto_explain on, {} requests per kind",
            self.plan_requests
        );
        let (_db, pool) = postgres(url).await?;
        explain(&pool, true).await?;
        let server = Server::start(&launch(PLANS_LOG)).await?;
        let planned = drive(&server, "p", (0, self.plan_requests), false, &expected).await;
        server.stop()?;
        explain(&pool, false).await?;
        planned?;
        Ok(Measured {
            driven,
            expected,
            seed_seconds,
            load,
        })
    }

    /// One table row per kind of page (and one results.tsv line); adds what does not add up
    /// to `problems`.
    fn table(
        &self,
        m: &Measured,
        log: &Path,
        problems: &mut Vec<String>,
    ) -> (Table, Vec<Vec<String>>) {
        let mut tsv = Vec::new();
        let (mut micros, found) = server_times(log);
        problems.extend(found);
        let mut table = Table::new(&[
            "page",
            "kind",
            "search",
            "rows matching",
            "requests",
            "p50 ms",
            "p95 ms",
            "max ms",
            "client p50 ms",
            &format!("p95 ≤ {:.0} ms", self.goal_ms),
        ]);
        for (name, page, q, mode) in KINDS {
            let Some(d) = m.driven.get(name) else {
                continue;
            };
            let mut xs = micros.remove(name).unwrap_or_default();
            xs.sort_unstable();
            if xs.len() != d.counted {
                problems.push(format!(
                    "{name}: {} requests sent, {} access-log lines",
                    d.counted,
                    xs.len()
                ));
            }
            let Some(&max) = xs.last() else { continue };
            let pct = |p: usize| xs[(xs.len() * p).div_ceil(100).max(1) - 1] as f64 / 1000.0;
            let (p50, p95) = (pct(50), pct(95));
            let walk = match (mode, d.walk_rows_checked) {
                (Mode::Walk, Some(n)) => format!(" (walk, {} rows checked)", thousands(n as f64)),
                (Mode::Walk, None) => " (walk)".to_owned(),
                (Mode::Repeat, _) => String::new(),
            };
            table.row(vec![
                page.to_owned(),
                format!("{}{walk}", name.split_once('-').map_or(name, |x| x.1)),
                q.map_or("-".to_owned(), |q| format!("`{q}`")),
                thousands(m.expected.get(name).copied().unwrap_or_default() as f64),
                thousands(xs.len() as f64),
                format!("{p50:.1}"),
                format!("{p95:.1}"),
                format!("{:.1}", max as f64 / 1000.0),
                format!("{:.1}", d.client_p50_ms),
                if p95 <= self.goal_ms { "yes" } else { "**no**" }.to_owned(),
            ]);
            tsv.push(vec![
                name.to_owned(),
                page.to_owned(),
                q.unwrap_or_default().to_owned(),
                if mode == Mode::Walk { "walk" } else { "repeat" }.to_owned(),
                m.expected
                    .get(name)
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
                xs.len().to_string(),
                format!("{p50:.2}"),
                format!("{p95:.2}"),
                format!("{:.2}", max as f64 / 1000.0),
                format!("{:.2}", d.client_p50_ms),
                d.load.clone(),
            ]);
        }
        (table, tsv)
    }

    /// The table of server times, the plans, the summary; fails on any problem seen.
    fn report(&self, ctx: &Ctx, out: &Out, pg: &str, m: Measured) -> Result<()> {
        let mut problems = Vec::new();
        let (table, tsv) = self.table(&m, &out.dir.join("server.log"), &mut problems);
        out.tsv(
            &[
                "kind",
                "page",
                "q",
                "mode",
                "matching_rows",
                "requests",
                "p50_ms",
                "p95_ms",
                "max_ms",
                "client_p50_ms",
                "load",
            ],
            &tsv,
        )?;
        let (all_plans, digests) = plan_texts(&out.dir.join(PLANS_LOG));
        std::fs::write(out.dir.join("plans.txt"), all_plans)?;
        let mut summary = format!(
            "# Admin console at scale, {}\n\n- machine: {}; {pg}\n\
             - server: {}, JSON access log at the default level, to a file\n\
             - load average (1/5/15 min) at the start / end of the measurement: {} / {}\n\
             - one connection, one request at a time; {} warm-up requests per kind, then the \
             counted ones; server time = the access log's `micros`; p50/p95 nearest rank; \
             seeding took {} s\n\n{}\n",
            out.started,
            machine(),
            crate::cases::describe_build(&ctx.bin),
            m.load.0,
            m.load.1,
            self.warmup,
            m.seed_seconds,
            table.render()
        );
        if !problems.is_empty() {
            summary.push_str("Problems:\n");
            for p in problems.iter().take(20) {
                summary.push_str(&format!("- {p}\n"));
            }
            summary.push('\n');
        }
        summary.push_str(
            "## Plans (auto_explain ANALYZE, first and last request of each kind; timings \
             include its overhead)\n\n",
        );
        summary.push_str(&digests);
        out.summary(&summary)?;
        if !problems.is_empty() {
            bail!(
                "problems found (see {})",
                out.dir.join("summary.md").display()
            );
        }
        Ok(())
    }

    /// Resources, a template client and user through the service layer, then the bulk rows
    /// with the seed SQL: a hundred thousand users cannot each pay for an argon2 hash, so they
    /// share one. Returns the counts of clients, users and grants.
    async fn seed(&self, url: &str, key: &str) -> Result<(i64, i64, i64)> {
        let (secret_hash, pw_hash, now) = template_hashes(url, key).await?;
        // The bulk SQL uses psql variables and meta-commands: psql runs it.
        let variables = [
            format!("n_clients={}", self.clients),
            format!("n_users={}", self.users),
            format!("pw_hash={pw_hash}"),
            format!("secret_hash={secret_hash}"),
            format!("resource_a={RESOURCE_A}"),
            format!("resource_b={RESOURCE_B}"),
            format!("now={now}"),
        ];
        let mut psql = std::process::Command::new("psql");
        psql.args(["-w", "-q", "-v", "ON_ERROR_STOP=1"]);
        for v in &variables {
            psql.args(["-v", v]);
        }
        let status = psql
            .arg(url)
            .arg("-f")
            .arg(&self.seed_sql)
            .stdout(std::process::Stdio::null())
            .status()
            .context("cannot run psql")?;
        if !status.success() {
            bail!("psql -f {} failed", self.seed_sql.display());
        }
        let (_db, pool) = postgres(url).await?;
        // VACUUM as well as ANALYZE: a long-lived table has its visibility map set by
        // autovacuum, a freshly bulk-loaded one not yet; the plans should be the steady state's.
        for table in ["clients", "client_grants", "users"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM (ANALYZE) {table}")))
                .execute(&pool)
                .await?;
        }
        Ok(sqlx::query_as(
            "SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM users), \
             (SELECT count(*) FROM client_grants)",
        )
        .fetch_one(&pool)
        .await?)
    }
}
