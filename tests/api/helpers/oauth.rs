//! Independent OAuth clients (the `oauth2` crate) pointed at a test server: what a real client
//! application or service would use, so flows prove interoperability, not self-consistency.

use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    RedirectUrl, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::TestApp;

/// A confidential client of `app`'s token endpoint (client credentials, refresh), presenting
/// its secret the `auth` way.
pub fn token_client(
    app: &TestApp,
    id: &str,
    secret: &str,
    auth: AuthType,
) -> BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet> {
    BasicClient::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_token_uri(TokenUrl::new(app.url("/token")).expect("url"))
        .set_auth_type(auth)
}

/// The `id_token` of an OpenID Connect token response, which plain OAuth types leave out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

pub type OidcResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;
pub type OidcClient = oauth2::Client<
    BasicErrorResponse,
    OidcResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A confidential web client of `app` for the code flow (Basic authentication at /token),
/// coming back to `redirect`.
pub fn code_flow_client(app: &TestApp, id: &str, secret: &str, redirect: &str) -> OidcClient {
    oauth2::Client::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_auth_uri(AuthUrl::new(app.url("/authorize")).expect("url"))
        .set_token_uri(TokenUrl::new(app.url("/token")).expect("url"))
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).expect("url"))
}
