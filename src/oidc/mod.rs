//! OpenID Connect and OAuth metadata.

pub mod metadata;
