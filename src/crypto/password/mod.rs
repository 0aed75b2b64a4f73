//! Human passwords: argon2id as the OWASP Password Storage Cheat Sheet recommends (at least
//! m = 19 MiB, t = 2, p = 1), stored as standard PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a 16-byte random salt.
//!
//! argon2 is memory-hard on purpose, so it must not run wherever a request happens to be: a burst
//! of logins on the async runtime (or on an unbounded blocking pool) would allocate `m` per
//! concurrent attempt. Hashing runs on a fixed pool of one OS thread per core, each reusing one
//! block buffer allocated when it starts, fed by a bounded queue; when the queue is full callers
//! wait (asynchronously) for room. Memory is therefore `cores × m`, whatever the load.
//!
//! The pool is a plain value owned by `Core`: dropping it closes the queue, and each thread
//! exits once the jobs already queued are done.

use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{mpsc, oneshot};

use super::random;
use crate::config::PasswordsConfig;

/// OWASP: "a unique salt … at least 16 bytes" (NIST SP 800-63B asks for 32 bits at least).
const SALT_LEN: usize = 16;
/// argon2's recommended tag length (RFC 9106 §4).
const OUTPUT_LEN: usize = 32;
/// The largest `m` accepted from a stored hash, matching the configuration's cap.
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;

/// OWASP's weakest listed argon2id configuration is m = 7 MiB with t = 5; m × t below that of
/// any listed pair is weaker than all of them.
const OWASP_MIN_MEMORY_KIB: u32 = 7_168;
const OWASP_MIN_MEMORY_TIMES_ITERATIONS: u64 = 7_168 * 5;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("invalid argon2 parameters: {0}")]
    Params(argon2::Error),
    #[error("stored password hash is malformed: {0}")]
    Malformed(String),
    #[error("argon2 failed: {0}")]
    Argon2(argon2::Error),
    #[error("cannot start a password hashing thread: {0}")]
    Spawn(std::io::Error),
    #[error("a password hashing thread panicked")]
    Panicked,
    #[error("the password hashing pool has stopped")]
    Stopped,
}

fn malformed(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Malformed(e.to_string())
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The hash was made with another algorithm, version or parameters than configured now:
    /// after a successful sign-in, store a fresh hash (OWASP: "Upgrading the work factor").
    pub outdated: bool,
}

/// Why a new password is refused, or None. Length is the only rule: OWASP and NIST SP 800-63B
/// advise against composition rules. Any character is allowed, spaces and Unicode included.
pub fn policy_violation(password: &str, min_length: usize) -> Option<String> {
    if password.chars().count() < min_length {
        return Some(format!("must be at least {min_length} characters long"));
    }
    if password.len() > PasswordsConfig::MAX_BYTES {
        return Some(format!(
            "must be at most {} bytes long",
            PasswordsConfig::MAX_BYTES
        ));
    }
    None
}

enum Job {
    Hash {
        password: Vec<u8>,
        reply: oneshot::Sender<Result<String, PasswordError>>,
    },
    Verify {
        password: Vec<u8>,
        phc: String,
        reply: oneshot::Sender<Result<Verification, PasswordError>>,
    },
}

/// argon2id hashing and verification on a bounded pool of dedicated threads.
/// Told how long a job waited in the queue.
pub type QueueWait = Arc<dyn Fn(Duration) + Send + Sync>;

