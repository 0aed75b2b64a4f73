//! RFC 8693 §2.1, the client side: a service trades the access token it received for one meant
//! for the next service down the chain.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

/// RFC 8693 §2.1 `grant_type`.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 §3: the type of a subject token that is an OAuth access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// What the new token is for (RFC 8693 §2.1 `audience`, `resource` and `scope`).
#[derive(Debug, Clone, Default)]
pub struct ExchangeRequest {
    /// Logical names of the target services.
    pub audience: Vec<String>,
    /// RFC 8707 resource indicators (absolute URIs) of the target services.
    pub resource: Vec<String>,
    /// The scopes wanted, space-separated; None for what the policy gives by default.
    pub scope: Option<String>,
}

/// RFC 8693 §2.2.1: the issued token.
#[derive(Clone, Deserialize)]
pub struct ExchangedToken {
    pub access_token: String,
    pub issued_token_type: String,
    pub token_type: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for ExchangedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangedToken")
            .field("issued_token_type", &self.issued_token_type)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// RFC 8693 §2.2.2 / RFC 6749 §5.2: the authorization server answered with an error, e.g.
    /// `unsupported_grant_type` (it does not do token exchange), `invalid_target` or
    /// `invalid_grant` (its policy refuses this exchange).
    #[error("the authorization server refused the token exchange ({status}): {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// The token endpoint could not be reached or did not answer in time.
    #[error("the token endpoint could not be reached: {0}")]
    Transport(#[from] reqwest::Error),
    /// The answer is neither a token response nor an OAuth error.
    #[error("the token endpoint's answer is not understood: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// A confidential client of Tessera that exchanges tokens, authenticated with
/// `client_secret_basic` (RFC 6749 §2.3.1).
#[derive(Clone)]
pub struct TokenExchange {
    http: reqwest::Client,
    token_endpoint: String,
    authorization: String,
}

impl TokenExchange {
    /// `token_endpoint` is the `token_endpoint` of Tessera's discovery document.
    pub fn new(
        http: reqwest::Client,
        token_endpoint: impl Into<String>,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        // RFC 6749 §2.3.1: both parts form-urlencoded before the Basic encoding.
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!("{}:{}", encode(client_id), encode(client_secret));
        Self {
            http,
            token_endpoint: token_endpoint.into(),
            authorization: format!("Basic {}", STANDARD.encode(pair)),
        }
    }

    /// RFC 8693 §2.1: trades `subject_token` (an access token this service received) for a
    /// token for `request`'s targets.
    pub async fn exchange(
        &self,
        subject_token: &str,
        request: &ExchangeRequest,
    ) -> Result<ExchangedToken, ExchangeError> {
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT),
            ("subject_token", subject_token),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ];
        form.extend(request.audience.iter().map(|a| ("audience", a.as_str())));
        form.extend(request.resource.iter().map(|r| ("resource", r.as_str())));
        if let Some(scope) = &request.scope {
            form.push(("scope", scope));
        }
        let response = self
            .http
            .post(&self.token_endpoint)
            .header(http::header::AUTHORIZATION, &self.authorization)
            .form(&form)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        if status == 200 {
            return serde_json::from_slice(&body)
                .map_err(|e| ExchangeError::Malformed(e.to_string()));
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => Err(ExchangeError::Refused {
                status,
                error: e.error,
                description: e.error_description,
            }),
            Err(_) => Err(ExchangeError::Malformed(format!(
                "status {status} without an OAuth error"
            ))),
        }
    }
}
