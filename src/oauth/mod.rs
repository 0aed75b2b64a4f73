//! The protocol: request parameters, client authentication, grants, tokens, introspection and
//! revocation. No axum types: handlers pass in what they read from the request.

pub mod access_token;
pub mod authorize;
pub mod client_auth;
mod context;
pub mod defaults;
pub mod error;
pub mod grants;
pub mod introspection;
pub mod keys;
pub mod params;
pub mod refresh;
pub mod revocation;
pub mod tokens;

pub use context::Protocol;
pub use error::{ErrorCode, OAuthError};
