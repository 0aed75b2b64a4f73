-- The admin console and API: who may use them, which clients may be granted the admin API, and
-- the audit log. Search in the console is a case-insensitive prefix match; these indexes serve
-- `LOWER(col) LIKE 'prefix%'` (text_pattern_ops makes LIKE usable under any collation).
ALTER TABLE users ADD COLUMN admin BOOLEAN NOT NULL DEFAULT FALSE;
-- A generated bootstrap password must be replaced at the first sign-in.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
-- Only clients an admin marks so may be granted the `tessera:admin` scope.
ALTER TABLE clients ADD COLUMN admin_api BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX users_username_prefix ON users (LOWER(username) text_pattern_ops);
CREATE INDEX users_email_prefix ON users (LOWER(email) text_pattern_ops);
CREATE INDEX users_name_prefix ON users (LOWER(name) text_pattern_ops);
CREATE INDEX clients_name_prefix ON clients (LOWER(name) text_pattern_ops);
CREATE INDEX clients_id_prefix ON clients (LOWER(client_id) text_pattern_ops);
-- Keyset pagination orders by these.
CREATE INDEX users_username_order ON users (LOWER(username), sub);
CREATE INDEX clients_name_order ON clients (LOWER(name), client_id);

-- Admin changes (written in the change's own transaction) and security events (written in
-- batches). Token issuance is one row per client, grant and minute with a count.
CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,          -- unix seconds
    kind       TEXT NOT NULL,            -- e.g. client.created, login.failed, token.issued
    actor      TEXT,                     -- admin username, client_id of an API caller, or the user signing in
    client_id  TEXT,
    ip         TEXT,
    outcome    TEXT NOT NULL,            -- success | failure
    target     TEXT,                     -- what was acted on (client id, username, kid, ...)
    detail     TEXT,                     -- JSON, never a secret
    count      BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_client ON audit_events (client_id, id);
