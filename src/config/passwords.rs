//! `[passwords]`: argon2id parameters, the shortest password and the hashing queue.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Password storage (OWASP Password Storage Cheat Sheet): argon2id with at least 19 MiB of
/// memory, 2 iterations and 1 degree of parallelism. Stored hashes made with other parameters
/// are upgraded at the user's next successful sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordsConfig {
    /// argon2 `m`, in KiB.
    pub memory_kib: u32,
    /// argon2 `t`.
    pub iterations: u32,
    /// argon2 `p` (lanes).
    pub parallelism: u32,
    /// Shortest password accepted when one is set, in characters.
    pub min_length: u32,
    /// Hash requests waiting for a hashing thread before callers must wait; 0 = 64 per core.
    pub queue: u32,
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            min_length: 12,
            queue: 0,
        }
    }
}

impl PasswordsConfig {
    /// Longest accepted password, in bytes: long passphrases are welcome, megabyte ones are
    /// a denial-of-service vector (OWASP Password Storage Cheat Sheet, "Maximum Password Lengths").
    pub const MAX_BYTES: usize = 256;

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        // argon2's own limits: p in 1..=2^24-1, t ≥ 1, m ≥ 8 KiB per lane.
        if !(1..=0xFF_FFFF).contains(&self.parallelism) {
            return Err(invalid(
                "TESSERA_PASSWORDS__PARALLELISM",
                "must be between 1 and 16777215",
            ));
        }
        if self.iterations == 0 {
            return Err(invalid(
                "TESSERA_PASSWORDS__ITERATIONS",
                "must be at least 1",
            ));
        }
        let min_memory = u64::from(self.parallelism) * 8;
        // Every hashing thread keeps one block buffer of this size: cap it at 4 GiB.
        if u64::from(self.memory_kib) < min_memory || self.memory_kib > 4 * 1024 * 1024 {
            return Err(invalid(
                "TESSERA_PASSWORDS__MEMORY_KIB",
                format!(
                    "must be between {min_memory} (8 KiB per degree of parallelism) and 4194304 (4 GiB); OWASP recommends at least 19456"
                ),
            ));
        }
        if !(8..=64).contains(&self.min_length) {
            return Err(invalid(
                "TESSERA_PASSWORDS__MIN_LENGTH",
                "must be between 8 and 64 characters",
            ));
        }
        if self.queue > 1_000_000 {
            return Err(invalid(
                "TESSERA_PASSWORDS__QUEUE",
                "must be at most 1000000 (0 = 64 per core)",
            ));
        }
        Ok(())
    }
}
