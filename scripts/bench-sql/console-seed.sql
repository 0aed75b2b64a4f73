-- Seeds the admin-console benchmark database (PostgreSQL): :n_clients clients and :n_users users.
-- Run by scripts/bench-console with psql variables:
--   n_clients, n_users   how many rows
--   pw_hash              one argon2id PHC string, made by `tessera users create`, shared by all
--   secret_hash          one client secret hash, made by `tessera clients create`, shared by the
--                        confidential clients (nobody authenticates with them here)
--   resource_a, resource_b   two resources made by `tessera resources create` (grants point at them)
--   now                  unix seconds
-- The data is deterministic (setseed) so two runs search the same rows, and skewed (a few very
-- common first words and names, a long tail, a handful of rare ones) so prefixes have different
-- selectivities. Values are those the server itself writes (see src/model/client.rs and
-- migrations 0001-0008 for the NOT NULL columns); the rest take their column defaults.
\set ON_ERROR_STOP 1
SELECT setseed(0.4242);

-- Clients -----------------------------------------------------------------------------------
-- name = first word (skewed: "Orders" ≈ 17 %) + kind of app + sometimes an environment or a
-- number; 10 % in kebab case, all lower-case; every 2,500th is a "Quokka …" (the rare prefix).
-- client_id = "c_" + 22 base64url characters, the shape the server generates.
-- i % 10: 0-4 service (client_credentials, one grant), 5-7 web app (authorization_code +
-- refresh_token, a grant for 5-6), 8-9 public native app (PKCE, no secret, no grant).
CREATE TEMP TABLE seed_clients AS
WITH r AS MATERIALIZED (
    SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5
    FROM generate_series(1, :n_clients) AS g(i)
), w AS (
    SELECT ARRAY['Orders', 'Billing', 'Analytics', 'Payments', 'Mobile', 'Inventory', 'Shipping',
                 'Search', 'Support', 'Reporting', 'Marketing', 'Checkout', 'Catalog',
                 'Notifications', 'Identity', 'Partner', 'Warehouse', 'Loyalty', 'Fraud',
                 'Pricing', 'Recommendations', 'Accounting', 'Payroll', 'Scheduler', 'Gateway',
                 'Ledger', 'Onboarding', 'Compliance', 'Data', 'Edge', 'Kiosk', 'Legacy',
                 'Returns', 'Tax', 'Vendor', 'Yield'] AS first,
           ARRAY['API', 'Web', 'iOS app', 'Android app', 'Service', 'Worker', 'Dashboard', 'Sync',
                 'Batch job', 'CLI', 'Admin portal', 'Backend', 'Importer', 'Exporter',
                 'Webhooks', 'Integration'] AS second,
           ARRAY[' (staging)', ' (dev)', ' (prod)', ' EU', ' US', ' APAC'] AS env
), named AS (
    SELECT r.i, r.r4, r.r5,
           CASE WHEN r.i % 2500 = 7 THEN 'Quokka'
                ELSE w.first[1 + floor(cardinality(w.first) * r.r1 ^ 2)::int] END
           || ' ' || w.second[1 + floor(cardinality(w.second) * r.r2)::int]
           || CASE WHEN r.r3 < 0.3 THEN w.env[1 + floor(cardinality(w.env) * r.r3 / 0.3)::int]
                   WHEN r.r3 < 0.5 THEN ' ' || (1 + r.i % 40)::text
                   ELSE '' END AS name
    FROM r, w
)
SELECT i,
       'c_' || translate(encode(substr(sha256(('tessera-bench-client-' || i)::bytea), 1, 16),
                                'base64'), '+/=', '-_') AS client_id,
       CASE WHEN r4 < 0.1
            THEN lower(regexp_replace(regexp_replace(name, '[()]', '', 'g'), ' +', '-', 'g'))
            ELSE name END AS name,
       i % 10 AS kind,
       r5
FROM named;

-- Which resource and scopes a client is granted (kinds 0-6), as `tessera clients create
-- --resource` writes them: a client_grants row, and the same as the client's defaults.
ALTER TABLE seed_clients ADD COLUMN resource TEXT, ADD COLUMN scopes TEXT;
UPDATE seed_clients
SET resource = CASE WHEN i % 3 = 0 THEN :'resource_b' ELSE :'resource_a' END,
    scopes = CASE WHEN i % 3 = 0 THEN 'reports.read' WHEN i % 2 = 0 THEN 'orders.read'
                  ELSE 'orders.read orders.write' END
WHERE kind <= 6;

INSERT INTO clients (client_id, name, public, application_type, auth_method, grant_types,
                     redirect_uris, post_logout_redirect_uris, allowed_origins, default_resource,
                     default_scopes, secret_hash, first_party, pkce_required, disabled,
                     created_at, updated_at)
SELECT client_id, name,
       kind >= 8,
       CASE WHEN kind >= 8 THEN 'native' ELSE 'web' END,
       CASE WHEN kind >= 8 THEN 'none' ELSE 'client_secret_basic' END,
       CASE WHEN kind < 5 THEN 'client_credentials' ELSE 'authorization_code refresh_token' END,
       CASE WHEN kind < 5 THEN '[]'
            WHEN kind < 8 THEN '["https://app' || i || '.example.com/callback"]'
            ELSE '["com.example.app' || i || ':/callback"]' END,
       CASE WHEN kind BETWEEN 5 AND 7 THEN '["https://app' || i || '.example.com/"]' ELSE '[]' END,
       '[]',
       resource,
       coalesce(scopes, ''),
       CASE WHEN kind >= 8 THEN NULL ELSE :'secret_hash' END,
       kind = 5,
       TRUE,
       r5 < 0.03,
       :now - (r5 * 3 * 365 * 86400)::bigint,
       :now - (r5 * 3 * 365 * 86400)::bigint
