-- People who sign in. `sub` is the immutable opaque subject identifier (OIDC Core §5.1,
-- §8): a random UUID, never the username or email, which can change or be reused.
CREATE TABLE users (
    sub             TEXT PRIMARY KEY,
    username        TEXT NOT NULL,
    email           TEXT,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    name            TEXT,
    password_hash   TEXT NOT NULL,           -- PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- Usernames are unique regardless of case ("Alice" and "alice" are one account); lookups use
-- the same expression so both databases answer them from this index.
CREATE UNIQUE INDEX users_username_lower ON users (LOWER(username));
