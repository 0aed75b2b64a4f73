//! What one access-token signature costs per algorithm on this machine, on one thread, timed in
//! isolation from HTTP (BENCHMARKS.md, "What a signature costs"): the raw aws-lc-rs signature
//! over a token-sized signing input, and the whole JWS (claims serialised, base64url, signed) as
//! `POST /token` builds it. The second figure bounds tokens/s per core of server CPU from above.
//!
//! `cargo run --release --example sign_cost [iterations]`

// A measurement program run by hand: a failed setup step ends the run with its message.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use serde::Serialize;

use tessera::crypto::jwt::Signer;
use tessera::crypto::keys::KeyPair;
use tessera::model::SigningAlg;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: &'a str,
    client_id: &'a str,
    scope: &'a str,
}

/// Microseconds per call of `f`, after a warm-up of a tenth as many calls.
fn micros(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn main() {
    tessera::crypto::install_providers();
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let claims = Claims {
        iss: "http://127.0.0.1:8080",
        sub: "c_Xq3v9KpL2mN8rT5wY1zA4b",
        aud: "https://api.example.com/orders",
        exp: 1_795_000_600,
        iat: 1_795_000_000,
        jti: "q1w2e3r4t5y6u7i8o9p0aQ",
        client_id: "c_Xq3v9KpL2mN8rT5wY1zA4b",
        scope: "orders:read orders:write",
    };
    println!("| algorithm | signature µs | whole JWS µs | JWS/s per core |");
    println!("|---|---:|---:|---:|");
    for alg in [SigningAlg::EdDSA, SigningAlg::ES256, SigningAlg::RS256] {
        let (pair, _) = KeyPair::generate(alg).expect("key generation");
        let signer = Signer {
            kid: "bench".into(),
            alg,
            pair,
        };
        // RSA is ~50x slower: fewer rounds keep the run short without losing precision.
        let n = if alg == SigningAlg::RS256 {
            iterations / 20
        } else {
            iterations
        };
        let input = signer.sign("at+jwt", &claims).expect("sign");
        let input = input.rsplit_once('.').expect("JWS").0.to_owned();
        let raw = micros(n, || {
            black_box(signer.pair.sign(black_box(input.as_bytes())).expect("sign"));
        });
        let whole = micros(n, || {
            black_box(signer.sign("at+jwt", black_box(&claims)).expect("sign"));
        });
        println!(
            "| {} | {raw:.1} | {whole:.1} | {:.0} |",
            alg.as_str(),
            1e6 / whole
        );
    }
}
