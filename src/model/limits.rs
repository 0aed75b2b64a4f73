//! The longest identifiers Tessera accepts, in bytes. Whatever a caller sends is checked
//! against these before it is looked up, cached or used as a rate-limit or audit key, so a
//! flood of huge random values costs bounded memory and no database work. The README lists
//! them.

/// A client_id, in a form, a query or HTTP Basic (ours are 24 bytes).
pub const CLIENT_ID: usize = 255;
/// A whole `scope` parameter.
pub const SCOPE: usize = 2048;
/// One scope value inside it.
pub const SCOPE_VALUE: usize = 255;
/// One `resource` (RFC 8707) value.
pub const RESOURCE: usize = 2048;
/// The client's `state`, echoed back to it.
pub const STATE: usize = 2048;
/// The OIDC `nonce`, copied into the ID token.
pub const NONCE: usize = 512;
/// A browser `Origin` (scheme, a DNS name of at most 253 bytes, a port): longer is no origin.
pub const ORIGIN: usize = 512;

/// The cap of a protocol parameter that is an identifier, by name.
pub fn of_parameter(name: &str) -> Option<usize> {
    match name {
        "client_id" => Some(CLIENT_ID),
        "scope" => Some(SCOPE),
        "resource" => Some(RESOURCE),
        "state" => Some(STATE),
        "nonce" => Some(NONCE),
        _ => None,
    }
}
