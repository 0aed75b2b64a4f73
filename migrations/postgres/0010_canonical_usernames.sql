-- Usernames are compared by one canonical form (Unicode compatibility caseless matching,
-- src/model/username.rs) that the server computes in Rust, because SQL's LOWER folds only
-- ASCII on SQLite and follows the collation on PostgreSQL. Existing rows are filled in by the
-- server right after this migration (SQL cannot compute the form); a start refuses to go on
-- if two accounts turn out to share one. NULL only until then: a unique index allows many.
ALTER TABLE users ADD COLUMN username_canonical TEXT;
CREATE UNIQUE INDEX users_username_canonical ON users (username_canonical);

-- Failed-login counters older than the reset period are purged with the other expired rows.
CREATE INDEX login_failures_last_failure ON login_failures (last_failure_at);
