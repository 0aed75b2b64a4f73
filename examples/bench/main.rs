//! Tessera's benchmark program. It seeds through the library's own service layer, starts
//! release servers on 127.0.0.1 (only those it started are stopped, by PID), drives load with
//! its own HTTP/1.1 client (closed loop as wrk, or a fixed rate corrected for coordinated
//! omission) and prints p50/p90/p99/max latency and req/s as Markdown tables.
//!
//! `cargo run --release --example bench -- <command> [options]`; every option can also be set
//! by the `BENCH_*` variable named in `--help`. The `scripts/bench*` files are thin entry points
//! into it (BENCHMARKS.md, "Reproducing").

mod ab;
mod argon2_cost;
mod cases;
mod console;
mod console_db;
mod console_pages;
mod console_report;
mod garbage;
mod http;
mod load;
mod login;
mod options;
mod report;
mod seed;
mod server;
mod single;
mod suites;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::single::Grant;

#[derive(Parser)]
#[command(about = "Tessera's load and sign-in benchmarks (load to 127.0.0.1 only)")]
struct Cli {
    /// Load-generator threads (wrk's -t).
    #[arg(long, env = "BENCH_THREADS", default_value_t = 2, global = true)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seed a database through the service layer (a resource and a client_credentials client
    /// per signing algorithm, first-party web clients, the user `bench`); prints them as JSON.
    Seed(seed::SeedArgs),
    /// POST /token, client_credentials with HTTP Basic (RFC 6749 §4.4).
    Token(single::TokenArgs),
    /// GET /jwks.json.
    Jwks(single::JwksArgs),
    /// POST /token, authorization_code (RFC 6749 §4.1.3): every request redeems its own
    /// pre-seeded code once.
    CodeFlow(single::GrantArgs),
    /// POST /token, refresh_token with rotation (RFC 6749 §6): every request presents its own
    /// pre-seeded refresh token once.
    Refresh(single::GrantArgs),
    /// Password logins through the pages (GET /authorize, GET /login, POST /login timed),
    /// between two runs of the argon2 micro-benchmark.
    Login(single::LoginArgs),
    /// argon2id with Tessera's parameters, one thread per core (hashes/s).
    Argon2(single::Argon2Args),
    /// scripts/bench-ab: alternating runs of two or more binaries, each round a fresh server
    /// per binary.
    Ab(ab::AbArgs),
    /// scripts/bench: token issuance per backend and algorithm, p99 at a fixed rate,
    /// /jwks.json, resident memory; writes bench-results/<UTC time>/.
    All(suites::AllArgs),
    /// scripts/bench-signin: code exchange, refresh with rotation, password logins.
    Signin(suites::SigninArgs),
    /// scripts/bench-overhead: rate limiter + metrics on against off, alternating pairs.
    Overhead(suites::OverheadArgs),
    /// scripts/bench-console: console list, keyset and search pages over many clients and
    /// users on PostgreSQL, as server time, with the plans PostgreSQL ran.
    Console(console::ConsoleArgs),
    /// scripts/bench-garbage: memory under random 100 KB client_ids, CORS preflights with 10
    /// and 10,000 clients (SQLite).
    Garbage(garbage::GarbageArgs),
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Seed(a) => a.run().await,
        Command::Token(a) => a.run().await,
        Command::Jwks(a) => a.run().await,
        Command::CodeFlow(a) => a.run(Grant::Code).await,
        Command::Refresh(a) => a.run(Grant::Refresh).await,
        Command::Login(a) => a.run().await,
        Command::Argon2(a) => a.run().await,
        Command::Ab(a) => a.run().await,
        Command::All(a) => a.run(cli.threads).await,
        Command::Signin(a) => a.run().await,
        Command::Overhead(a) => a.run().await,
        Command::Console(a) => a.run().await,
        Command::Garbage(a) => a.run().await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
