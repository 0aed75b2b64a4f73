-- Browser sign-in: client settings for the authorization code flow, codes, consents, sessions.

ALTER TABLE clients ADD COLUMN application_type TEXT NOT NULL DEFAULT 'web';   -- web | native
ALTER TABLE clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256';
ALTER TABLE clients ADD COLUMN first_party BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN pkce_required BOOLEAN NOT NULL DEFAULT TRUE;

-- Authorization codes (RFC 6749 §4.1.2), stored by hash. `consumed_at` makes redemption a
-- single atomic UPDATE; `issued_jti` names the access token to revoke when a code is replayed.
CREATE TABLE authorization_codes (
    code_hash          TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    sub                TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    redirect_uri       TEXT NOT NULL,
    redirect_uri_sent  BOOLEAN NOT NULL,
    code_challenge     TEXT,
    nonce              TEXT,
    scope              TEXT NOT NULL,
    resource           TEXT,
    auth_time          INTEGER NOT NULL,
    sid                TEXT NOT NULL,
    expires_at         INTEGER NOT NULL,
    consumed_at        INTEGER,
    issued_jti         TEXT,
    issued_exp         INTEGER
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

-- What a user has allowed a client (OIDC Core §3.1.2.4); asked again for anything new.
CREATE TABLE consents (
    sub         TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (sub, client_id)
);

-- Browser sessions (tower-sessions records), keyed by a hash of the cookie value.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    sub         TEXT,
    data        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_sub ON sessions (sub);
