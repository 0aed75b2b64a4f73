//! OpenID Connect and OAuth metadata.

pub mod id_token;
pub mod metadata;
pub mod userinfo;
