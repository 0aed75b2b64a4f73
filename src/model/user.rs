use serde::{Deserialize, Serialize};

/// A person who signs in. The password hash is deliberately not here: it stays in the store
/// and the password module, so no serialisation of a `User` (CLI, console, logs) can leak it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    /// OIDC Core §5.1 / §8: the subject, "locally unique and never reassigned" — a random
    /// UUID v4, never derived from the username or email (both may change).
    pub sub: String,
    /// Unique regardless of case; 1–64 characters of `A-Z a-z 0-9 . _ @ -`.
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// A disabled user cannot sign in.
    pub disabled: bool,
    /// May use the admin console.
    pub admin: bool,
    /// Set for a generated bootstrap password: the console asks for a new one first.
    pub must_change_password: bool,
    pub created_at: i64,
    /// Set on every change to the user (OIDC Core §5.1 `updated_at`).
    pub updated_at: i64,
    /// The other standard claims of OIDC Core §5.1.
    pub claims: UserClaims,
}

/// OIDC Core §5.1 standard claims beyond `sub`, `name`, `preferred_username` (the username) and
/// `email`: released under the `profile`, `address` and `phone` scopes (§5.4). Empty values are
/// absent, never `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// URL of the user's profile page (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// URL of the user's picture (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// URL of the user's web site (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// `YYYY-MM-DD`, `0000-MM-DD` (year withheld) or `YYYY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    /// An IANA time zone name, e.g. `Europe/Paris`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    /// A BCP 47 language tag, e.g. `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Preferably E.164, e.g. `+1 (425) 555-1212`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub phone_number_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// OIDC Core §5.1.1: a postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// The full address for display; may span lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Street, house number, apartment; may span lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}
