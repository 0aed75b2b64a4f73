-- Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): rotated on every use; a replayed token revokes
-- its whole family, the access tokens issued with it included.

ALTER TABLE clients ADD COLUMN offline_preauthorized BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN refresh_idle_ttl INTEGER;       -- seconds; NULL = 30 days
ALTER TABLE clients ADD COLUMN refresh_absolute_ttl INTEGER;   -- seconds; NULL = 365 days
ALTER TABLE clients ADD COLUMN id_token_ttl INTEGER;           -- seconds; NULL = 10 minutes

ALTER TABLE sessions ADD COLUMN sid TEXT;
CREATE INDEX sessions_sid ON sessions (sid);

ALTER TABLE authorization_codes ADD COLUMN issued_family TEXT;

CREATE TABLE refresh_tokens (
    token_hash         TEXT PRIMARY KEY,
    family_id          TEXT NOT NULL,
    client_id          TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    sub                TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    scope              TEXT NOT NULL,      -- the original grant; a refresh may ask for less
    resource           TEXT,
    sid                TEXT NOT NULL,      -- the OIDC session the grant came from
    offline            BOOLEAN NOT NULL,   -- offline_access: outlives the session
    auth_time          INTEGER NOT NULL,
    family_expires_at  INTEGER NOT NULL,    -- absolute lifetime of the family
    expires_at         INTEGER NOT NULL,    -- idle lifetime of this token
    access_jti         TEXT,               -- the access token issued with it
    access_exp         INTEGER,
    created_at         INTEGER NOT NULL,
    used_at            INTEGER,
    revoked_at         INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_sid ON refresh_tokens (sid);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (family_expires_at);
