//! What a user holds beyond the account: live browser sessions, remembered consents and
//! refresh-token grants, as an admin sees them.

/// The browser-session key of the signed-in user (`sub`, `sid`, `auth_time`); the session store
/// keeps its `sub` and `sid` in their own columns and bounds the session by its `auth_time`.
pub const SIGNED_IN: &str = "signed_in";

/// A user's live browser session as an admin sees it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub sid: String,
    pub expires_at: i64,
}

/// A remembered consent.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Consent {
    pub client_id: String,
    pub scope: String,
    pub updated_at: i64,
}

/// A grant a user holds: the live (unused, unrevoked) token of a refresh-token family.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Family {
    pub family_id: String,
    pub client_id: String,
    pub scope: String,
    pub offline: bool,
    pub auth_time: i64,
    pub family_expires_at: i64,
}
