//! Users: who they are (an opaque `sub`), how they are named, and how they prove it (a
//! password kept as an argon2id hash). The CLI, the sign-in pages and later the console all
//! come through here.

use super::lockouts::LoginGate;
use super::{ServiceError, invalid};
use crate::config::PasswordsConfig;
use crate::crypto::CryptoError;
use crate::crypto::password::{PasswordError, policy_violation};
use crate::model::Consent;
use crate::model::Family;
use crate::model::SessionInfo;
use crate::model::{Actor, User, UserClaims};
use crate::state::Core;

/// What a user holds, for the console's user page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserGrants {
    pub sessions: Vec<SessionInfo>,
    pub consents: Vec<Consent>,
    pub families: Vec<Family>,
}
use crate::store::users::{self as store, StoredUser};

/// The desired state of a user, for create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSpec {
    pub username: String,
    pub email: Option<String>,
    /// Whether the email address is known to belong to the user (OIDC Core §5.1
    /// `email_verified`): only an admin or a verification flow should say so.
    pub email_verified: bool,
    pub name: Option<String>,
    /// May use the admin console.
    pub admin: bool,
    /// The other standard claims (OIDC Core §5.1).
    pub claims: UserClaims,
}

impl UserSpec {
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            ..Self::default()
        }
    }
}

impl From<PasswordError> for ServiceError {
    fn from(e: PasswordError) -> Self {
        CryptoError::from(e).into()
    }
}

const MAX_USERNAME: usize = 64;
/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address at most 254.
const MAX_EMAIL: usize = 254;
const MAX_NAME: usize = 200;

/// 1–64 characters of `A-Z a-z 0-9 . _ @ -`: safe in URLs, logs and on screen, and free of
/// look-alike Unicode. Uniqueness is by canonical form (`model::username::canonical`), which
/// the database enforces with a unique index on `username_canonical`.
pub fn validate_username(username: &str) -> Result<(), ServiceError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-');
    if username.is_empty() || username.len() > MAX_USERNAME || !username.chars().all(allowed) {
        return Err(invalid(
            "username",
            format!(
                "must be 1 to {MAX_USERNAME} characters of letters A-Z a-z, digits 0-9 and . _ @ -"
            ),
        ));
    }
    Ok(())
}

/// A syntactic check only (one `@` with text on both sides, no spaces, at most 254 characters):
/// the real check is a message reaching it, which is what `email_verified` records.
fn validate_email(email: Option<String>) -> Result<Option<String>, ServiceError> {
    let Some(email) = email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let well_formed = match email.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    };
    if !well_formed
        || email.chars().count() > MAX_EMAIL
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            "email",
            format!(
                "must look like name@example.com: one @ with text on both sides, no spaces, at \
                 most {MAX_EMAIL} characters"
            ),
        ));
    }
    Ok(Some(email))
}

fn validate_name(name: Option<String>) -> Result<Option<String>, ServiceError> {
    let Some(name) = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            format!("must be at most {MAX_NAME} characters, without control characters"),
        ));
    }
    Ok(Some(name))
}

/// How a user comes to exist.
pub(crate) enum NewUser {
    /// By an admin or the CLI.
    Created,
    /// The first admin, created by `serve`; a `generated` password only the file has seen must
    /// be changed at the first sign-in. Hashed with memory of its own that is freed afterwards:
    /// a server that nobody has signed in to yet should not hold the hashing pool's m KiB.
    Bootstrap { generated: bool },
}

impl Core {
    /// OWASP Password Storage / Authentication Cheat Sheets: a minimum length
    /// (`passwords.min_length`), a maximum that stops denial of service, no composition rules.
    fn check_password_policy(&self, password: &str) -> Result<(), ServiceError> {
        let min = self.config.passwords.min_length as usize;
        match policy_violation(password, min) {
            Some(message) => Err(invalid("password", message)),
            None => Ok(()),
        }
    }

    /// Creates a user with a new random `sub` (OIDC Core §5.1: never reassigned, and never the
    /// username or email, which can change). Conflict when the username is taken in any case.
    pub async fn create_user(
        &self,
        spec: UserSpec,
        password: &str,
        actor: &Actor,
    ) -> Result<User, ServiceError> {
        self.insert_user(spec, password, NewUser::Created, actor)
            .await
    }

