//! Client registration: server-generated ids and secrets, grants of resources and scopes.

use super::{Core, ServiceError, invalid};
use crate::crypto::random;
use crate::crypto::secrets::SecretHasher;
use crate::model::limits;
use crate::model::{
    Actor, ApplicationType, AuthMethod, Client, ClientGrant, ClientId, GrantType, Resource, Scope,
    SigningAlg,
};
use crate::service::admin::ADMIN_SCOPE;
use crate::service::resources::MAX_TOKEN_TTL;
use crate::store::StoreError;
use crate::store::clients as store;

/// The desired state of a client, for create and update.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub name: String,
    pub public: bool,
    /// None picks `client_secret_basic` (confidential) or `none` (public).
    pub auth_method: Option<AuthMethod>,
    pub grant_types: Vec<GrantType>,
    /// Granted resource identifiers; each gets the requested scopes it defines (all of its
    /// scopes when `scopes` is None).
    pub resources: Vec<String>,
    pub scopes: Option<Scope>,
    pub default_resource: Option<String>,
    /// None: all scopes granted on the default resource.
    pub default_scopes: Option<Scope>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub access_token_ttl: Option<i64>,
    pub resource_server_for: Option<String>,
    pub application_type: ApplicationType,
    pub id_token_alg: SigningAlg,
    pub first_party: bool,
    pub pkce_required: bool,
    pub offline_preauthorized: bool,
    pub admin_api: bool,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_grace_seconds: Option<i64>,
    pub disabled: bool,
}

/// Refresh-token lifetimes when a client sets none (RFC 9700 §4.14.2 asks for bounded ones).
pub const DEFAULT_REFRESH_IDLE_TTL: i64 = 30 * 86_400;
pub const DEFAULT_REFRESH_ABSOLUTE_TTL: i64 = 365 * 86_400;

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
            application_type: ApplicationType::Web,
            id_token_alg: SigningAlg::RS256,
            first_party: false,
            pkce_required: true,
            offline_preauthorized: false,
            admin_api: false,
            refresh_idle_ttl: None,
            refresh_absolute_ttl: None,
            id_token_ttl: None,
            refresh_grace_seconds: None,
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
            disabled: c.disabled,
        }
    }
}

/// A registration and, for confidential clients, the secret shown exactly once.
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("client", &self.client)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// RFC 6749 §3.1.2: absolute, no fragment. Web clients (RFC 9700 §2.6): https, or http on a
/// loopback host for development. Native clients (RFC 8252 §7): http on a loopback IP, a
/// private-use scheme in reverse-domain form, or https.
pub fn validate_redirect_uri(uri: &str, app: ApplicationType) -> Result<(), ServiceError> {
    let bad = |why: &str| invalid("redirect_uris", format!("{uri:?} {why}"));
    let url = url::Url::parse(uri).map_err(|_| bad("is not an absolute URI"))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(bad("must not contain a fragment"));
    }
    // The URL parser drops tabs and newlines and trims spaces and controls, but the raw string is
    // what is matched and sent in the Location header (RFC 3986 §2: a URI has none of them).
    if !uri.bytes().all(|b| b > b' ' && b != 0x7f) {
        return Err(bad("must not contain spaces or control characters"));
    }
    let loopback_ip = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    let localhost = matches!(url.host(), Some(url::Host::Domain(d)) if d == "localhost");
    match (app, url.scheme()) {
        (_, "https") => Ok(()),
        (ApplicationType::Web, "http") if loopback_ip || localhost => Ok(()),
        (ApplicationType::Web, _) => Err(bad("must use https (http only on a loopback host)")),
        (ApplicationType::Native, "http") if loopback_ip => Ok(()),
        (ApplicationType::Native, "http") => Err(bad(
            "must use a loopback IP literal (127.0.0.1 or [::1]), RFC 8252 §7.3",
        )),
        (ApplicationType::Native, scheme) if scheme.contains('.') => Ok(()),
        (ApplicationType::Native, _) => Err(bad(
            "must use a reverse-domain private-use scheme such as com.example.app:/cb (RFC 8252 §7.1)",
        )),
    }
}

