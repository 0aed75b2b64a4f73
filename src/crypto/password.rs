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
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::config::Config;

    fn cheap() -> PasswordsConfig {
        PasswordsConfig {
            memory_kib: 256,
            iterations: 1,
            ..PasswordsConfig::default()
        }
    }

    fn cores() -> usize {
        std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
    }

    #[tokio::test]
    async fn hashes_are_phc_strings_with_the_configured_parameters() {
        let hasher = PasswordHasher::start(&cheap(), None).await.expect("start");
        let phc = hasher.hash("correct horse battery").await.expect("hash");
        let parts: Vec<&str> = phc.split('$').collect();
        assert_eq!(
            parts[..4],
            ["", "argon2id", "v=19", "m=256,t=1,p=1"],
            "{phc}"
        );
        assert_eq!(parts[4].len(), 22, "16-byte salt in unpadded base64: {phc}");
        assert_eq!(parts[5].len(), 43, "32-byte tag in unpadded base64: {phc}");
        let again = hasher.hash("correct horse battery").await.expect("hash");
        assert_ne!(phc, again, "a fresh salt every time");

        let ok = hasher
            .verify("correct horse battery", &phc)
            .await
            .expect("verify");
        assert_eq!(
            ok,
            Verification {
                matches: true,
                outdated: false
            }
        );
        let wrong = hasher.verify("correct horse batterx", &phc).await;
        assert!(!wrong.expect("verify").matches);
        hasher.verify_dummy("anything").await.expect("dummy");
    }

    #[tokio::test]
    async fn verifies_the_reference_implementation_and_flags_other_parameters() {
        let hasher = PasswordHasher::start(&cheap(), None).await.expect("start");
        // From the argon2 reference implementation (`argon2 somesalt -id -t 2 -m 16`): m=64 MiB
        // is more than this pool's buffer, so this also takes the one-off buffer path.
        let reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$\
                         CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let v = hasher.verify("password", reference).await.expect("verify");
        assert!(v.matches && v.outdated, "{v:?}");
        assert!(
            !hasher
                .verify("Password", reference)
                .await
                .expect("v")
                .matches
        );

        let other = PasswordHasher::start(
            &PasswordsConfig {
                memory_kib: 512,
                iterations: 2,
                ..cheap()
            },
            None,
        )
        .await
        .expect("start");
        let phc = other.hash("a long enough password").await.expect("hash");
        let v = hasher
            .verify("a long enough password", &phc)
            .await
            .expect("v");
        assert!(v.matches && v.outdated, "{v:?}");
    }

    #[tokio::test]
    async fn malformed_hashes_are_errors_not_mismatches() {
        let hasher = PasswordHasher::start(&cheap(), None).await.expect("start");
        for bad in [
            "",
            "plaintext",
            "$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHQ",
            "$argon2id$v=42$m=256,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$bcrypt$v=19$m=256,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        ] {
            let r = hasher.verify("password", bad).await;
            assert!(
                matches!(r, Err(PasswordError::Malformed(_))),
                "{bad}: {r:?}"
            );
        }
    }

    /// The production default, once: OWASP's m=19456, t=2, p=1.
    #[tokio::test]
    async fn owasp_parameters_hash_and_verify() {
        let hasher = PasswordHasher::start(&PasswordsConfig::default(), None)
            .await
            .expect("start");
        assert_eq!(hasher.params(), (19_456, 2, 1));
        let phc = hasher.hash("twelve chars!").await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let v = hasher.verify("twelve chars!", &phc).await.expect("verify");
        assert!(v.matches && !v.outdated);
    }

    #[tokio::test]
    async fn one_thread_per_core_a_bounded_queue_and_shutdown_on_drop() {
        let hasher = PasswordHasher::start(
            &PasswordsConfig {
                queue: 1,
                ..cheap()
            },
            None,
        )
        .await
        .expect("start");
        assert_eq!(hasher.threads(), cores());
        assert_eq!(hasher.queue_capacity(), 1);
        let hasher = Arc::new(hasher);
        let phc = Arc::new(hasher.hash("a long enough password").await.expect("hash"));
        // Far more callers than queue slots: they wait for room, and all get their answer.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let (hasher, phc) = (hasher.clone(), phc.clone());
            tasks.spawn(async move {
                let right = i % 2 == 0;
                let password = if right {
                    "a long enough password"
                } else {
                    "nope"
                };
                hasher.verify(password, &phc).await.expect("verify").matches == right
            });
        }
        let results = tasks.join_all().await;
        assert_eq!(results.len(), 40);
        assert!(results.iter().all(|ok| *ok));
        assert_eq!(hasher.threads(), cores());

        let live = hasher.live.clone();
        drop(hasher);
        let deadline = Instant::now() + Duration::from_secs(10);
        while live.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < deadline, "threads did not stop");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[test]
    fn the_policy_is_length_only_and_says_so() {
        assert_eq!(
            policy_violation("elevenchars", 12).as_deref(),
            Some("must be at least 12 characters long")
        );
        assert_eq!(policy_violation("twelve chars", 12), None);
        // Characters, not bytes: twelve accented letters pass.
        assert_eq!(policy_violation("éééééééééééé", 12), None);
        assert_eq!(policy_violation(&"a".repeat(256), 12), None);
        assert_eq!(
            policy_violation(&"a".repeat(257), 12).as_deref(),
            Some("must be at most 256 bytes long")
        );
    }

    #[test]
    fn configuration_errors_name_the_setting() {
        let with = |p: PasswordsConfig| {
            Config {
                passwords: p,
                ..Config::default()
            }
            .validated()
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        assert!(with(PasswordsConfig::default()).is_ok());
        assert!(with(cheap()).is_ok());
        for (bad, setting) in [
            (
                PasswordsConfig {
                    memory_kib: 7,
                    ..cheap()
                },
                "TESSERA_PASSWORDS__MEMORY_KIB",
            ),
            (
                PasswordsConfig {
                    memory_kib: 16,
                    parallelism: 4,
                    ..cheap()
                },
                "TESSERA_PASSWORDS__MEMORY_KIB",
            ),
            (
                PasswordsConfig {
                    iterations: 0,
                    ..cheap()
                },
                "TESSERA_PASSWORDS__ITERATIONS",
            ),
            (
                PasswordsConfig {
                    parallelism: 0,
                    ..cheap()
                },
                "TESSERA_PASSWORDS__PARALLELISM",
            ),
            (
                PasswordsConfig {
                    min_length: 4,
                    ..cheap()
                },
                "TESSERA_PASSWORDS__MIN_LENGTH",
            ),
        ] {
            let err = with(bad).expect_err(setting);
            assert!(err.contains(setting), "{err}");
        }
    }
}