FROM seed_clients;

INSERT INTO client_grants (client_id, resource, scopes)
SELECT client_id, resource, scopes FROM seed_clients WHERE resource IS NOT NULL;

-- Users -------------------------------------------------------------------------------------
-- name = first + last (skewed: "Maria" and "Garcia" ≈ 14 % each; 5 % NULL; 5 % with the last
-- name in capitals); every 25,000th first name is "Xochitl" (the rare prefix).
-- username (unique: ends with i), by i % 4: mgarcia17 | maria_garcia17 | garciam17 | maria17
-- — never a dot or a space, so a prefix with a dot can only match an email and one with a space
-- only a name.
-- email = maria.garcia17@<domain> (3 % NULL, 10 % capitalised as Maria.Garcia17@…).
-- sub = a UUID derived from i.
CREATE TEMP TABLE seed_users AS
WITH r AS MATERIALIZED (
    SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
           random() AS r6
    FROM generate_series(1, :n_users) AS g(i)
), w AS (
    SELECT ARRAY['Maria', 'James', 'Mohammed', 'Wei', 'Anna', 'David', 'Sofia', 'Michael',
                 'Fatima', 'John', 'Elena', 'Daniel', 'Priya', 'Carlos', 'Emma', 'Ahmed', 'Olivia',
                 'Lucas', 'Yuki', 'Noah', 'Chloé', 'Mateo', 'Aisha', 'Liam', 'Hannah', 'Ivan',
                 'Zoë', 'Omar', 'Léa', 'Kenji', 'Amara', 'Sven', 'Nadia', 'Diego', 'Ingrid',
                 'Rahul', 'Freya', 'Tomás', 'Mei', 'Björn', 'Leila', 'Hugo', 'Ana', 'Pavel',
                 'Siobhan', 'Kwame', 'Åsa', 'Luca', 'Ewa', 'Jamal'] AS first,
           ARRAY['Garcia', 'Smith', 'Wang', 'Müller', 'Kumar', 'Silva', 'Johnson', 'Nguyen',
                 'Martin', 'Rossi', 'Kim', 'Brown', 'Hernández', 'Ali', 'Kowalski', 'Dubois',
                 'Tanaka', 'Jones', 'Ivanova', 'Okafor', 'Larsen', 'Novak', 'Lopez', 'Schmidt',
                 'Chen', 'Williams', 'Andersson', 'Costa', 'Yilmaz', 'Patel', 'Moreau', 'Fischer',
                 'Sato', 'Haddad', 'Murphy', 'Jensen', 'O''Brien', 'Rodríguez', 'Nakamura',
                 'Wójcik', 'Popescu', 'Mendes', 'Horvat', 'Berg', 'Kelly', 'Santos', 'Bianchi',
                 'Zhang', 'Gómez', 'Quinn'] AS last,
           ARRAY['example.com', 'mail.example.org', 'corp.example.net', 'example.co.uk',
                 'students.example.edu'] AS domain
), picked AS (
    SELECT r.*,
           CASE WHEN r.i % 25000 = 11 THEN 'Xochitl'
                ELSE w.first[1 + floor(cardinality(w.first) * r.r1 ^ 2)::int] END AS first,
           w.last[1 + floor(cardinality(w.last) * r.r2 ^ 2)::int] AS last,
           w.domain[1 + floor(cardinality(w.domain) * r.r3)::int] AS domain
    FROM r, w
), ascii AS (
    -- Usernames and emails in plain ASCII: accents dropped, apostrophes removed.
    SELECT p.*,
           regexp_replace(translate(lower(p.first), 'éèëöüåøłçñóáíÅÖÜÉ', 'eeeouaolcnoaiaoue'),
                          '[^a-z0-9]', '', 'g') AS f,
           regexp_replace(translate(lower(p.last), 'éèëöüåøłçñóáíÅÖÜÉ', 'eeeouaolcnoaiaoue'),
                          '[^a-z0-9]', '', 'g') AS l
    FROM picked p
)
SELECT i,
       md5('tessera-bench-user-' || i)::uuid::text AS sub,
       CASE i % 4 WHEN 0 THEN left(f, 1) || l WHEN 1 THEN f || '_' || l
                  WHEN 2 THEN l || left(f, 1) ELSE f END || i AS username,
       CASE WHEN r4 < 0.03 THEN NULL
            WHEN r4 < 0.13 THEN initcap(f) || '.' || initcap(l) || i || '@' || domain
            ELSE f || '.' || l || i || '@' || domain END AS email,
       CASE WHEN r5 < 0.05 THEN NULL
            WHEN r5 < 0.10 THEN first || ' ' || upper(last)
            ELSE first || ' ' || last END AS name,
       r6
FROM ascii;

INSERT INTO users (sub, username, email, email_verified, name, password_hash, disabled,
                   created_at, updated_at)
SELECT sub, username, email, email IS NOT NULL AND r6 < 0.7, name, :'pw_hash', r6 > 0.98,
       :now - (r6 * 3 * 365 * 86400)::bigint, :now - (r6 * 3 * 365 * 86400)::bigint
FROM seed_users;

ANALYZE clients;
ANALYZE client_grants;
ANALYZE users;
