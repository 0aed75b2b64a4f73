-- RP-initiated logout redirect targets and the browser origins allowed to call the token,
-- revocation and userinfo endpoints (beyond those derived from redirect URIs).
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
