-- The other standard claims of OIDC Core §5.1 (given_name, family_name, …, phone_number,
-- address), one JSON object per user: they are read and written as a whole and never searched.
ALTER TABLE users ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
