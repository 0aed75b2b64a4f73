use serde::Serialize;

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
    pub updated_at: i64,
}
