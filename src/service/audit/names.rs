//! Who and what an audit event refers to, by name: the events record ids (a client_id, a
//! user's `sub`, a username as it was), and people reading the log want the client's name and
//! the user's current username, with a way to open them.

use crate::model::StoredEvent;
use crate::model::kind;
use crate::model::username::canonical;
use crate::service::ServiceError;
use crate::state::Core;
use crate::store;

/// One field of an event, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// A client that still exists.
    Client { id: String, name: String },
    /// A user who still exists.
    User { sub: String, username: String },
    /// Anything else, as recorded: `system`, a key id, a path, a username that names no
    /// account, or the id of a client or user deleted since.
    Raw(String),
}

/// The actor, client and target of one event, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventNames {
    pub actor: Option<Named>,
    pub client: Option<Named>,
    pub target: Option<Named>,
}

/// What kind of id a field holds.
#[derive(Clone, Copy)]
enum Points {
    Client,
    Sub,
    Username,
    Nothing,
}

/// What an event's `target` holds, by kind (see the `kind` constants and the admin changes).
fn target_points(event_kind: &str) -> Points {
    match event_kind {
        kind::LOGIN_SUCCEEDED
        | kind::REFRESH_REPLAY_DETECTED
        | kind::REFRESH_REVOKED_TOKEN_USED => Points::Sub,
        k if k.starts_with("user.") => Points::Username,
        k if k.starts_with("client.") => Points::Client,
        _ => Points::Nothing,
    }
}

/// What an event's `actor` holds: the client when it is the event's client (client events and
/// admin-API callers), nothing for the server and the CLI, else a username.
fn actor_points(e: &StoredEvent) -> Points {
    let actor = e.event.actor.as_deref();
    if actor.is_some() && actor == e.event.client_id.as_deref() {
        Points::Client
    } else if matches!(actor, Some(super::SYSTEM | "cli")) {
        Points::Nothing
    } else {
        Points::Username
    }
}

impl Core {
    /// The names behind the ids of `events`, in the same order, looked up together (one
    /// statement for clients and one for users, however many events).
    pub async fn audit_names(
        &self,
        events: &[StoredEvent],
    ) -> Result<Vec<EventNames>, ServiceError> {
        let mut clients = Vec::new();
        let mut subs = Vec::new();
        let mut usernames = Vec::new();
        let mut want = |points: Points, value: &str| match points {
            Points::Client => clients.push(value.to_owned()),
            Points::Sub => subs.push(value.to_owned()),
            Points::Username => usernames.push(canonical(value)),
            Points::Nothing => {}
        };
        for e in events {
            if let Some(actor) = &e.event.actor {
                want(actor_points(e), actor);
            }
            if let Some(client) = &e.event.client_id {
                want(Points::Client, client);
            }
            if let Some(target) = &e.event.target {
                want(target_points(&e.event.kind), target);
            }
        }
        for list in [&mut clients, &mut subs, &mut usernames] {
            list.sort_unstable();
            list.dedup();
        }
        let found = store::audit::names(&self.db, &clients, &subs, &usernames).await?;
        let name = |points: Points, value: &String| {
            let user = |(sub, username): &(String, String)| Named::User {
                sub: sub.clone(),
                username: username.clone(),
            };
            let known = match points {
                Points::Client => found.clients.get(value).map(|name| Named::Client {
                    id: value.clone(),
                    name: name.clone(),
                }),
                Points::Sub => found.subs.get(value).map(user),
                Points::Username => found.usernames.get(&canonical(value)).map(user),
                Points::Nothing => None,
            };
            known.unwrap_or_else(|| Named::Raw(value.clone()))
        };
        Ok(events
            .iter()
            .map(|e| EventNames {
                actor: e.event.actor.as_ref().map(|a| name(actor_points(e), a)),
                client: e.event.client_id.as_ref().map(|c| name(Points::Client, c)),
                target: e
                    .event
                    .target
                    .as_ref()
                    .map(|t| name(target_points(&e.event.kind), t)),
            })
            .collect())
    }

    /// One stored event.
    pub async fn audit_event(&self, id: i64) -> Result<StoredEvent, ServiceError> {
        store::audit::get(&self.db, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("Audit event {id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuditEvent, Outcome};

    fn event(kind: &str, actor: &str, client: Option<&str>) -> StoredEvent {
        let mut event = AuditEvent::new(kind, 0, Outcome::Success).actor(actor);
        event.client_id = client.map(str::to_owned);
        StoredEvent { id: 1, event }
    }

    #[test]
    fn each_field_points_at_what_its_kind_records() {
        let kinds = [
            (kind::LOGIN_SUCCEEDED, "sub"),
            (kind::REFRESH_REPLAY_DETECTED, "sub"),
            ("user.password_set", "username"),
            ("client.deleted", "client"),
            (kind::KEY_ROTATED, "nothing"),
            (kind::TOKEN_REVOKED, "nothing"),
        ];
        for (k, expected) in kinds {
            let got = match target_points(k) {
                Points::Client => "client",
                Points::Sub => "sub",
                Points::Username => "username",
                Points::Nothing => "nothing",
            };
            assert_eq!(got, expected, "{k}");
        }
        let by_client = event(kind::TOKEN_ISSUED, "c1", Some("c1"));
        assert!(matches!(actor_points(&by_client), Points::Client));
        let by_admin = event("client.updated", "ada", None);
        assert!(matches!(actor_points(&by_admin), Points::Username));
        for nobody in [super::super::SYSTEM, "cli"] {
            assert!(matches!(
                actor_points(&event(kind::KEY_ROTATED, nobody, None)),
                Points::Nothing
            ));
        }
    }
}
