-- One-time links an administrator hands to a person so they choose their own password (people
-- created by import or sign-up by an administrator have none). Only the SHA-256 of the token is kept.
CREATE TABLE password_links (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    digest     BLOB   NOT NULL UNIQUE,
    created_by BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_links_account ON password_links (account_id);
