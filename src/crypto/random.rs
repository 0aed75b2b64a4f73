use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

/// `N` bytes from the operating system's CSPRNG.
// Without randomness no secret, code or key can be made, and ring only fails when getrandom
// itself does: a panic here is the honest answer, not an error every caller would re-raise.
#[allow(clippy::expect_used)]
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system random generator failed");
    buf
}

/// A base64url string carrying `N` random bytes (e.g. 32 bytes = 256 bits for secrets).
pub fn token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<N>())
}

/// Unique, cheap, non-secret ids (request ids): a random prefix per process and a counter, so
/// no system call per id. Use [`token`] for anything that must be unguessable.
#[derive(Debug)]
pub struct Sequence {
    prefix: String,
    next: std::sync::atomic::AtomicU64,
}

impl Sequence {
    pub fn new() -> Self {
        Self {
            prefix: token::<9>(),
            next: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{n:x}", self.prefix)
    }
}

impl Default for Sequence {
    fn default() -> Self {
        Self::new()
    }
}
