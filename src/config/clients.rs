//! `[clients]`: how long a client registration may be served from this instance's cache.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientsConfig {
    /// How long another instance's client change may stay unseen here.
    pub cache_ttl_ms: u32,
}

impl Default for ClientsConfig {
    fn default() -> Self {
        Self { cache_ttl_ms: 1000 }
    }
}
