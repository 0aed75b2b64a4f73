-- Shared rate limits (limits.shared = "database"): each instance adds the requests it counted
-- since its last sync to one row per limit, key and fixed window, and reads the totals back.
-- UNLOGGED: the counters live for a minute at most, so they are not worth WAL writes or
-- replication; after a crash or failover they start again from zero.
CREATE UNLOGGED TABLE rate_limit_counters (
    limit_name    TEXT NOT NULL,           -- e.g. token_per_client, client_auth_failures
    key           TEXT NOT NULL,           -- hash of the client id / IP the limit is kept for
    window_start  BIGINT NOT NULL,         -- unix milliseconds
    hits          BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,         -- unix seconds: when it can go (window end + grace)
    PRIMARY KEY (limit_name, key, window_start)
);
CREATE INDEX rate_limit_counters_expires ON rate_limit_counters (expires_at);
