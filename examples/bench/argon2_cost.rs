//! The argon2 micro-benchmark: Tessera's password parameters (argon2id, `PasswordsConfig`'s
//! defaults, 32-byte output, 16-byte salt), one thread per core each hashing into its own
//! preallocated memory, as the server's hashing pool runs it. Logins/s are compared with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use tessera::config::PasswordsConfig;

pub struct Argon2Rate {
    pub threads: usize,
    pub hashes: u64,
    pub seconds: f64,
    pub params: (u32, u32, u32),
}

impl Argon2Rate {
    pub fn per_second(&self) -> f64 {
        self.hashes as f64 / self.seconds
    }

    pub fn describe(&self) -> String {
        let (m, t, p) = self.params;
        format!(
            "argon2id m={m} t={t} p={p}: {} threads, {} hashes in {:.2} s = {:.1} hashes/s \
             ({:.1} ms per hash per thread)",
            self.threads,
            self.hashes,
            self.seconds,
            self.per_second(),
            self.seconds * 1000.0 * self.threads as f64 / self.hashes.max(1) as f64
        )
    }
}

/// Hashes on `threads` threads (default: one per core) for `duration`.
pub fn measure(duration: Duration, threads: Option<usize>) -> Result<Argon2Rate> {
    let config = PasswordsConfig::default();
    let params = Params::new(
        config.memory_kib,
        config.iterations,
        config.parallelism,
        Some(32),
    )
    .map_err(|e| anyhow!("argon2 parameters: {e}"))?;
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (params, stop) = (params.clone(), stop.clone());
            std::thread::spawn(move || -> Result<u64> {
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                let mut memory = vec![Block::new(); params.block_count()];
                let salt = [i as u8; 16];
                let mut out = [0u8; 32];
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    argon2
                        .hash_password_into_with_memory(
                            b"correct horse battery staple",
                            &salt,
                            &mut out,
                            &mut memory,
                        )
                        .map_err(|e| anyhow!("argon2: {e}"))?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut hashes = 0;
    for handle in handles {
        hashes += handle
            .join()
            .map_err(|_| anyhow!("an argon2 thread panicked"))??;
    }
    Ok(Argon2Rate {
        threads,
        hashes,
        seconds: started.elapsed().as_secs_f64(),
        params: (params.m_cost(), params.t_cost(), params.p_cost()),
    })
}
