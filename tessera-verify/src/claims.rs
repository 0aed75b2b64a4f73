//! What a verified access token says, as handlers receive it.

use serde::Deserialize;
use serde_json::{Map, Value};

/// RFC 7800 §3.1 `cnf`: the key or certificate a token is bound to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Confirmation {
    /// RFC 8705 §3.1: the SHA-256 thumbprint of the client certificate, base64url.
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: Option<String>,
    /// RFC 9449 §6.1: the RFC 7638 SHA-256 thumbprint of the DPoP key, base64url.
    pub jkt: Option<String>,
}

/// RFC 8693 §4.1 `act`: the party acting for the subject, itself perhaps acting for another.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Actor {
    pub sub: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub act: Option<Box<Actor>>,
}

/// RFC 9068 §2.2: the claims of an access token that passed every check. Handlers take it as an
/// extractor (see the crate documentation); the layer puts it in the request's extensions.
#[derive(Clone)]
pub struct VerifiedToken {
    /// The resource owner, or the client itself for client_credentials.
    pub sub: String,
    pub client_id: String,
    /// RFC 9068 §2.2.3: the granted scopes (the `scope` claim split on spaces).
    pub scope: Vec<String>,
    /// RFC 7519 §4.1.3: every audience of the token (one of them is this service's).
    pub aud: Vec<String>,
    pub exp: u64,
    pub act: Option<Actor>,
    pub cnf: Option<Confirmation>,
    /// Every claim as sent, for the ones above do not cover.
    pub claims: Map<String, Value>,
    token: String,
}

/// The token is a bearer secret: only who it is for.
impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("sub", &self.sub)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("aud", &self.aud)
            .field("act", &self.act)
            .field("cnf", &self.cnf)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Known {
    sub: String,
    client_id: String,
    #[serde(default)]
    scope: String,
    exp: u64,
    #[serde(default)]
    act: Option<Actor>,
    #[serde(default)]
    cnf: Option<Confirmation>,
}

impl VerifiedToken {
    /// RFC 9068 §2.2: `sub`, `client_id` and `exp` are required; `aud` was checked by the caller.
    pub(crate) fn from_claims(
        claims: Map<String, Value>,
        aud: Vec<String>,
        token: &str,
    ) -> Result<Self, String> {
        // Read in place (a token's claims are not copied on the verification path).
        let claims = Value::Object(claims);
        let known = Known::deserialize(&claims).map_err(|e| format!("claims: {e}"))?;
        let claims = match claims {
            Value::Object(claims) => claims,
            _ => Map::new(),
        };
        Ok(Self {
            sub: known.sub,
            client_id: known.client_id,
            scope: known.scope.split_whitespace().map(str::to_owned).collect(),
            aud,
            exp: known.exp,
            act: known.act,
            cnf: known.cnf,
            claims,
            token: token.to_owned(),
        })
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }

    /// The scopes of `required` the token lacks.
    pub fn missing_scopes<'a>(&self, required: &[&'a str]) -> Vec<&'a str> {
        required
            .iter()
            .copied()
            .filter(|s| !self.has_scope(s))
            .collect()
    }

    /// The access token itself, e.g. as the `subject_token` of a token exchange
    /// ([`TokenExchange`](crate::TokenExchange)). Never log it.
    pub fn access_token(&self) -> &str {
        &self.token
    }
}
