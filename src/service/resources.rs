//! Resource servers (APIs): identifier (the `aud`), scopes with plain-words descriptions, token
//! algorithm and lifetime.

use super::{ServiceError, invalid};
use crate::model::{
    Actor, Resource, ScopeDef, SigningAlg, is_scope_token, validate_resource_identifier,
};
use crate::oauth::defaults::{DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL};
use crate::state::Core;
use crate::store::resources as store;

/// The desired state of a resource, for create and update.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<ScopeDef>,
    pub signing_alg: SigningAlg,
    pub access_token_ttl: i64,
}

impl ResourceSpec {
    pub fn new(identifier: impl Into<String>) -> Self {
        let identifier = identifier.into();
        Self {
            name: identifier.clone(),
            identifier,
            scopes: Vec::new(),
            signing_alg: SigningAlg::ES256,
            access_token_ttl: DEFAULT_TOKEN_TTL,
        }
    }

    pub fn from_resource(r: &Resource) -> Self {
        Self {
            identifier: r.identifier.clone(),
            name: r.name.clone(),
            scopes: r.scopes.clone(),
            signing_alg: r.signing_alg,
            access_token_ttl: r.access_token_ttl,
        }
    }

    fn validate(&self) -> Result<(), ServiceError> {
        validate_resource_identifier(&self.identifier).map_err(|m| invalid("identifier", m))?;
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(invalid("name", "must be 1 to 200 characters"));
        }
        for (i, s) in self.scopes.iter().enumerate() {
            if !is_scope_token(&s.name) {
                return Err(invalid(
                    "scopes",
                    format!("{:?} is not a valid scope name (RFC 6749 §3.3)", s.name),
                ));
            }
            if s.name.starts_with("tessera:") {
                return Err(invalid(
                    "scopes",
                    format!(
                        "{:?}: scope names starting with tessera: are reserved",
                        s.name
                    ),
                ));
            }
            if self.scopes[..i].iter().any(|o| o.name == s.name) {
                return Err(invalid("scopes", format!("{:?} is listed twice", s.name)));
            }
            if s.description.len() > 500 {
                return Err(invalid("scopes", "descriptions are at most 500 characters"));
            }
        }
        if !(1..=MAX_TOKEN_TTL).contains(&self.access_token_ttl) {
            return Err(invalid(
                "access_token_ttl",
                format!("must be between 1 and {MAX_TOKEN_TTL} seconds"),
            ));
        }
        Ok(())
    }

    fn into_resource(self, created_at: i64, updated_at: i64) -> Resource {
        Resource {
            identifier: self.identifier,
            name: self.name,
            scopes: self.scopes,
            signing_alg: self.signing_alg,
            access_token_ttl: self.access_token_ttl,
            created_at,
            updated_at,
        }
    }
}

impl Core {
    pub async fn create_resource(
        &self,
        spec: ResourceSpec,
        actor: &Actor,
    ) -> Result<Resource, ServiceError> {
        spec.validate()?;
        let now = self.now();
        let resource = spec.into_resource(now, now);
        self.resources.invalidate(&resource.identifier);
        let audit = self.audit_change(actor, "resource.created", &resource.identifier, &resource);
        store::insert(&self.db, &resource, &audit)
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    ServiceError::Conflict(format!(
                        "resource {} already exists",
                        resource.identifier
                    ))
                } else {
                    e.into()
                }
            })?;
        Ok(resource)
    }

    pub async fn update_resource(
        &self,
        spec: ResourceSpec,
        actor: &Actor,
    ) -> Result<Resource, ServiceError> {
        self.refuse_builtin(&spec.identifier)?;
        spec.validate()?;
        let existing = self.resource(&spec.identifier).await?;
        let resource = spec.into_resource(existing.created_at, self.now());
        let audit = self.audit_change(actor, "resource.updated", &resource.identifier, &resource);
        let found = store::update(&self.db, &resource, &audit).await?;
        self.resources.invalidate(&resource.identifier);
        if !found {
            return Err(ServiceError::NotFound(format!(
                "resource {}",
                resource.identifier
            )));
        }
        Ok(resource)
    }

    /// The admin API's own resource is managed by the server, not by hand.
    fn refuse_builtin(&self, identifier: &str) -> Result<(), ServiceError> {
        if identifier == self.admin_api_identifier() {
            return Err(ServiceError::Conflict(
                "the admin API resource is built in and cannot be changed or deleted".into(),
            ));
        }
        Ok(())
    }

    pub async fn resource(&self, identifier: &str) -> Result<Resource, ServiceError> {
        store::get(&self.db, identifier)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("resource {identifier}")))
    }

    pub async fn resources(&self) -> Result<Vec<Resource>, ServiceError> {
        Ok(store::list(&self.db).await?)
    }

    pub async fn delete_resource(
        &self,
        identifier: &str,
        actor: &Actor,
    ) -> Result<(), ServiceError> {
        self.refuse_builtin(identifier)?;
        let audit = actor.event("resource.deleted", self.now(), identifier);
        let found = store::delete(&self.db, identifier, &audit).await?;
        self.resources.invalidate(identifier);
        if !found {
            return Err(ServiceError::NotFound(format!("resource {identifier}")));
        }
        Ok(())
    }
}
