-- Console sessions kept on the server, so signing out ends a session everywhere (a copied cookie stops
-- working), people see where they are signed in, and sessions can be ended one by one or all at once.
-- The cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE console_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    digest       BLOB   NOT NULL UNIQUE,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip           TEXT   NOT NULL DEFAULT '',
    user_agent   TEXT   NOT NULL DEFAULT '',
    ended_at     BIGINT
);
CREATE INDEX console_sessions_account ON console_sessions (account_id);
