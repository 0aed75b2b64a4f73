//! OpenID Connect and OAuth metadata.

pub mod authorize;
pub mod claims;
pub mod id_token;
pub mod logout;
pub mod metadata;
pub mod token;
pub mod userinfo;
