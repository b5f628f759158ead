-- Email: the outbox the delivery job sends from (queued in the transaction that made the notification,
-- invitation or link it carries), each person's choices, and the kinds of webhook receivers.
CREATE TABLE email_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id    BIGINT REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id      BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    recipient       TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    subject         TEXT   NOT NULL,
    text_body       TEXT   NOT NULL,
    html_body       TEXT   NOT NULL,
    message_id      TEXT   NOT NULL UNIQUE,
    status          TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_workspace ON email_outbox (workspace_id, id);

-- Kinds of notification a person chose not to receive by email (all are emailed by default).
CREATE TABLE email_muted (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    PRIMARY KEY (account_id, kind)
);
-- A daily digest instead of single emails: notifications wait (digest_pending) until the account's next
-- digest, one day after the last.
ALTER TABLE accounts ADD COLUMN email_digest BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE accounts ADD COLUMN digest_sent_at BIGINT;
ALTER TABLE notifications ADD COLUMN digest_pending BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX notifications_digest ON notifications (account_id) WHERE digest_pending;

-- A one-time link sets a password ('password') or proves a signed-up account's email ('verify').
ALTER TABLE password_links ADD COLUMN purpose TEXT NOT NULL DEFAULT 'password' CHECK (purpose IN ('password', 'verify'));

-- What a webhook's receiver understands: keyward's signed JSON, a Slack-compatible {"text"}, or Teams.
ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'keyward' CHECK (format IN ('keyward', 'slack', 'teams'));
