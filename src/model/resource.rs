use serde::{Deserialize, Serialize};

use super::UnknownValue;

/// JWS algorithms Tessera signs with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
}

impl std::str::FromStr for SigningAlg {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SigningAlg::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownValue {
                kind: "signing algorithm",
                value: s.to_owned(),
                expected: "RS256, ES256, EdDSA",
            })
    }
}

/// One scope a resource server defines, with the words a consent page shows for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScopeDef {
    pub name: String,
    pub description: String,
}

/// A resource server (API): its identifier is the `aud` of the access tokens issued for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Resource {
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<ScopeDef>,
    pub signing_alg: SigningAlg,
    /// Access-token lifetime in seconds.
    pub access_token_ttl: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Resource {
    pub fn defines_scope(&self, name: &str) -> bool {
        self.scopes.iter().any(|s| s.name == name)
    }
}

/// RFC 8707 §2: a resource indicator is an absolute URI without a fragment.
pub fn validate_resource_identifier(raw: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(raw).map_err(|_| "must be an absolute URI")?;
    if url.fragment().is_some() || raw.contains('#') {
        return Err("must not contain a fragment");
    }
    if url.cannot_be_a_base() && !raw.starts_with("urn:") {
        return Err("must be an absolute URI");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_identifiers() {
        assert!(validate_resource_identifier("https://api.example.com/orders").is_ok());
        assert!(validate_resource_identifier("urn:example:orders").is_ok());
        assert!(validate_resource_identifier("/relative").is_err());
        assert!(validate_resource_identifier("https://api.example.com/#frag").is_err());
        assert!(validate_resource_identifier("orders").is_err());
    }

    #[test]
    fn algorithms_round_trip() {
        for alg in SigningAlg::ALL {
            assert_eq!(alg.as_str().parse::<SigningAlg>(), Ok(alg));
        }
        assert!("HS256".parse::<SigningAlg>().is_err());
    }
}
