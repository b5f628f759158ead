-- Accounts are shared by every workspace, so one workspace never enrols a person who already belongs to
-- another: it invites them, and they join when they accept after signing in. Until then the inviting
-- workspace sees only the email it typed and "invitation pending".
CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role         TEXT   NOT NULL,
    invited_by   BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, account_id)
);
CREATE INDEX invitations_account ON invitations (account_id);
