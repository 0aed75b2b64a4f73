//! What an admin asks for: the desired state of a client (registration) and a change to it
//! (update). The admin API reads both from JSON; the CLI and the console build them from flags
//! and form fields. A new client setting is one field in each, with its default here.

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::model::{
    ApplicationType, AuthMethod, Client, ClientGrant, ClientId, GrantType, Scope, SigningAlg,
};

/// The desired state of a client, for create and update. Only `name` is required; the rest
/// default as `tessera clients create` does: a confidential client_credentials client.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewClient)]
pub struct ClientSpec {
    pub name: String,
    /// A public client (browser or native app) has no secret.
    #[serde(default)]
    pub public: bool,
    /// Default: client_secret_basic (confidential) or none (public).
    #[serde(default)]
    pub auth_method: Option<AuthMethod>,
    /// Default: client_credentials (confidential) or authorization_code (public).
    #[serde(default)]
    pub grant_types: Vec<GrantType>,
    /// Granted resource identifiers; each gets the requested scopes it defines. The admin API's
    /// own resource needs `admin_api`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Space-delimited scopes granted on those resources; default: all the scopes they define.
    #[serde(default, deserialize_with = "scope")]
    #[schema(value_type = Option<String>)]
    pub scopes: Option<Scope>,
    /// Default: the only granted resource, if there is one.
    #[serde(default)]
    pub default_resource: Option<String>,
    /// Space-delimited; default: the default resource's granted scopes (never tessera:admin).
    #[serde(default, deserialize_with = "scope")]
    #[schema(value_type = Option<String>)]
    pub default_scopes: Option<Scope>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Seconds; overrides the resource's access-token lifetime.
    #[serde(default)]
    pub access_token_ttl: Option<i64>,
    /// The resource this client introspects tokens for (RFC 7662 §4).
    #[serde(default)]
    pub resource_server_for: Option<String>,
    /// Default web.
    #[serde(default = "web", deserialize_with = "web_if_null")]
    pub application_type: ApplicationType,
    /// Default RS256.
    #[serde(default = "rs256", deserialize_with = "rs256_if_null")]
    pub id_token_alg: SigningAlg,
    #[serde(default)]
    pub first_party: bool,
    /// Default true (RFC 9700 §2.1.1).
    #[serde(default = "yes", deserialize_with = "yes_if_null")]
    pub pkce_required: bool,
    #[serde(default)]
    pub offline_preauthorized: bool,
    /// May be granted the admin API (`tessera:admin`).
    #[serde(default)]
    pub admin_api: bool,
    #[serde(default)]
    pub refresh_idle_ttl: Option<i64>,
    #[serde(default)]
    pub refresh_absolute_ttl: Option<i64>,
    #[serde(default)]
    pub id_token_ttl: Option<i64>,
    #[serde(default)]
    pub refresh_grace_seconds: Option<i64>,
    /// Seconds; the `max_age` of authorization requests that send none (OIDC Registration §2).
    #[serde(default)]
    pub default_max_age: Option<i64>,
    #[serde(default)]
    pub disabled: bool,
}

fn web() -> ApplicationType {
    ApplicationType::Web
}

fn rs256() -> SigningAlg {
    SigningAlg::RS256
}

fn yes() -> bool {
    true
}

// `null` reads as the default, like an absent field.
fn web_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<ApplicationType, D::Error> {
    Ok(Option::deserialize(d)?.unwrap_or_else(web))
}

fn rs256_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<SigningAlg, D::Error> {
    Ok(Option::deserialize(d)?.unwrap_or_else(rs256))
}

fn yes_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::deserialize(d)?.unwrap_or_else(yes))
}

const SCOPE_SYNTAX: &str = "space-separated scope names (RFC 6749 §3.3)";

/// A space-delimited scope (RFC 6749 §3.3); `null` is "not set".
fn scope<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Scope>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|raw| Scope::parse(&raw).ok_or_else(|| serde::de::Error::custom(SCOPE_SYNTAX)))
        .transpose()
}

/// A present field of a change, `null` included (which clears it); absent fields stay `None`
/// through `#[serde(default)]`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn nullable_scope<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Scope>>, D::Error> {
    scope(d).map(Some)
}

