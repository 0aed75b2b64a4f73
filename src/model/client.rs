use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Scope, SigningAlg, UnknownValue};

/// A server-generated client identifier. Its shape (`c_` + 22 base64url characters) can never
/// equal a user's subject, which is a UUID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ClientId(pub String);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Token endpoint authentication methods (RFC 7591 §2, OIDC Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "client_secret_basic" => Ok(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Ok(AuthMethod::ClientSecretPost),
            "none" => Ok(AuthMethod::None),
            _ => Err(UnknownValue {
                kind: "auth method",
                value: s.to_owned(),
                expected: "client_secret_basic, client_secret_post, none",
            }),
        }
    }
}

/// Grant types a client may use (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }
}

impl std::str::FromStr for GrantType {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "authorization_code" => Ok(GrantType::AuthorizationCode),
            "client_credentials" => Ok(GrantType::ClientCredentials),
            "refresh_token" => Ok(GrantType::RefreshToken),
            _ => Err(UnknownValue {
                kind: "grant type",
                value: s.to_owned(),
                expected: "authorization_code, client_credentials, refresh_token",
            }),
        }
    }
}

/// OIDC Registration §2 `application_type`: native apps get the RFC 8252 redirect rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    Web,
    Native,
}

impl ApplicationType {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationType::Web => "web",
            ApplicationType::Native => "native",
        }
    }
}

impl std::str::FromStr for ApplicationType {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "web" => Ok(ApplicationType::Web),
            "native" => Ok(ApplicationType::Native),
            _ => Err(UnknownValue {
                kind: "application type",
                value: s.to_owned(),
                expected: "web, native",
            }),
        }
    }
}

/// A resource a client may get tokens for, with the scopes it may ask for there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClientGrant {
    pub resource: String,
    /// Space-delimited (RFC 6749 §3.3).
    #[serde(serialize_with = "scope_string")]
    #[schema(value_type = String)]
    pub scopes: Scope,
}

fn scope_string<S: serde::Serializer>(scope: &Scope, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(scope)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Client {
    pub client_id: ClientId,
    pub name: String,
    pub public: bool,
    pub application_type: ApplicationType,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser (OIDC RP-Initiated Logout §2).
    pub post_logout_redirect_uris: Vec<String>,
    /// Browser origins besides those of the redirect URIs that may call /token, /revoke and
    /// /userinfo (CORS).
    pub allowed_origins: Vec<String>,
    pub grants: Vec<ClientGrant>,
    pub default_resource: Option<String>,
    #[serde(serialize_with = "scope_string")]
    #[schema(value_type = String)]
    pub default_scopes: Scope,
    /// Overrides the resource's access-token lifetime when set (seconds).
    pub access_token_ttl: Option<i64>,
    /// The resource this client acts as: it may introspect tokens issued for it (RFC 7662 §4).
    pub resource_server_for: Option<String>,
    /// `id_token_signed_response_alg` (OIDC Registration §2), default RS256.
    pub id_token_alg: SigningAlg,
    /// Trusted first-party apps skip the consent page.
    pub first_party: bool,
    /// RFC 9700 §2.1.1: PKCE is required unless an admin turns it off for a client.
    pub pkce_required: bool,
    /// A first-party client may get offline_access without a consent page only when an admin
    /// pre-authorised it (OIDC Core §11).
    pub offline_preauthorized: bool,
    /// Only clients an admin marks so may be granted the admin API and its `tessera:admin`
    /// scope.
    pub admin_api: bool,
    /// Overrides (seconds) of the refresh-token idle and absolute lifetimes and the ID-token
    /// lifetime.
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    /// Seconds during which a just-rotated refresh token still yields the same successor
    /// (two tabs refreshing at once); None = off.
    pub refresh_grace_seconds: Option<i64>,
    /// `default_max_age` (OIDC Registration §2): seconds after which a sign-in no longer
    /// counts when an authorization request carries no `max_age`; None = no limit.
    pub default_max_age: Option<i64>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Keyed hashes of the current secret and of the previous one during a rotation overlap.
    #[serde(skip)]
    pub secret_hash: Option<String>,
    #[serde(skip)]
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
}

impl Client {
    pub fn grant_for(&self, resource: &str) -> Option<&ClientGrant> {
        self.grants.iter().find(|g| g.resource == resource)
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The browser origins allowed to call the token endpoints for this client: those of its
    /// redirect URIs (web clients) plus the explicit list. Never `*`.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
            || self
                .redirect_uris
                .iter()
                .any(|uri| uri_origin(uri).is_some_and(|o| o == origin))
    }

    /// Every origin [`Client::allows_origin`] accepts: what the origin index (`client_origins`)
    /// holds for this client.
    pub fn origins(&self) -> BTreeSet<String> {
        origins_of(&self.redirect_uris, &self.allowed_origins)
    }
}

/// The browser origins of a client with these redirect URIs and explicit origins.
pub fn origins_of(redirect_uris: &[String], allowed_origins: &[String]) -> BTreeSet<String> {
    redirect_uris
        .iter()
        .filter_map(|uri| uri_origin(uri))
        .chain(allowed_origins.iter().cloned())
        .collect()
}

/// The serialized origin (RFC 6454 §6.1) of an http(s) redirect URI, as browsers send it.
fn uri_origin(uri: &str) -> Option<String> {
    url::Url::parse(uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
}
