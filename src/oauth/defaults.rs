//! The protocol's fixed numbers and names: token lifetimes when a resource or client sets none,
//! their ceilings, the code lifetime and the scope of the admin API.

/// Access-token lifetime bounds: long-lived JWTs cannot be recalled from verifiers that check
/// locally, so a day is the most we allow.
pub const MAX_TOKEN_TTL: i64 = 86_400;
/// Access- and ID-token lifetime, in seconds, when neither the resource nor the client sets one.
pub const DEFAULT_TOKEN_TTL: i64 = 600;
/// Refresh-token lifetimes when a client sets none (RFC 9700 §4.14.2 asks for bounded ones).
pub const DEFAULT_REFRESH_IDLE_TTL: i64 = 30 * 86_400;
pub const DEFAULT_REFRESH_ABSOLUTE_TTL: i64 = 365 * 86_400;
/// Codes live 60 seconds (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const CODE_TTL: i64 = 60;
/// The scope an admin-API token must carry. Never a default scope, never on a consent page,
/// grantable only to clients with `admin_api` set.
pub const ADMIN_SCOPE: &str = "tessera:admin";
