//! RFC 6749 §4.4: the client credentials grant. A confidential client gets an access token for
//! itself; nothing is written to the database.

use super::{select_resource, select_scope};
use crate::model::{Client, GrantType};
use crate::oauth::Protocol;
use crate::oauth::params::Params;
use crate::oauth::tokens::{Grant, TokenResponse, issue_access_token, new_jti};
use crate::oauth::{ErrorCode, OAuthError};

/// RFC 6749 §4.4.2 / §4.4.3. `sub` is the client_id (RFC 9068 §2.2).
// Debug level: the access-log line already names the client, and an info span per token
// request costs more than the line itself.
#[tracing::instrument(level = "debug", skip_all, fields(client_id = %client.client_id))]
pub async fn grant(
    ctx: &Protocol,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    // RFC 6749 §4.4: only confidential clients may use this grant.
    if client.public || !client.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the client_credentials grant",
        ));
    }
    let resource = select_resource(ctx, client, params).await?;
    let scope = select_scope(client, &resource, params)?;
    issue_access_token(
        ctx,
        Grant {
            client,
            resource: &resource,
            also_for: None,
            subject: &client.client_id.0,
            scope: &scope,
            jti: new_jti(),
        },
    )
}
