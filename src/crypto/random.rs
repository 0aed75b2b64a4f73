use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

/// `N` bytes from the operating system's CSPRNG.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS RNG failing is not recoverable; ring only fails when getrandom itself does.
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system random generator failed");
    buf
}

/// A base64url string carrying `N` random bytes (e.g. 32 bytes = 256 bits for secrets).
pub fn token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<N>())
}