impl ClientSpec {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            public: false,
            auth_method: None,
            grant_types: Vec::new(),
            resources: Vec::new(),
            scopes: None,
            default_resource: None,
            default_scopes: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            allowed_origins: Vec::new(),
            access_token_ttl: None,
            resource_server_for: None,
            application_type: web(),
            id_token_alg: rs256(),
            first_party: false,
            pkce_required: yes(),
            offline_preauthorized: false,
            admin_api: false,
            refresh_idle_ttl: None,
            refresh_absolute_ttl: None,
            id_token_ttl: None,
            refresh_grace_seconds: None,
            default_max_age: None,
            disabled: false,
        }
    }

    pub fn from_client(c: &Client) -> Self {
        let mut scopes = Vec::new();
        for g in &c.grants {
            scopes.extend(g.scopes.iter().map(str::to_owned));
        }
        Self {
            name: c.name.clone(),
            public: c.public,
            auth_method: Some(c.auth_method),
            grant_types: c.grant_types.clone(),
            resources: c.grants.iter().map(|g| g.resource.clone()).collect(),
            scopes: Some(Scope::from_tokens(scopes)),
            default_resource: c.default_resource.clone(),
            default_scopes: Some(c.default_scopes.clone()),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            allowed_origins: c.allowed_origins.clone(),
            access_token_ttl: c.access_token_ttl,
            resource_server_for: c.resource_server_for.clone(),
            application_type: c.application_type,
            id_token_alg: c.id_token_alg,
            first_party: c.first_party,
            pkce_required: c.pkce_required,
            offline_preauthorized: c.offline_preauthorized,
            admin_api: c.admin_api,
            refresh_idle_ttl: c.refresh_idle_ttl,
            refresh_absolute_ttl: c.refresh_absolute_ttl,
            id_token_ttl: c.id_token_ttl,
            refresh_grace_seconds: c.refresh_grace_seconds,
            default_max_age: c.default_max_age,
            disabled: c.disabled,
        }
    }
}

/// What the rules derive from a spec: the values not taken from it as they are.
pub(super) struct Derived {
    pub name: String,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub grants: Vec<ClientGrant>,
    pub default_resource: Option<String>,
    pub default_scopes: Scope,
}

impl ClientSpec {
    /// The client this checked spec describes; secrets are set by the caller.
    pub(super) fn into_client(
        self,
        client_id: ClientId,
        d: Derived,
        created_at: i64,
        updated_at: i64,
    ) -> Client {
        Client {
            client_id,
            name: d.name,
            public: self.public,
            auth_method: d.auth_method,
            grant_types: d.grant_types,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            allowed_origins: self.allowed_origins,
            grants: d.grants,
            default_resource: d.default_resource,
            default_scopes: d.default_scopes,
            access_token_ttl: self.access_token_ttl,
            resource_server_for: self.resource_server_for,
            application_type: self.application_type,
            id_token_alg: self.id_token_alg,
            first_party: self.first_party,
            pkce_required: self.pkce_required,
            offline_preauthorized: self.offline_preauthorized,
            admin_api: self.admin_api,
            refresh_idle_ttl: self.refresh_idle_ttl,
            refresh_absolute_ttl: self.refresh_absolute_ttl,
            id_token_ttl: self.id_token_ttl,
            refresh_grace_seconds: self.refresh_grace_seconds.filter(|s| *s > 0),
            default_max_age: self.default_max_age,
            disabled: self.disabled,
            created_at,
            updated_at,
            secret_hash: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
        }
    }
}

