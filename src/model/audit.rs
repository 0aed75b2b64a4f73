use serde::Serialize;

/// Whether the audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

/// One line of the audit log: an admin change or a security event. `detail` is JSON and never
/// holds a secret, token, code or password.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: i64,
    /// Dotted name, e.g. `client.created`, `login.failed`, `token.issued`.
    pub kind: String,
    /// Who did it: an admin's username, the client_id of an admin-API caller, the user signing
    /// in, or `system`.
    pub actor: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub outcome: Outcome,
    /// What was acted on: a client id, a username, a key id, a resource identifier.
    pub target: Option<String>,
    pub detail: Option<serde_json::Value>,
    /// How many occurrences the row stands for (token issuance is aggregated per minute).
    pub count: i64,
}

impl AuditEvent {
    pub fn new(kind: impl Into<String>, at: i64, outcome: Outcome) -> Self {
        Self {
            at,
            kind: kind.into(),
            actor: None,
            client_id: None,
            ip: None,
            outcome,
            target: None,
            detail: None,
            count: 1,
        }
    }

    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(ip.into());
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// An event as stored, with its id (the keyset-pagination cursor).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredEvent {
    pub id: i64,
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// Who makes an admin change: recorded with the change, in its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// An admin's username, the client_id of an admin-API caller, or `cli`.
    pub name: String,
    pub client_id: Option<String>,
    pub ip: Option<String>,
}

impl Actor {
    /// The command-line tool, run by whoever holds the master key.
    pub fn cli() -> Self {
        Self {
            name: "cli".to_owned(),
            client_id: None,
            ip: None,
        }
    }

    /// The server itself (bootstrap, scheduled work).
    pub fn system() -> Self {
        Self {
            name: "system".to_owned(),
            client_id: None,
            ip: None,
        }
    }

    /// A signed-in admin in the console.
    pub fn admin(username: &str, ip: &str) -> Self {
        Self {
            name: username.to_owned(),
            client_id: None,
            ip: Some(ip.to_owned()),
        }
    }

    /// A client calling the admin API with a `tessera:admin` token.
    pub fn api(client_id: &str, ip: &str) -> Self {
        Self {
            name: client_id.to_owned(),
            client_id: Some(client_id.to_owned()),
            ip: Some(ip.to_owned()),
        }
    }

    /// A successful change of `target` by this actor.
    pub fn event(&self, kind: &str, at: i64, target: impl Into<String>) -> AuditEvent {
        AuditEvent {
            at,
            kind: kind.to_owned(),
            actor: Some(self.name.clone()),
            client_id: self.client_id.clone(),
            ip: self.ip.clone(),
            outcome: Outcome::Success,
            target: Some(target.into()),
            detail: None,
            count: 1,
        }
    }
}

/// The kinds of security event recorded here, with who is the actor and what is the target.
pub mod kind {
    /// actor: the username typed (lower-cased); client: the authorize request's client;
    /// target: the user's `sub`.
    pub const LOGIN_SUCCEEDED: &str = "login.succeeded";
    /// actor: the username typed (lower-cased; the account may not exist); client: the authorize
    /// request's client when known; detail: `reason` (`bad_credentials` or `delayed`).
    pub const LOGIN_FAILED: &str = "login.failed";
    /// A brute-force delay starts. actor: the username typed; target: the counter, as
    /// `lockouts clear` takes it (`account:<username>` or `ip:<address>`); detail: `failures`,
    /// `delay_seconds`.
    pub const LOCKOUT_STARTED: &str = "lockout.started";
    /// One of the first failures of a minute (the rest are counted into
    /// `client_auth.failures`). actor and client: the client_id presented (possibly unknown);
    /// detail: `endpoint`.
    pub const CLIENT_AUTH_FAILED: &str = "client_auth.failed";
    /// The failed client authentications of one minute (`at` is its first second) at one
    /// endpoint beyond the minute's individual `client_auth.failed` rows; `count`: how many;
    /// detail: `endpoint`, `sources` (the most frequent client_id and IP pairs with their
    /// counts), `distinct_sources`, `untracked` (failures from sources past the tracked ones).
    pub const CLIENT_AUTH_FAILURES: &str = "client_auth.failures";
    /// A rotated refresh token used again; its family is revoked. actor and client: the client;
    /// target: the user's `sub`; detail: `family_id`, `family_revoked`, `already_revoked` (the
    /// family had been revoked before, e.g. at /revoke).
    pub const REFRESH_REPLAY_DETECTED: &str = "refresh.replay_detected";
    /// A refresh token revoked while it was live (logout, /revoke, sign out everywhere, a
    /// password change, an admin) used afterwards: refused, and not a replay. actor and client:
    /// the client; target: the user's `sub`; detail: `family_id`.
    pub const REFRESH_REVOKED_TOKEN_USED: &str = "refresh.revoked_token_used";
    /// An authorization code redeemed twice; what it issued is revoked. actor and client: the
    /// client; detail: `revoked_access_token_jti`, `revoked_family_id`.
    pub const CODE_REPLAY_DETECTED: &str = "code.replay_detected";
    /// At /revoke. actor and client: the caller; target: `access_token` or `refresh_token`;
    /// detail: `jti` or `family_id`. Failure: the token belongs to another client.
    pub const TOKEN_REVOKED: &str = "token.revoked";
    /// Access tokens issued in one minute (`at` is its first second); actor and client: the
    /// client; target: the grant type; `count`: how many. No IP: it spans many requests.
    pub const TOKEN_ISSUED: &str = "token.issued";
    /// By the scheduled maintenance: actor `system`; target: the kid now signing; detail: `alg`.
    pub const KEY_ROTATED: &str = "key.rotated";
    /// An admin-API read (GET). actor and client: the calling client; target: the path;
    /// detail: `status`. Failure when the answer was an error.
    pub const ADMIN_API_READ: &str = "admin_api.read";
    /// An admin-API change that was refused (invalid, unknown, conflicting); a change that
    /// succeeds is audited in its own transaction instead. actor and client: the calling
    /// client; target: the path; detail: `method`, `status`, `error`, `field`.
    pub const ADMIN_API_REFUSED: &str = "admin_api.refused";
    /// A bearer token refused at the admin API. actor and client: the token's client when its
    /// signature verified; target: the path; detail: `error`, `reason`.
    pub const ADMIN_API_DENIED: &str = "admin_api.denied";
}

/// Which events to list; every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exact kind, or a family when it ends with `.` (`client.` matches `client.created`).
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub client_id: Option<String>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
}
