-- OIDC Registration §2 default_max_age: seconds after which a sign-in no longer counts for an
-- authorization request that sends no max_age. NULL = no limit.
ALTER TABLE clients ADD COLUMN default_max_age INTEGER;
