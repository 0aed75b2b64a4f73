//! Brute-force counters as the console and the admin API list them.

/// One failed-login counter: an account (`account:<username>`) or an address (`ip:<address>`).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct LoginFailure {
    pub key: String,
    pub failures: i64,
    pub last_failure_at: i64,
    pub delay_until: i64,
}
