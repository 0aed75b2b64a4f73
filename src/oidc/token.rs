//! The token endpoint with OpenID Connect on top: the OAuth grant runs (`oauth::grants`), and a
//! grant with the `openid` scope gets its ID token here (OIDC Core §3.1.3.3; on refresh §12.2).

use super::id_token;
use crate::model::{Client, GrantType};
use crate::oauth::defaults::DEFAULT_TOKEN_TTL;
use crate::oauth::params::Params;
use crate::oauth::tokens::TokenResponse;
use crate::oauth::{OAuthError, Protocol, grants};

/// RFC 6749 §5.1 and OIDC Core §3.1.3.3: the grant's tokens, with an ID token for an OpenID
/// grant, signed with the client's `id_token_signed_response_alg` for its `id_token_ttl`.
pub async fn issue(
    ctx: &Protocol,
    client: &Client,
    grant: GrantType,
    params: &Params,
    ip: &str,
) -> Result<TokenResponse, OAuthError> {
    let mut response = grants::issue(ctx, client, grant, params, ip).await?;
    if let Some(sign_in) = response.sign_in.take() {
        let ttl = client.id_token_ttl.unwrap_or(DEFAULT_TOKEN_TTL);
        response.id_token = Some(id_token::issue(
            ctx,
            client,
            &sign_in,
            &response.access_token,
            ttl,
        )?);
    }
    Ok(response)
}
