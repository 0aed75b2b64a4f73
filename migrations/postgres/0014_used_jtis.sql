-- One-time identifiers that must not be accepted twice: private_key_jwt client assertions
-- (RFC 7523 §3 item 7) and DPoP proofs (RFC 9449 §11.1). `kind` keeps the two spaces apart;
-- a row lives until the JWT it came from has expired, then the purge removes it. Shared by
-- every instance on the database, so a replay on another instance is refused too.
CREATE TABLE used_jtis (
    kind TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, jti)
);
CREATE INDEX used_jtis_expires_at ON used_jtis (expires_at);
