-- The admin console and API: who may use them, which clients may be granted the admin API, and
-- the audit log. SQLite's LIKE is already case-insensitive for ASCII; the expression indexes
-- serve the ordering used by keyset pagination.
ALTER TABLE users ADD COLUMN admin BOOLEAN NOT NULL DEFAULT FALSE;
-- A generated bootstrap password must be replaced at the first sign-in.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
-- Only clients an admin marks so may be granted the `tessera:admin` scope.
ALTER TABLE clients ADD COLUMN admin_api BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX users_username_order ON users (LOWER(username), sub);
CREATE INDEX users_email_prefix ON users (LOWER(email));
CREATE INDEX users_name_prefix ON users (LOWER(name));
CREATE INDEX clients_name_order ON clients (LOWER(name), client_id);

-- Admin changes (written in the change's own transaction) and security events (written in
-- batches). Token issuance is one row per client, grant and minute with a count.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT,
    client_id  TEXT,
    ip         TEXT,
    outcome    TEXT NOT NULL,
    target     TEXT,
    detail     TEXT,
    count      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_client ON audit_events (client_id, id);
