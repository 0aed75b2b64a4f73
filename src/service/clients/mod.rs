//! Client registration: server-generated ids and secrets, grants of resources and scopes.

mod rules;
mod spec;

pub use rules::validate_redirect_uri;
pub use spec::{ClientPatch, ClientSpec};

use super::{ServiceError, invalid};
use crate::crypto::random;
use crate::crypto::secrets::SecretHasher;
use crate::model::limits;
use crate::model::{Actor, Client, ClientId, Resource};
use crate::state::Core;
use crate::store::StoreError;
use crate::store::clients as store;
use spec::Derived;

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

impl Core {
    /// Checks `spec` against the rules and the registered resources, and builds the client it
    /// describes.
    async fn build_client(
        &self,
        id: ClientId,
        spec: ClientSpec,
        created_at: i64,
    ) -> Result<Client, ServiceError> {
        let name = rules::name(&spec.name)?;
        let auth_method = rules::auth_method(spec.public, spec.auth_method)?;
        let grant_types = rules::grant_types(&spec)?;
        rules::redirect_uris(&spec)?;
        rules::allowed_origins(&spec.allowed_origins)?;
        let resources = self.granted_resources(&spec.resources).await?;
        rules::admin_api_grant(spec.admin_api, &resources)?;
        let grants = rules::grants(spec.scopes.as_ref(), &resources)?;
        let default_resource = rules::default_resource(spec.default_resource.clone(), &grants)?;
        let default_scopes = rules::default_scopes(
            spec.default_scopes.clone(),
            default_resource.as_deref(),
            &grants,
        )?;
        rules::durations(&spec)?;
        if let Some(rs) = &spec.resource_server_for
            && crate::store::resources::get(&self.db, rs).await?.is_none()
        {
            return Err(invalid("resource_server_for", format!("no resource {rs}")));
        }
        let derived = Derived {
            name,
            auth_method,
            grant_types,
            grants,
            default_resource,
            default_scopes,
        };
        Ok(spec.into_client(id, derived, created_at, self.now()))
    }

    /// The resources a spec names, each once, in the order named.
    async fn granted_resources(
        &self,
        identifiers: &[String],
    ) -> Result<Vec<Resource>, ServiceError> {
        let mut resources: Vec<Resource> = Vec::new();
        for identifier in identifiers {
            if resources.iter().any(|r| &r.identifier == identifier) {
                continue;
            }
            let resource = crate::store::resources::get(&self.db, identifier)
                .await?
                .ok_or_else(|| invalid("resources", format!("no resource {identifier}")))?;
            resources.push(resource);
        }
        Ok(resources)
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

    /// Applies a change (from the admin API, the CLI or the console) to a client's settings.
    pub async fn patch_client(
        &self,
        id: &str,
        patch: ClientPatch,
        actor: &Actor,
    ) -> Result<Client, ServiceError> {
        let mut spec = ClientSpec::from_client(&self.client(id).await?);
        patch.apply(&mut spec);
        self.update_client(id, spec, actor).await
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
