//! Garbage and floods (issue 13, points 2 and 3), against a release server on SQLite:
//! resident memory under requests with random 100 KB client_ids, and what a CORS preflight
//! costs with 10 and with 10,000 clients.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hyper::{Method, Request};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::task::JoinSet;

use tessera::crypto::master_key::Keyring;
use tessera::model::{Actor, GrantType};
use tessera::service::clients::ClientSpec;
use tessera::store::Db;

use crate::http::{Body, Conn};
use crate::options::{Common, Ctx, env_words, seconds};
use crate::report::{Latencies, Table};
use crate::seed::{Backend, Database, Seeder};
use crate::server::{Launch, Server};

#[derive(clap::Args)]
pub struct GarbageArgs {
    #[command(flatten)]
    common: Common,
    /// Requests with random client_ids.
    #[arg(long, env = "BENCH_GARBAGE_REQUESTS", default_value_t = 50_000)]
    requests: usize,
    /// Seconds to wait before the last memory reading.
    #[arg(long, env = "BENCH_PAUSE", default_value = "30", value_parser = seconds)]
    pause: Duration,
    /// Counted preflights per number of clients.
    #[arg(long, env = "BENCH_PREFLIGHTS", default_value_t = 2000)]
    preflights: usize,
}

/// `n` random base64url characters.
fn random_text(rng: &SystemRandom, n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n * 3 / 4 + 3];
    rng.fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("no randomness"))?;
    let mut text = URL_SAFE_NO_PAD.encode(bytes);
    text.truncate(n);
    Ok(text)
}

/// `total` requests to /token with random client_ids, from 4 keep-alive connections: half a
/// 100 KB id in HTTP Basic, half a 60 KB one in the form body (under the 64 KiB body limit).
/// Returns how many answers had each status (0: the server closed the connection).
async fn flood(addr: SocketAddr, total: usize) -> Result<BTreeMap<u16, u64>> {
    let mut tasks = JoinSet::new();
    for k in 0..4 {
        tasks.spawn(async move {
            let rng = SystemRandom::new();
            let mut statuses = BTreeMap::new();
            let mut conn = Conn::open(addr).await?;
            for i in 0..total / 4 {
                let (headers, body) = if (i + k) % 2 == 0 {
                    let auth = STANDARD.encode(format!("{}:x", random_text(&rng, 100_000)?));
                    (
                        vec![("authorization", format!("Basic {auth}"))],
                        "grant_type=client_credentials".to_owned(),
                    )
                } else {
                    let id = random_text(&rng, 60_000)?;
                    (
                        Vec::new(),
                        format!("grant_type=client_credentials&client_secret=x&client_id={id}"),
                    )
                };
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                let status = match conn.post_form("/token", &headers, body).await {
                    Ok(answer) => {
                        if answer.header("connection").eq_ignore_ascii_case("close") {
                            conn = Conn::open(addr).await?;
                        }
                        answer.status.as_u16()
                    }
                    Err(_) => {
                        conn = Conn::open(addr).await?;
                        0
                    }
                };
                *statuses.entry(status).or_insert(0u64) += 1;
            }
            Ok::<_, anyhow::Error>(statuses)
        });
    }
    let mut all = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        for (status, n) in done?? {
            *all.entry(status).or_insert(0) += n;
        }
    }
    Ok(all)
}

