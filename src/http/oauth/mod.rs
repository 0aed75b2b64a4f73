pub mod error;
pub mod introspect;
pub mod revoke;
pub mod token;
