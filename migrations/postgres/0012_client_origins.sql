-- The browser origins each client allows (its explicit list and the origins of its http(s)
-- redirect URIs), so a CORS check finds an origin through the primary key instead of loading
-- every client. Kept by the client store in each write's transaction. Clients written before
-- this table existed are indexed once at the next start (`origins_indexed`), because deriving
-- an origin from a URI (case, default ports, IDNA) needs the URL parser, not SQL.
CREATE TABLE client_origins (
    origin     TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    PRIMARY KEY (origin, client_id)
);
CREATE INDEX client_origins_by_client ON client_origins (client_id);
ALTER TABLE clients ADD COLUMN origins_indexed BOOLEAN NOT NULL DEFAULT FALSE;