    pub(crate) async fn insert_user(
        &self,
        spec: UserSpec,
        password: &str,
        origin: NewUser,
        actor: &Actor,
    ) -> Result<User, ServiceError> {
        validate_username(&spec.username)?;
        let email = validate_email(spec.email)?;
        if spec.email_verified && email.is_none() {
            return Err(invalid("email_verified", "needs an email address"));
        }
        let name = validate_name(spec.name)?;
        let claims = super::user_claims::validate(spec.claims)?;
        self.check_password_policy(password)?;
        let (hash, must_change_password) = match origin {
            NewUser::Created => (self.passwords.hash(password).await?, false),
            NewUser::Bootstrap { generated } => {
                (self.passwords.hash_once(password).await?, generated)
            }
        };
        let now = self.now();
        let user = User {
            sub: uuid::Uuid::new_v4().to_string(),
            username: spec.username,
            email,
            email_verified: spec.email_verified,
            name,
            disabled: false,
            admin: spec.admin,
            must_change_password,
            created_at: now,
            updated_at: now,
            claims,
        };
        let audit = self.audit_change(actor, "user.created", &user.username, &user);
        match store::insert(&self.db, &user, &hash, &audit).await {
            Ok(()) => Ok(user),
            Err(e) if e.is_unique_violation() => Err(ServiceError::Conflict(format!(
                "username {:?} is already taken (usernames ignore letter case)",
                user.username
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user_by_sub(&self, sub: &str) -> Result<Option<User>, ServiceError> {
        Ok(store::by_sub(&self.db, sub).await?.map(|s| s.user))
    }

    /// By canonical form: any letter case, full-width letters and the like.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, ServiceError> {
        Ok(store::by_username(&self.db, username)
            .await?
            .map(|s| s.user))
    }

    pub async fn users(&self) -> Result<Vec<User>, ServiceError> {
        Ok(store::list(&self.db).await?)
    }

    /// Replaces the password (policy-checked) of the user named `username` (any letter case).
    /// The user's sessions end and their refresh tokens are revoked with it (a reset is what
    /// an admin does when the account may be in someone else's hands).
    pub async fn set_user_password(
        &self,
        username: &str,
        password: &str,
        actor: &Actor,
    ) -> Result<(), ServiceError> {
        self.check_password_policy(password)?;
        let Some(stored) = store::by_username(&self.db, username).await? else {
            return Err(ServiceError::NotFound(format!("user {username}")));
        };
        let hash = self.passwords.hash(password).await?;
        let sub = &stored.user.sub;
        let audit = actor.event("user.password_set", self.now(), username);
        if !store::set_password_hash(&self.db, sub, &hash, false, None, self.now(), &audit).await? {
            return Err(ServiceError::NotFound(format!("user {username}")));
        }
        Ok(())
    }

    /// "Sign out everywhere": ends every browser session of the user `sub` and revokes all
    /// their refresh tokens (offline ones too) and the access tokens issued with them.
    pub async fn sign_out_everywhere(&self, sub: &str, actor: &Actor) -> Result<(), ServiceError> {
        let user = self
            .user_by_sub(sub)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {sub}")))?;
        let audit = actor.event("user.signed_out_everywhere", self.now(), &user.username);
        if !store::sign_out_everywhere(&self.db, sub, self.now(), &audit).await? {
            return Err(ServiceError::NotFound(format!("user {sub}")));
        }
        Ok(())
    }

    /// A disabled user can no longer sign in; their data and `sub` stay.
    /// Disabling ends the user's browser sessions; their refresh tokens stop working and their
    /// access tokens are inactive at introspection (both check the account).
    pub async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        actor: &Actor,
    ) -> Result<User, ServiceError> {
        let kind = if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        };
        let audit = actor.event(kind, self.now(), username);
        store::set_disabled(&self.db, username, disabled, self.now(), &audit)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {username}")))
    }

    /// Changes the profile claims and the admin role of the user `sub`.
    pub async fn update_user_profile(
        &self,
        sub: &str,
        email: Option<String>,
        email_verified: bool,
        name: Option<String>,
        admin: bool,
        actor: &Actor,
    ) -> Result<User, ServiceError> {
        let email = validate_email(email)?;
        if email_verified && email.is_none() {
            return Err(invalid("email_verified", "needs an email address"));
        }
        let name = validate_name(name)?;
        let existing = self
            .user_by_sub(sub)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {sub}")))?;
        let profile = store::Profile {
            email: email.as_deref(),
            email_verified,
            name: name.as_deref(),
            admin,
        };
        let audit = actor
            .event("user.updated", self.now(), &existing.username)
            .detail(serde_json::json!({
                "email": &email, "email_verified": email_verified, "name": &name, "admin": admin,
            }));
        store::update_profile(&self.db, sub, &profile, self.now(), &audit)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {sub}")))
    }

    /// Replaces the standard claims (OIDC Core §5.1) of the user `sub`, validated.
    pub async fn update_user_claims(
        &self,
        sub: &str,
        claims: UserClaims,
        actor: &Actor,
    ) -> Result<User, ServiceError> {
        let claims = super::user_claims::validate(claims)?;
        let existing = self
            .user_by_sub(sub)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {sub}")))?;
        let audit = actor
            .event("user.updated", self.now(), &existing.username)
            .detail(serde_json::json!({ "claims": &claims }));
        store::update_claims(&self.db, sub, &claims, self.now(), &audit)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {sub}")))
    }

    /// One page of users for the console and the admin API (see `store::users::page`).
    pub async fn user_page(
        &self,
        prefix: Option<&str>,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<User>, ServiceError> {
        Ok(store::page(&self.db, prefix, after, limit.clamp(1, 500)).await?)
    }

    /// The user's live browser sessions, remembered consents and refresh-token grants.
    pub async fn user_grants(&self, sub: &str) -> Result<UserGrants, ServiceError> {
        let now = self.now();
        Ok(UserGrants {
            sessions: crate::store::sessions::list_of(&self.db, sub, now).await?,
            consents: crate::store::consents::list_of(&self.db, sub).await?,
            families: crate::store::refresh_tokens::families_of(&self.db, sub, now).await?,
        })
    }

    /// Ends one browser session of the user and the refresh tokens bound to it.
    pub async fn end_user_session(
        &self,
        user: &User,
        sid: &str,
        actor: &Actor,
    ) -> Result<(), ServiceError> {
        let audit = actor.event("user.session_ended", self.now(), &user.username);
        if !crate::store::sessions::end_of(&self.db, &user.sub, sid, &audit).await? {
            return Err(ServiceError::NotFound(format!("session {sid}")));
        }
        crate::store::refresh_tokens::revoke_session(&self.db, sid, self.now()).await?;
        Ok(())
    }

    /// Withdraws the user's consent for a client: the next sign-in there asks again.
    pub async fn revoke_user_consent(
        &self,
        user: &User,
        client_id: &str,
        actor: &Actor,
    ) -> Result<(), ServiceError> {
        let audit = actor
            .event("user.consent_revoked", self.now(), &user.username)
            .client(client_id);
        if !crate::store::consents::delete(&self.db, &user.sub, client_id, &audit).await? {
            return Err(ServiceError::NotFound(format!("consent for {client_id}")));
        }
        Ok(())
    }

    /// Revokes one of the user's refresh-token families and the access tokens issued in it;
    /// NotFound when the user holds no live token of that family.
    pub async fn revoke_user_family(
        &self,
        user: &User,
        family_id: &str,
        actor: &Actor,
    ) -> Result<(), ServiceError> {
        let audit = actor
            .event("user.refresh_revoked", self.now(), &user.username)
            .detail(serde_json::json!({ "family_id": family_id }));
        let revoked = crate::store::refresh_tokens::revoke_family_of(
            &self.db,
            &user.sub,
            family_id,
            self.now(),
            &audit,
        )
        .await?;
        if !revoked {
            return Err(ServiceError::NotFound(format!(
                "refresh-token family {family_id}"
            )));
        }
        Ok(())
    }

    /// A signed-in user replaces their password: only with the current one (a session left
    /// open is not enough to take the account over), never with the same one (the forced change
    /// of a generated password must replace it). Their other sessions end and every refresh
    /// token is revoked; the session `current_sid` they are using stays. Guesses of the current
    /// password pass the sign-in's brute-force gate (account and `ip` counters): a stolen
    /// session cannot guess faster than the login page allows.
    pub async fn change_own_password(
        &self,
        user: &User,
        current: &str,
        password: &str,
        current_sid: &str,
        ip: &str,
    ) -> Result<(), ServiceError> {
        let attempt = match self.begin_login(&user.username, ip).await? {
            LoginGate::Open(attempt) => attempt,
            LoginGate::Delayed(wait) => {
                return Err(invalid(
                    "current_password",
                    format!("too many wrong passwords: try again in {wait} seconds"),
                ));
            }
        };
        if self
            .authenticate_user(&user.username, current)
            .await?
            .is_none_or(|u| u.sub != user.sub)
        {
            self.login_failed(attempt);
            return Err(invalid("current_password", "is not your current password"));
        }
        self.login_succeeded(attempt).await?;
        if password == current {
            return Err(invalid("password", "must differ from the current password"));
        }
        self.check_password_policy(password)?;
        let hash = self.passwords.hash(password).await?;
        let actor = Actor {
            name: user.username.clone(),
            client_id: None,
            ip: None,
        };
        let audit = actor.event("user.password_changed", self.now(), &user.username);
        let keep = Some(current_sid);
        if !store::set_password_hash(&self.db, &user.sub, &hash, false, keep, self.now(), &audit)
            .await?
        {
            return Err(ServiceError::NotFound(format!("user {}", user.username)));
        }
        Ok(())
    }

    /// The user, if `username` names an enabled user whose password this is; else None, in
    /// about the same time whichever check failed (OWASP Authentication Cheat Sheet,
    /// "Authentication and Error Messages"): an unknown user costs a verification against a
    /// dummy hash, a disabled one a real verification. A hash made with other parameters than
    /// configured is replaced after a successful check (OWASP Password Storage Cheat Sheet,
    /// "Upgrading the work factor").
    pub async fn authenticate_user(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, ServiceError> {
        // Same answer for everyone, before any lookup: no timing difference to learn from.
        if password.is_empty() || password.len() > PasswordsConfig::MAX_BYTES {
            return Ok(None);
        }
        let Some(stored) = store::by_username(&self.db, username).await? else {
            self.passwords.verify_dummy(password).await?;
            return Ok(None);
        };
        let checked = self
            .passwords
            .verify(password, &stored.password_hash)
            .await?;
        if !checked.matches || stored.user.disabled {
            return Ok(None);
        }
        if checked.outdated {
            self.upgrade_password_hash(&stored, password).await;
        }
        Ok(Some(stored.user))
    }

    /// Best effort: a failed upgrade must not fail the sign-in, the next one tries again.
    async fn upgrade_password_hash(&self, stored: &StoredUser, password: &str) {
        let upgraded = match self.passwords.hash(password).await {
            Ok(new) => store::upgrade_password_hash(
                &self.db,
                &stored.user.sub,
                &stored.password_hash,
                &new,
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = upgraded {
            tracing::warn!(sub = %stored.user.sub, %error, "could not upgrade a password hash");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for good in [
            "a",
            "alice",
            "Alice.Smith",
            "a_b-c@example.com",
            &"x".repeat(64),
        ] {
            assert!(validate_username(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            " alice",
            "al ice",
            "alicé",
            "a/b",
            "a:b",
            &"x".repeat(65),
        ] {
            let err = validate_username(bad).expect_err(bad).to_string();
            assert!(err.starts_with("username: must be 1 to 64"), "{err}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(validate_email(None).expect("none"), None);
        assert_eq!(validate_email(Some("  ".into())).expect("blank"), None);
        assert_eq!(
            validate_email(Some(" a@b ".into())).expect("ok").as_deref(),
            Some("a@b")
        );
        let long = format!("{}@example.com", "a".repeat(242));
        assert_eq!(long.len(), 254);
        assert!(validate_email(Some(long.clone())).is_ok());
        for bad in ["ab", "@b", "a@", "a@b@c", "a b@c", &format!("a{long}")] {
            let err = validate_email(Some(bad.to_owned())).expect_err(bad);
            assert!(err.to_string().starts_with("email: "), "{err}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(validate_name(Some(" ".into())).expect("blank"), None);
        assert_eq!(
            validate_name(Some(" Ada Lovelace ".into()))
                .expect("ok")
                .as_deref(),
            Some("Ada Lovelace")
        );
        assert!(validate_name(Some("a\u{0}b".into())).is_err());
        assert!(validate_name(Some("n".repeat(201))).is_err());
    }
}
