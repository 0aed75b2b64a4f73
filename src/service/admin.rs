//! The admin role: the first admin created at start, and the admin API as a resource of its
//! own whose `tessera:admin` scope only marked clients may hold.

use super::ServiceError;
use crate::crypto::master_key::create_key_file;
use crate::crypto::random;
use crate::model::{Actor, Resource, ScopeDef, SigningAlg};
use crate::oauth::defaults::ADMIN_SCOPE;
use crate::service::users::{NewUser, UserSpec};
use crate::state::Core;

/// Admin-API tokens are short-lived: they act with full rights.
const ADMIN_TOKEN_TTL: i64 = 300;
/// Where a generated bootstrap password is written, in the data directory.
pub const BOOTSTRAP_PASSWORD_FILE: &str = "bootstrap-admin-password";

impl Core {
    /// `{issuer}/admin/api`: the audience of admin-API tokens.
    pub fn admin_api_identifier(&self) -> String {
        format!("{}/admin/api", self.issuer())
    }

    /// Registers the admin API as a resource if it is not yet (several instances may race:
    /// the loser's insert fails on the primary key and changes nothing).
    pub async fn ensure_admin_api_resource(&self) -> Result<(), ServiceError> {
        let identifier = self.admin_api_identifier();
        if crate::store::resources::get(&self.db, &identifier)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let now = self.now();
        let resource = Resource {
            identifier: identifier.clone(),
            name: "Tessera admin API".to_owned(),
            scopes: vec![ScopeDef {
                name: ADMIN_SCOPE.to_owned(),
                description: "Manage Tessera: clients, users, keys and the audit log".to_owned(),
            }],
            signing_alg: SigningAlg::ES256,
            access_token_ttl: ADMIN_TOKEN_TTL,
            created_at: now,
            updated_at: now,
        };
        let audit = Actor::system().event("resource.created", now, &identifier);
        match crate::store::resources::insert(&self.db, &resource, &audit).await {
            Err(e) if !e.is_unique_violation() => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// When no enabled admin exists, creates the user `admin`: with
    /// `TESSERA_BOOTSTRAP_ADMIN_PASSWORD`, or with a generated password written to a 0600 file
    /// in the data directory (its path is logged, never the password) that must be changed at
    /// the first sign-in. Safe on several instances at once: usernames are unique, so only one
    /// insert wins and only the winner writes the file.
    pub async fn bootstrap_admin(&self) -> Result<(), ServiceError> {
        if crate::store::users::any_admin(&self.db).await? {
            return Ok(());
        }
        let (password, generated) = match &self.config.bootstrap_admin_password {
            Some(p) => (p.0.clone(), false),
            None => (random::token::<18>(), true),
        };
        let mut spec = UserSpec::new("admin");
        spec.admin = true;
        match self
            .insert_user(
                spec,
                &password,
                NewUser::Bootstrap { generated },
                &Actor::system(),
            )
            .await
        {
            Ok(_) => {}
            Err(ServiceError::Conflict(_)) => {
                if !crate::store::users::any_admin(&self.db).await? {
                    tracing::warn!(
                        "no admin exists and the username admin is taken by a non-admin: create \
                         one with `tessera users create --admin <username>`"
                    );
                }
                return Ok(());
            }
            Err(ServiceError::Invalid { field, message }) => {
                return Err(ServiceError::Invalid {
                    field: "bootstrap_admin_password",
                    message: format!("TESSERA_BOOTSTRAP_ADMIN_PASSWORD: {field} {message}"),
                });
            }
            Err(e) => return Err(e),
        }
        if !generated {
            tracing::info!("created the admin user admin with TESSERA_BOOTSTRAP_ADMIN_PASSWORD");
            return Ok(());
        }
        let path = self.config.data_dir().join(BOOTSTRAP_PASSWORD_FILE);
        // A file left from an earlier bootstrap holds a password that no longer works.
        let _ = std::fs::remove_file(&path);
        create_key_file(&path, &password).map_err(|e| {
            ServiceError::Conflict(format!(
                "created the admin user admin but could not write its password to {}: {e}; set \
                 one with `tessera users set-password admin`",
                path.display()
            ))
        })?;
        tracing::warn!(
            path = %path.display(),
            "created the admin user admin with a one-time password in this file: sign in at \
             /admin, choose a new password, then delete the file"
        );
        Ok(())
    }
}
