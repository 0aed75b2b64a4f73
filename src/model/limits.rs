//! The longest identifiers Tessera accepts, in bytes. Whatever a caller sends is checked
//! against these before it is looked up, cached or used as a rate-limit or audit key, so a
//! flood of huge random values costs bounded memory and no database work. The README lists
//! them.

/// A browser `Origin` (scheme, a DNS name of at most 253 bytes, a port): longer is no origin.
pub const ORIGIN: usize = 512;
