-- Resource servers (APIs): the audience of access tokens.
CREATE TABLE resources (
    identifier        TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    scopes            TEXT NOT NULL,          -- JSON array of {name, description}
    signing_alg       TEXT NOT NULL,
    access_token_ttl  BIGINT NOT NULL,        -- seconds
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE clients (
    client_id                   TEXT PRIMARY KEY,
    name                        TEXT NOT NULL,
    public                      BOOLEAN NOT NULL,
    auth_method                 TEXT NOT NULL,
    grant_types                 TEXT NOT NULL,   -- space-delimited
    redirect_uris               TEXT NOT NULL,   -- JSON array
    default_resource            TEXT REFERENCES resources(identifier) ON DELETE SET NULL,
    default_scopes              TEXT NOT NULL,   -- space-delimited
    access_token_ttl            BIGINT,          -- seconds; NULL = the resource's lifetime
    resource_server_for         TEXT REFERENCES resources(identifier) ON DELETE SET NULL,
    secret_hash                 TEXT,
    previous_secret_hash        TEXT,
    previous_secret_expires_at  BIGINT,
    disabled                    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL
);

-- Which resources a client may get tokens for, and with which scopes.
CREATE TABLE client_grants (
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    resource   TEXT NOT NULL REFERENCES resources(identifier) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,                    -- space-delimited
    PRIMARY KEY (client_id, resource)
);

CREATE TABLE signing_keys (
    kid              TEXT PRIMARY KEY,
    alg              TEXT NOT NULL,
    state            TEXT NOT NULL,              -- next | active | retired
    public_jwk       TEXT NOT NULL,              -- JSON
    private_key      TEXT NOT NULL,              -- base64url(nonce || AES-256-GCM(pkcs8))
    master_key_id    TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    activated_at     BIGINT,
    retired_at       BIGINT
);
-- At most one active and one next key per algorithm: this is what makes the first-start
-- generation and rotation safe when several instances race.
CREATE UNIQUE INDEX signing_keys_one_per_state ON signing_keys (alg, state)
    WHERE state IN ('next', 'active');

-- Access tokens revoked before their expiry (RFC 7009); rows can go once expires_at passes.
CREATE TABLE revoked_tokens (
    jti         TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