/// Copies of the client `template`: app-0 … app-(n-1), each allowing https://app-I.example,
/// written as a release before the origin index would have (origins_indexed false), so the
/// next start indexes them.
async fn copy_template(url: &str, n: usize) -> Result<()> {
    let db = Db::connect(url, 1).await?;
    let Db::Sqlite(pool) = &db else {
        bail!("the garbage benchmark runs on SQLite");
    };
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('clients')")
        .fetch_all(pool)
        .await?;
    let values: Vec<String> = columns
        .iter()
        .map(|c| match c.as_str() {
            "client_id" => "printf('c_bench%017d', i)".to_owned(),
            "name" => "'app-' || i".to_owned(),
            "origins_indexed" => "0".to_owned(),
            "allowed_origins" => "json_array('https://app-' || i || '.example')".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    sqlx::query("DELETE FROM clients WHERE name LIKE 'app-%'")
        .execute(pool)
        .await?;
    let sql = format!(
        "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < {last}) \
         INSERT INTO clients ({columns}) SELECT {values} FROM clients, seq \
         WHERE clients.name = 'template'",
        last = n.saturating_sub(1),
        columns = columns.join(", "),
        values = values.join(", ")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
    db.close().await;
    Ok(())
}

/// `n` preflights after 200 not counted, one at a time on one connection, alternating a
/// registered origin (204) and a new unknown one (403, a cache miss each).
async fn preflights_of(
    addr: SocketAddr,
    clients: usize,
    n: usize,
) -> Result<(Latencies, Latencies)> {
    let mut conn = Conn::open(addr).await?;
    let (mut registered, mut unknown) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for i in 0..n + 200 {
        let known = i % 2 == 0;
        let origin = if known {
            format!("https://app-{}.example", i % clients)
        } else {
            format!("https://new-{i}-{}.example", started.elapsed().as_nanos())
        };
        let request = Request::builder()
            .method(Method::OPTIONS)
            .uri("/token")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .body(Body::default())?;
        let sent = Instant::now();
        let answer = conn.send(request).await?;
        let took = sent.elapsed().as_nanos() as u64;
        let expected = if known { 204 } else { 403 };
        if answer.status.as_u16() != expected {
            bail!(
                "a preflight answered {}, expected {expected}",
                answer.status
            );
        }
        if i >= 200 {
            if known { &mut registered } else { &mut unknown }.push(took);
        }
    }
    let elapsed = started.elapsed();
    Ok((
        Latencies::new(registered, elapsed, 0),
        Latencies::new(unknown, elapsed, 0),
    ))
}

impl GarbageArgs {
    pub async fn run(self) -> Result<()> {
        let ctx = Ctx::new(&self.common)?;
        let db = Database::fresh(Backend::Sqlite, ctx.work.path(), "garbage", "").await?;
        let key = Keyring::generate_encoded();
        let seeder = Seeder::open(&db.url, &key).await?;
        let template = ClientSpec {
            grant_types: vec![GrantType::AuthorizationCode],
            redirect_uris: vec!["https://template.example/cb".into()],
            allowed_origins: vec!["https://template.example".into()],
            ..ClientSpec::new("template")
        };
        seeder.core().create_client(template, &Actor::cli()).await?;
        seeder.close().await?;
        let mut env = ctx.server_env.clone();
        env.extend(env_words(
            "RUST_LOG=warn TESSERA_LIMITS__CLIENT_AUTH_FAILURES_PER_MINUTE=0",
        )?);
        let launch = Launch {
            bin: ctx.bin.clone(),
            database_url: db.url.clone(),
            master_key: key,
            env,
            log: ctx.server_log(),
        };
        memory(&launch, self.requests, self.pause).await?;
        cors(launch, &db.url, self.preflights).await
    }
}

/// Resident memory before, right after and `pause` after the flood.
async fn memory(launch: &Launch, requests: usize, pause: Duration) -> Result<()> {
    println!("## Memory under random 100 KB client_ids\n");
    let server = Server::start(launch).await?;
    let before = server.memory_kib("VmRSS")?;
    let statuses = flood(server.addr, requests).await;
    let after = server.memory_kib("VmRSS")?;
    tokio::time::sleep(pause).await;
    let later = server.memory_kib("VmRSS")?;
    server.stop()?;
    println!("answers: {:?}", statuses?);
    println!(
        "VmRSS KiB: before {before}, after {after} (+{}), after {} s {later}\n",
        after.saturating_sub(before),
        pause.as_secs()
    );
    Ok(())
}

/// Preflight latency with 10 and with 10,000 clients, and how long a start indexing them takes.
async fn cors(launch: Launch, url: &str, preflights: usize) -> Result<()> {
    println!(
        "## CORS preflight cost by number of clients \
         (TESSERA_CLIENTS__CACHE_TTL_MS=0: every lookup reaches the database)\n"
    );
    let mut env = launch.env.clone();
    env.push(("TESSERA_CLIENTS__CACHE_TTL_MS".into(), "0".into()));
    let launch = Launch { env, ..launch };
    let mut table = Table::new(&[
        "clients", "origin", "start s", "requests", "p50 ms", "p90 ms", "p99 ms", "max ms",
    ]);
    for n in [10, 10_000] {
        copy_template(url, n).await?;
        let started = Instant::now();
        let server = Server::start(&launch).await?;
        let start = started.elapsed().as_secs_f64();
        let runs = preflights_of(server.addr, n, preflights).await;
        server.stop()?;
        let (registered, unknown) = runs.context("preflights")?;
        for (kind, l) in [("registered", registered), ("unknown", unknown)] {
            table.row(vec![
                crate::report::thousands(n as f64),
                kind.to_owned(),
                format!("{start:.2}"),
                l.count().to_string(),
                format!("{:.3}", l.percentile_ms(50.0)),
                format!("{:.3}", l.percentile_ms(90.0)),
                format!("{:.3}", l.percentile_ms(99.0)),
                format!("{:.3}", l.max_ms()),
            ]);
        }
    }
    println!("{}", table.render());
    Ok(())
}
