//! Server metadata: RFC 8414 §2 and OpenID Connect Discovery §3, built by one function so the
//! two documents never disagree. Advertises exactly what is implemented.

use serde::Serialize;

use super::claims::{ADDRESS_CLAIMS, EMAIL_CLAIMS, PHONE_CLAIMS, PROFILE_CLAIMS};
use crate::model::SigningAlg;
use crate::oauth::authorize::OIDC_SCOPES;

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub jwks_uri: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub scopes_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    pub prompt_values_supported: Vec<&'static str>,
    /// RFC 9207 §3: every authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    /// Algorithms of the access tokens (RFC 9068 resources choose one of these).
    pub access_token_signing_alg_values_supported: Vec<&'static str>,
}

pub fn build(issuer: &str) -> Metadata {
    let algs: Vec<&'static str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    let secret_methods = vec!["client_secret_basic", "client_secret_post"];
    Metadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: format!("{issuer}/authorize"),
        token_endpoint: format!("{issuer}/token"),
        userinfo_endpoint: format!("{issuer}/userinfo"),
        end_session_endpoint: format!("{issuer}/logout"),
        jwks_uri: format!("{issuer}/jwks.json"),
        introspection_endpoint: format!("{issuer}/introspect"),
        revocation_endpoint: format!("{issuer}/revoke"),
        scopes_supported: OIDC_SCOPES.to_vec(),
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query", "form_post"],
        grant_types_supported: vec!["authorization_code", "client_credentials", "refresh_token"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: algs.clone(),
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        introspection_endpoint_auth_methods_supported: secret_methods,
        revocation_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        code_challenge_methods_supported: vec!["S256"],
        claims_supported: vec![
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "azp",
            "sid",
        ]
        .into_iter()
        .chain(PROFILE_CLAIMS)
        .chain(EMAIL_CLAIMS)
        .chain(ADDRESS_CLAIMS)
        .chain(PHONE_CLAIMS)
        .collect(),
        prompt_values_supported: vec!["none", "login", "consent", "select_account"],
        authorization_response_iss_parameter_supported: true,
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        access_token_signing_alg_values_supported: algs,
    }
}