impl Core {
    /// Checks `spec` against the registered resources and builds the client it describes.
    async fn build_client(
        &self,
        id: ClientId,
        spec: ClientSpec,
        created_at: i64,
    ) -> Result<Client, ServiceError> {
        if spec.name.trim().is_empty() || spec.name.len() > 200 {
            return Err(invalid("name", "must be 1 to 200 characters"));
        }
        let auth_method = spec.auth_method.unwrap_or(if spec.public {
            AuthMethod::None
        } else {
            AuthMethod::ClientSecretBasic
        });
        match (spec.public, auth_method) {
            (true, AuthMethod::None)
            | (false, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost) => {}
            (true, _) => {
                return Err(invalid(
                    "auth_method",
                    "a public client has no secret: use none",
                ));
            }
            (false, _) => {
                return Err(invalid(
                    "auth_method",
                    "a confidential client must authenticate",
                ));
            }
        }
        let mut grant_types = spec.grant_types.clone();
        if grant_types.is_empty() {
            grant_types.push(if spec.public {
                GrantType::AuthorizationCode
            } else {
                GrantType::ClientCredentials
            });
        }
        grant_types.dedup();
        if grant_types.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
            return Err(invalid(
                "redirect_uris",
                "the authorization_code grant needs at least one redirect URI",
            ));
        }
        // RFC 6749 §4.4: the client credentials grant is for confidential clients only.
        if spec.public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(invalid(
                "grant_types",
                "client_credentials needs a confidential client",
            ));
        }
        for uri in spec
            .redirect_uris
            .iter()
            .chain(&spec.post_logout_redirect_uris)
        {
            validate_redirect_uri(uri, spec.application_type)?;
        }
        for origin in &spec.allowed_origins {
            let parsed = url::Url::parse(origin).ok();
            let exact = parsed
                .as_ref()
                .is_some_and(|u| u.origin().ascii_serialization() == *origin);
            if !exact {
                return Err(invalid(
                    "allowed_origins",
                    format!("{origin:?} is not an origin such as https://app.example.com"),
                ));
            }
        }
        let mut resources: Vec<Resource> = Vec::new();
        for identifier in &spec.resources {
            if resources.iter().any(|r| &r.identifier == identifier) {
                continue;
            }
            let resource = crate::store::resources::get(&self.db, identifier)
                .await?
                .ok_or_else(|| invalid("resources", format!("no resource {identifier}")))?;
            resources.push(resource);
        }
        // The admin API is never granted by accident: only to clients an admin marked so, and
        // its scope is never a default (see `service::admin`).
        if !spec.admin_api
            && resources
                .iter()
                .any(|r| r.scopes.iter().any(|s| s.name == ADMIN_SCOPE))
        {
            return Err(invalid(
                "resources",
                "the admin API can only be granted to a client marked admin_api",
            ));
        }
        let grants: Vec<ClientGrant> = resources
            .iter()
            .map(|r| ClientGrant {
                resource: r.identifier.clone(),
                scopes: Scope::from_tokens(
                    r.scopes
                        .iter()
                        .filter(|s| {
                            spec.scopes
                                .as_ref()
                                .is_none_or(|want| want.contains(&s.name))
                        })
                        .map(|s| s.name.clone())
                        .collect(),
                ),
            })
            .collect();
        if let Some(scopes) = &spec.scopes
            && let Some(unknown) = scopes
                .iter()
                .find(|s| !grants.iter().any(|g| g.scopes.contains(s)))
        {
            return Err(invalid(
                "scopes",
                format!("{unknown:?} is not defined by any granted resource"),
            ));
        }
        let default_resource = match spec.default_resource {
            Some(d) if grants.iter().any(|g| g.resource == d) => Some(d),
            Some(d) => {
                return Err(invalid(
                    "default_resource",
                    format!("{d} is not granted to the client"),
                ));
            }
            None if grants.len() == 1 => Some(grants[0].resource.clone()),
            None => None,
        };
        let granted_default = default_resource
            .as_deref()
            .and_then(|d| grants.iter().find(|g| g.resource == d))
            .map(|g| g.scopes.clone())
            .unwrap_or_default();
        let default_scopes = spec.default_scopes.unwrap_or_else(|| {
            Scope::from_tokens(
                granted_default
                    .iter()
                    .filter(|s| *s != ADMIN_SCOPE)
                    .map(str::to_owned)
                    .collect(),
            )
        });
        if default_scopes.contains(ADMIN_SCOPE) {
            return Err(invalid(
                "default_scopes",
                "tessera:admin is never a default scope: request it explicitly",
            ));
        }
        if !default_scopes.is_subset_of(&granted_default) {
            return Err(invalid(
                "default_scopes",
                "must be among the scopes granted on the default resource",
            ));
        }
        if let Some(ttl) = spec.access_token_ttl
            && !(1..=MAX_TOKEN_TTL).contains(&ttl)
        {
            return Err(invalid(
                "access_token_ttl",
                format!("must be between 1 and {MAX_TOKEN_TTL} seconds"),
            ));
        }
        if let Some(ttl) = spec.id_token_ttl
            && !(1..=MAX_TOKEN_TTL).contains(&ttl)
        {
            return Err(invalid(
                "id_token_ttl",
                format!("must be between 1 and {MAX_TOKEN_TTL} seconds"),
            ));
        }
        if spec
            .refresh_grace_seconds
            .is_some_and(|s| !(0..=60).contains(&s))
        {
            return Err(invalid(
                "refresh_grace_seconds",
                "must be between 0 (off) and 60 seconds",
            ));
        }
        let idle = spec.refresh_idle_ttl.unwrap_or(DEFAULT_REFRESH_IDLE_TTL);
        let absolute = spec
            .refresh_absolute_ttl
            .unwrap_or(DEFAULT_REFRESH_ABSOLUTE_TTL);
        if idle < 60 || absolute < idle || absolute > 5 * 365 * 86_400 {
            return Err(invalid(
                "refresh_ttl",
                "idle lifetime must be at least 60 s and at most the absolute lifetime (at most 5 years)",
            ));
        }
        if let Some(rs) = &spec.resource_server_for
            && crate::store::resources::get(&self.db, rs).await?.is_none()
        {
            return Err(invalid("resource_server_for", format!("no resource {rs}")));
        }
        Ok(Client {
            client_id: id,
            name: spec.name.trim().to_owned(),
            public: spec.public,
            auth_method,
            grant_types,
            redirect_uris: spec.redirect_uris,
            post_logout_redirect_uris: spec.post_logout_redirect_uris,
            allowed_origins: spec.allowed_origins,
            grants,
            default_resource,
            default_scopes,
            access_token_ttl: spec.access_token_ttl,
            resource_server_for: spec.resource_server_for,
            application_type: spec.application_type,
            id_token_alg: spec.id_token_alg,
            first_party: spec.first_party,
            pkce_required: spec.pkce_required,
            offline_preauthorized: spec.offline_preauthorized,
            admin_api: spec.admin_api,
            refresh_idle_ttl: spec.refresh_idle_ttl,
            refresh_absolute_ttl: spec.refresh_absolute_ttl,
            id_token_ttl: spec.id_token_ttl,
            refresh_grace_seconds: spec.refresh_grace_seconds.filter(|s| *s > 0),
            disabled: spec.disabled,
            created_at,
            updated_at: self.now(),
            secret_hash: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
        })
    }

    /// Registers a client with a server-generated id and (if confidential) a 256-bit secret,
    /// of which only a keyed hash is stored.
    pub async fn create_client(
        &self,
        spec: ClientSpec,
        actor: &Actor,
    ) -> Result<Registered, ServiceError> {
        let id = ClientId(format!("c_{}", random::token::<16>()));
        let mut client = self.build_client(id, spec, self.now()).await?;
        let secret = (!client.public).then(SecretHasher::generate_secret);
        client.secret_hash = secret.as_deref().map(|s| self.hasher.hash(s));
        let audit = self.audit_change(actor, "client.created", &client.client_id.0, &client);
        store::insert(&self.db, &client, &audit).await?;
        Ok(Registered { client, secret })
    }

    pub async fn update_client(
        &self,
        id: &str,
        spec: ClientSpec,
        actor: &Actor,
    ) -> Result<Client, ServiceError> {
        let existing = self.client(id).await?;
        if existing.public != spec.public {
            return Err(invalid(
                "public",
                "a client cannot switch between public and confidential; register a new one",
            ));
        }
        let mut client = self
            .build_client(existing.client_id.clone(), spec, existing.created_at)
            .await?;
        client.secret_hash = existing.secret_hash;
        client.previous_secret_hash = existing.previous_secret_hash;
        client.previous_secret_expires_at = existing.previous_secret_expires_at;
        let kind = match (existing.disabled, client.disabled) {
            (false, true) => "client.disabled",
            (true, false) => "client.enabled",
            _ => "client.updated",
        };
        let audit = self.audit_change(actor, kind, id, &client);
        let found = store::update(&self.db, &client, &audit).await?;
        self.clients.invalidate(id);
        if !found {
            return Err(ServiceError::NotFound(format!("client {id}")));
        }
        Ok(client)
    }

    /// A new secret; the old one keeps working for `overlap_seconds` (none by default), so
    /// deployments can roll the new secret out without downtime.
    pub async fn rotate_client_secret(
        &self,
        id: &str,
        overlap_seconds: i64,
        actor: &Actor,
    ) -> Result<String, ServiceError> {
        let client = self.client(id).await?;
        if client.public {
            return Err(invalid("client_id", "a public client has no secret"));
        }
        if !(0..=30 * 86_400).contains(&overlap_seconds) {
            return Err(invalid("overlap", "must be between 0 and 30 days"));
        }
        let now = self.now();
        let secret = SecretHasher::generate_secret();
        let hash = self.hasher.hash(&secret);
        let previous = match (&client.secret_hash, overlap_seconds) {
            (Some(old), s) if s > 0 => Some((old.as_str(), now + s)),
            _ => None,
        };
        let audit = actor
            .event("client.secret_rotated", now, id)
            .detail(serde_json::json!({ "overlap_seconds": overlap_seconds }));
        let found = store::set_secret(
            &self.db,
            &client.client_id,
            &hash,
            previous,
            now,
            Some(&audit),
        )
        .await?;
        self.clients.invalidate(id);
        if !found {
            return Err(ServiceError::NotFound(format!("client {id}")));
        }
        Ok(secret)
    }

    /// After a master-key rewrap: stores the secret's hash under the new primary key, keeping
    /// any rotation overlap as it was. Runs on the secret's next successful use.
    pub async fn rehash_client_secret(
        &self,
        client: &Client,
        secret: &str,
    ) -> Result<(), crate::store::StoreError> {
        let hash = self.hasher.hash(secret);
        let previous = client
            .previous_secret_hash
            .as_deref()
            .zip(client.previous_secret_expires_at);
        store::set_secret(
            &self.db,
            &client.client_id,
            &hash,
            previous,
            self.now(),
            None,
        )
        .await?;
        self.clients.invalidate(&client.client_id.0);
        tracing::info!(client_id = %client.client_id, "client secret re-hashed under the new master key");
        Ok(())
    }

    /// Whether an enabled client allows the browser `origin` (CORS), as of at most
    /// `clients.cache_ttl_ms` ago: a cached answer, or one indexed lookup. An origin longer
    /// than any real one is refused without a lookup, so garbage never fills the cache.
    pub async fn origin_registered(&self, origin: &str) -> Result<bool, StoreError> {
        if origin.len() > limits::ORIGIN {
            return Ok(false);
        }
        let now = self.clock.now_millis();
        let found = self
            .origins
            .get(origin, now, || async {
                Ok(store::origin_allowed(&self.db, origin).await?.then_some(()))
            })
            .await?;
        Ok(found.is_some())
    }

    pub async fn client(&self, id: &str) -> Result<Client, ServiceError> {
        store::get(&self.db, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("client {id}")))
    }

    pub async fn clients(&self) -> Result<Vec<Client>, ServiceError> {
        Ok(store::list(&self.db).await?)
    }

    /// One page of clients for the console and the admin API (see `store::clients::page`).
    pub async fn client_page(
        &self,
        prefix: Option<&str>,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<Client>, ServiceError> {
        Ok(store::page(&self.db, prefix, after, limit.clamp(1, 500)).await?)
    }

    pub async fn delete_client(&self, id: &str, actor: &Actor) -> Result<(), ServiceError> {
        let audit = actor.event("client.deleted", self.now(), id);
        let found = store::delete(&self.db, id, &audit).await?;
        self.clients.invalidate(id);
        if !found {
            return Err(ServiceError::NotFound(format!("client {id}")));
        }
        Ok(())
    }
}