pub struct PasswordHasher {
    params: Params,
    jobs: mpsc::Sender<(Instant, Job)>,
    queue: usize,
    live: Arc<AtomicUsize>,
    /// A hash of a random password under the current parameters, verified against when the
    /// user does not exist so that the answer takes as long as for a real user. Made on first
    /// need, so a server that never sees a login never touches argon2's memory.
    dummy: tokio::sync::OnceCell<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m", &self.params.m_cost())
            .field("t", &self.params.t_cost())
            .field("p", &self.params.p_cost())
            .field("threads", &self.threads())
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Starts one hashing thread per core and computes the dummy hash with the configured
    /// parameters (zero-to-production's approach to user enumeration by timing).
    /// `on_wait` hears how long each job waited for a hashing thread (the metrics histogram).
    pub async fn start(
        config: &PasswordsConfig,
        on_wait: Option<QueueWait>,
    ) -> Result<Self, PasswordError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(PasswordError::Params)?;
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let queue = match config.queue {
            0 => 64 * cores,
            n => n as usize,
        };
        let (jobs, receiver) = mpsc::channel(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let live = Arc::new(AtomicUsize::new(0));
        for i in 0..cores {
            let (receiver, params, counter) = (receiver.clone(), params.clone(), live.clone());
            live.fetch_add(1, Ordering::SeqCst);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn({
                    let on_wait = on_wait.clone();
                    move || work(&receiver, &params, &counter, on_wait.as_deref())
                });
            if let Err(e) = spawned {
                // Dropping `jobs` on return stops the threads already started.
                live.fetch_sub(1, Ordering::SeqCst);
                return Err(PasswordError::Spawn(e));
            }
        }
        if config.memory_kib < OWASP_MIN_MEMORY_KIB
            || u64::from(config.memory_kib) * u64::from(config.iterations)
                < OWASP_MIN_MEMORY_TIMES_ITERATIONS
        {
            tracing::warn!(
                memory_kib = config.memory_kib,
                iterations = config.iterations,
                "argon2 parameters are weaker than OWASP recommends (e.g. m=19456, t=2, p=1)"
            );
        }
        Ok(Self {
            params,
            jobs,
            queue,
            live,
            dummy: tokio::sync::OnceCell::new(),
        })
    }

    /// How many hashing threads are running: one per core while the pool is up.
    pub fn threads(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// How many jobs may wait for a thread before callers wait for room.
    pub fn queue_capacity(&self) -> usize {
        self.queue
    }

    /// The configured `(m, t, p)`.
    pub fn params(&self) -> (u32, u32, u32) {
        (
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
        )
    }

    /// A PHC string for `password` under the configured parameters and a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let (reply, answer) = oneshot::channel();
        let password = password.as_bytes().to_vec();
        self.submit(Job::Hash { password, reply }).await?;
        answer.await.map_err(|_| PasswordError::Stopped)?
    }

    /// Like [`hash`](Self::hash), on a blocking thread outside the pool with a buffer of its own
    /// that is freed afterwards, for a hash computed once (the bootstrap admin's) that should
    /// not leave a pool thread holding m KiB for the rest of the process's life.
    pub async fn hash_once(&self, password: &str) -> Result<String, PasswordError> {
        let params = self.params.clone();
        let password = password.as_bytes().to_vec();
        tokio::task::spawn_blocking(move || guarded(|| hash(&params, &mut [], &password)))
            .await
            .map_err(|_| PasswordError::Panicked)?
    }

    /// Checks `password` against a stored PHC string; the tags are compared in constant time.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<Verification, PasswordError> {
        let (reply, answer) = oneshot::channel();
        let password = password.as_bytes().to_vec();
        let phc = phc.to_owned();
        self.submit(Job::Verify {
            password,
            phc,
            reply,
        })
        .await?;
        answer.await.map_err(|_| PasswordError::Stopped)?
    }

    /// The same work as [`verify`](Self::verify) for a user that does not exist (OWASP
    /// Authentication Cheat Sheet: "Authentication Responses" must not reveal who exists).
    pub async fn verify_dummy(&self, password: &str) -> Result<(), PasswordError> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async { self.hash(&random::token::<32>()).await })
            .await?;
        self.verify(password, dummy).await.map(|_| ())
    }

    /// Waits for room in the queue rather than letting it (and memory) grow.
    async fn submit(&self, job: Job) -> Result<(), PasswordError> {
        self.jobs
            .send((Instant::now(), job))
            .await
            .map_err(|_| PasswordError::Stopped)
    }
}

