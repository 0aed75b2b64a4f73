-- Brute-force protection for the login form: failures per account and per source IP, with a
-- growing delay (never a permanent lock). Shared by every instance; visible and clearable by
-- an admin.
CREATE TABLE login_failures (
    key              TEXT PRIMARY KEY,       -- "account:<lowercased username>" or "ip:<address>"
    failures         INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL,
    delay_until      INTEGER NOT NULL
);
