//! Server metadata (RFC 8414 §2): advertises exactly what is implemented. The OpenID
//! configuration document will be built by the same function once browser sign-in exists.

use serde::Serialize;

use crate::model::SigningAlg;

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    /// REQUIRED by RFC 8414; empty because there is no authorization endpoint yet.
    pub response_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Algorithms of the access tokens (RFC 9068 resources choose one of these).
    pub access_token_signing_alg_values_supported: Vec<&'static str>,
}

pub fn authorization_server(issuer: &str) -> Metadata {
    let secret_methods = vec!["client_secret_basic", "client_secret_post"];
    Metadata {
        issuer: issuer.to_owned(),
        token_endpoint: format!("{issuer}/token"),
        jwks_uri: format!("{issuer}/jwks.json"),
        introspection_endpoint: format!("{issuer}/introspect"),
        revocation_endpoint: format!("{issuer}/revoke"),
        grant_types_supported: vec!["client_credentials"],
        response_types_supported: vec![],
        token_endpoint_auth_methods_supported: secret_methods.clone(),
        introspection_endpoint_auth_methods_supported: secret_methods,
        revocation_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        access_token_signing_alg_values_supported: SigningAlg::ALL
            .iter()
            .map(|a| a.as_str())
            .collect(),
    }
}