/// What to change; absent fields stay as they are, `null` clears an optional one. Lists replace
/// the whole list. `scopes` is the flat set of granted scope names: it is kept when `resources`
/// changes (so nothing is granted by surprise) and `null` grants every scope of the resources.
/// `"disabled": true` disables the client: its tokens stop working at once. `public` is fixed
/// at registration: another value is refused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientChanges)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub public: Option<bool>,
    pub auth_method: Option<AuthMethod>,
    pub grant_types: Option<Vec<GrantType>>,
    pub resources: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable_scope")]
    #[schema(value_type = Option<String>)]
    pub scopes: Option<Option<Scope>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub default_resource: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable_scope")]
    #[schema(value_type = Option<String>)]
    pub default_scopes: Option<Option<Scope>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub access_token_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub resource_server_for: Option<Option<String>>,
    pub application_type: Option<ApplicationType>,
    pub id_token_alg: Option<SigningAlg>,
    pub first_party: Option<bool>,
    pub pkce_required: Option<bool>,
    pub offline_preauthorized: Option<bool>,
    pub admin_api: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub refresh_idle_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub refresh_absolute_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub id_token_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub refresh_grace_seconds: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub default_max_age: Option<Option<i64>>,
    pub disabled: Option<bool>,
}

/// Sets `target` when the change is present.
fn set<T>(target: &mut T, change: Option<T>) {
    if let Some(value) = change {
        *target = value;
    }
}

impl ClientPatch {
    pub fn apply(self, spec: &mut ClientSpec) {
        set(&mut spec.name, self.name);
        set(&mut spec.public, self.public);
        set(&mut spec.auth_method, self.auth_method.map(Some));
        set(&mut spec.grant_types, self.grant_types);
        set(&mut spec.resources, self.resources);
        set(&mut spec.scopes, self.scopes);
        set(&mut spec.default_resource, self.default_resource);
        set(&mut spec.default_scopes, self.default_scopes);
        set(&mut spec.redirect_uris, self.redirect_uris);
        set(
            &mut spec.post_logout_redirect_uris,
            self.post_logout_redirect_uris,
        );
        set(&mut spec.allowed_origins, self.allowed_origins);
        set(&mut spec.access_token_ttl, self.access_token_ttl);
        set(&mut spec.resource_server_for, self.resource_server_for);
        set(&mut spec.application_type, self.application_type);
        set(&mut spec.id_token_alg, self.id_token_alg);
        set(&mut spec.first_party, self.first_party);
        set(&mut spec.pkce_required, self.pkce_required);
        set(&mut spec.offline_preauthorized, self.offline_preauthorized);
        set(&mut spec.admin_api, self.admin_api);
        set(&mut spec.refresh_idle_ttl, self.refresh_idle_ttl);
        set(&mut spec.refresh_absolute_ttl, self.refresh_absolute_ttl);
        set(&mut spec.id_token_ttl, self.id_token_ttl);
        set(&mut spec.refresh_grace_seconds, self.refresh_grace_seconds);
        set(&mut spec.default_max_age, self.default_max_age);
        set(&mut spec.disabled, self.disabled);
    }

    /// The spec of a new client: these changes over the defaults of [`ClientSpec::new`].
    pub fn into_spec(self) -> ClientSpec {
        let mut spec = ClientSpec::new(String::new());
        self.apply(&mut spec);
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_reads_with_defaults_and_a_patch_keeps_what_it_omits() {
        let spec: ClientSpec =
            serde_json::from_str(r#"{"name": "n", "scopes": "b a"}"#).expect("spec");
        assert!(spec.pkce_required && !spec.public);
        let nulls: ClientSpec = serde_json::from_str(
            r#"{"name": "n", "pkce_required": null, "application_type": null}"#,
        )
        .expect("null is the default");
        assert!(nulls.pkce_required);
        assert_eq!(spec.application_type, ApplicationType::Web);
        assert_eq!(
            spec.scopes.as_ref().map(Scope::to_string).as_deref(),
            Some("a b")
        );
        assert!(serde_json::from_str::<ClientSpec>(r#"{"scopes": "a"}"#).is_err());
        assert!(serde_json::from_str::<ClientSpec>(r#"{"name": "n", "scopes": "a\"b"}"#).is_err());
        let patch: ClientPatch =
            serde_json::from_str(r#"{"scopes": null, "access_token_ttl": 60}"#).expect("patch");
        let mut changed = spec.clone();
        patch.apply(&mut changed);
        assert_eq!(changed.scopes, None);
        assert_eq!(changed.access_token_ttl, Some(60));
        assert_eq!(changed.name, "n");
        assert!(serde_json::from_str::<ClientPatch>(r#"{"secret": "x"}"#).is_err());
    }
}