/// Decrements the live-thread count however the thread ends.
struct Alive<'a>(&'a AtomicUsize);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A hashing thread: takes jobs until the queue is closed and drained.
fn work(
    jobs: &Mutex<mpsc::Receiver<(Instant, Job)>>,
    params: &Params,
    live: &AtomicUsize,
    on_wait: Option<&(dyn Fn(Duration) + Send + Sync)>,
) {
    let _alive = Alive(live);
    // The thread's one block buffer (m KiB), reused by every job; allocated at the first job
    // so that an idle server (or a CLI command) does not hold m KiB per core.
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // One idle thread waits on the queue at a time; the lock is released before the work.
        let job = jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let job = match job {
            None => return,
            Some((queued, job)) => {
                if let Some(observe) = on_wait {
                    observe(queued.elapsed());
                }
                Some(job)
            }
        };
        match job {
            None => return,
            Some(Job::Hash { password, reply }) => {
                // Nobody waits for the answer any more (the request was cancelled): skip it.
                if reply.is_closed() {
                    continue;
                }
                memory.resize(params.block_count(), Block::new());
                let _ = reply.send(guarded(|| hash(params, &mut memory, &password)));
            }
            Some(Job::Verify {
                password,
                phc,
                reply,
            }) => {
                if reply.is_closed() {
                    continue;
                }
                memory.resize(params.block_count(), Block::new());
                let _ = reply.send(guarded(|| verify(params, &mut memory, &password, &phc)));
            }
        }
    }
}

/// Keeps the thread alive if argon2 ever panics; the caller gets an error instead.
fn guarded<T>(f: impl FnOnce() -> Result<T, PasswordError>) -> Result<T, PasswordError> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(PasswordError::Panicked))
}

/// Runs argon2 in the thread's buffer; a stored hash needing more memory than configured gets
/// a one-off buffer, so the thread's own stays at the configured size.
fn run(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut [Block],
) -> Result<(), PasswordError> {
    let needed = argon2.params().block_count();
    let result = match memory.get_mut(..needed) {
        Some(blocks) => argon2.hash_password_into_with_memory(password, salt, out, blocks),
        None => {
            argon2.hash_password_into_with_memory(password, salt, out, vec![Block::new(); needed])
        }
    };
    result.map_err(PasswordError::Argon2)
}

fn hash(params: &Params, memory: &mut [Block], password: &[u8]) -> Result<String, PasswordError> {
    let salt = random::bytes::<SALT_LEN>();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; OUTPUT_LEN];
    run(&argon2, password, &salt, &mut out, memory)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(malformed)?,
        salt: Some(Salt::new(&salt).map_err(malformed)?),
        hash: Some(Output::new(&out).map_err(malformed)?),
    };
    Ok(phc.to_string())
}

fn verify(
    current: &Params,
    memory: &mut [Block],
    password: &[u8],
    phc: &str,
) -> Result<Verification, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(malformed)?;
    let algorithm = Algorithm::new(parsed.algorithm.as_str()).map_err(malformed)?;
    // As the argon2 crate does: a PHC string without `v=` means the current version.
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(malformed)?,
        None => Version::V0x13,
    };
    let params = Params::try_from(&parsed).map_err(malformed)?;
    if params.m_cost() > MAX_MEMORY_KIB {
        return Err(malformed(format!("m={} is too large", params.m_cost())));
    }
    let salt = parsed.salt.ok_or_else(|| malformed("no salt"))?;
    let expected = parsed.hash.ok_or_else(|| malformed("no hash"))?;
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..expected.len())
        .ok_or_else(|| malformed("hash too long"))?;
    run(&argon2, password, &salt, out, memory)?;
    // phc's `Output` compares in constant time (its PartialEq uses `CtEq`).
    let matches = Output::new(out).map_err(malformed)? == expected;
    let outdated = algorithm != Algorithm::Argon2id
        || version != Version::V0x13
        || params.m_cost() != current.m_cost()
        || params.t_cost() != current.t_cost()
        || params.p_cost() != current.p_cost()
        || expected.len() != OUTPUT_LEN
        || salt.len() < SALT_LEN;
    Ok(Verification { matches, outdated })
}

#[cfg(test)]
mod tests;
