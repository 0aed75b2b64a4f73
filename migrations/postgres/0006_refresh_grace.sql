-- An optional per-client grace window in which a just-rotated refresh token is answered with the
-- same successor (two tabs refreshing at once), instead of being treated as a replay.
ALTER TABLE clients ADD COLUMN refresh_grace_seconds BIGINT;
-- The successor, encrypted under the master key ("<key id>:<ciphertext>"), kept only when the
-- client has a grace window.
ALTER TABLE refresh_tokens ADD COLUMN successor TEXT;
