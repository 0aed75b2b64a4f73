//! Plain types shared by the store, the services and the protocol code; wire strings live here.

mod audit;
mod client;
mod holdings;
pub mod limits;
mod lockout;
mod resource;
mod scope;
mod user;
pub mod username;

pub use audit::{Actor, AuditEvent, AuditFilter, Outcome, StoredEvent, kind};
pub use client::{
    ApplicationType, AuthMethod, Client, ClientGrant, ClientId, GrantType, origins_of,
};
pub use holdings::{Consent, Family, SIGNED_IN, SessionInfo};
pub use lockout::LoginFailure;
pub use resource::{Resource, ScopeDef, SigningAlg, validate_resource_identifier};
pub use scope::{Scope, is_scope_token};
pub use user::{Address, User, UserClaims};

/// A wire string that did not match any known value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected one of: {expected})")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static str,
}
