-- keyward data model (SQLite). Times are unix seconds in 64-bit integers.
-- Keep in lockstep with migrations/postgres (same folder names, same tables and columns).

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    archived_at BIGINT
);
CREATE UNIQUE INDEX workspaces_name_key ON workspaces (lower(name));

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    email               TEXT    NOT NULL UNIQUE,          -- stored lower-case
    display_name        TEXT    NOT NULL,
    password_hash       TEXT,                             -- argon2id PHC string; NULL for SSO-only accounts
    is_super_admin      BOOLEAN NOT NULL DEFAULT 0,
    disabled_at         BIGINT,
    session_epoch       BIGINT  NOT NULL DEFAULT 0,       -- bumped to end every session of the account
    failed_attempts     BIGINT  NOT NULL DEFAULT 0,       -- consecutive failed sign-ins / re-authentications
    last_failed_at      BIGINT,
    locked_at           BIGINT,
    last_sign_in_at     BIGINT,
    last_sign_in_ip     TEXT,
    password_changed_at BIGINT,
    totp_sealed         BLOB,                             -- TOTP secret sealed under the master key
    totp_key_version    BIGINT,
    totp_confirmed_at   BIGINT,
    totp_last_step      BIGINT,                           -- last accepted time step, refuses replay
    oidc_subject        TEXT UNIQUE,
    created_at          BIGINT  NOT NULL
);

CREATE TABLE memberships (
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    role         TEXT   NOT NULL CHECK (role IN ('admin', 'auditor', 'member')),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, workspace_id)
);
CREATE INDEX memberships_workspace ON memberships (workspace_id, role);

CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    digest     BLOB   NOT NULL,
    used_at    BIGINT
);
CREATE INDEX recovery_codes_account ON recovery_codes (account_id);

CREATE TABLE permissions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    risk         TEXT    NOT NULL DEFAULT 'normal' CHECK (risk IN ('normal', 'high')),
    writes       BOOLEAN NOT NULL DEFAULT 1,               -- false: no write effect, part of READONLY
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE permission_rules (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    permission_id BIGINT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    method        TEXT   NOT NULL,                         -- HTTP method or '*'
    pattern       TEXT   NOT NULL                          -- '/a/*/b/**'
);
CREATE INDEX permission_rules_permission ON permission_rules (permission_id);

CREATE TABLE roles (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    description  TEXT   NOT NULL DEFAULT '',
    builtin      TEXT CHECK (builtin IN ('admin', 'readonly')),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE role_permissions (
    role_id       BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
);

CREATE TABLE account_roles (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role_id    BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, role_id)
);

CREATE TABLE account_permissions (
    account_id    BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, permission_id)
);

CREATE TABLE key_types (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id    BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    prefix          TEXT    NOT NULL,
    id_field_label  TEXT,
    editable        BOOLEAN NOT NULL DEFAULT 1,
    one_per_account BOOLEAN NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    UNIQUE (workspace_id, name),
    UNIQUE (workspace_id, prefix)
);

CREATE TABLE api_keys (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id      BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key_type_id       BIGINT  NOT NULL REFERENCES key_types (id),
    name              TEXT    NOT NULL,
    name_key          TEXT    NOT NULL,                    -- lower-case name, unique per workspace
    description       TEXT    NOT NULL DEFAULT '',
    identifier        TEXT,                                -- value of the key type's identifying field
    owner_id          BIGINT  NOT NULL REFERENCES accounts (id),
    act_as_owner      BOOLEAN NOT NULL DEFAULT 0,
    status            TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    expires_at        BIGINT,
    ip_allow          TEXT,                                -- comma-separated CIDR list
    rate_limit        BIGINT,                              -- requests per window
    rate_window_secs  BIGINT,
    created_at        BIGINT  NOT NULL,
    created_by        BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    updated_at        BIGINT  NOT NULL,
    UNIQUE (workspace_id, name_key)
);
CREATE INDEX api_keys_list ON api_keys (workspace_id, created_at, id);
CREATE INDEX api_keys_status ON api_keys (workspace_id, status, created_at, id);
CREATE INDEX api_keys_expiry ON api_keys (workspace_id, expires_at);
CREATE INDEX api_keys_owner ON api_keys (owner_id);

-- A key's secrets: the current one (retires_at NULL) and, during a rotation overlap, the previous one.
CREATE TABLE key_secrets (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id             BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    digest             BLOB   NOT NULL UNIQUE,             -- SHA-256 of the full key, for lookup
    sealed             BLOB   NOT NULL,                    -- AES-256-GCM(nonce || ciphertext), key id as AAD
    master_key_version BIGINT NOT NULL,
    hint               TEXT   NOT NULL,                    -- prefix + last four characters
    created_at         BIGINT NOT NULL,
    retires_at         BIGINT,
    last_used_at       BIGINT
);
CREATE INDEX key_secrets_key ON key_secrets (key_id);

CREATE TABLE api_key_roles (
    key_id  BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, role_id)
);

CREATE TABLE api_key_permissions (
    key_id        BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, permission_id)
);

-- Usage, written in batches from memory (never one write per verification).
CREATE TABLE key_usage (
    key_id         BIGINT PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
    last_used_at   BIGINT NOT NULL,
    last_used_ip   TEXT,
    last_used_path TEXT,
    use_count      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX key_usage_last_used ON key_usage (last_used_at);

CREATE TABLE key_usage_daily (
    key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day    BIGINT NOT NULL,                                -- unix day number
    uses   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day)
);

CREATE TABLE key_recent_uses (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id  BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    used_at BIGINT NOT NULL,
    ip      TEXT,
    path    TEXT
);
CREATE INDEX key_recent_uses_key ON key_recent_uses (key_id, used_at);

-- Append-only, hash-chained. Actor and target are copied as labels so events outlive what they name.
CREATE TABLE audit_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id     BIGINT,
    occurred_at      BIGINT NOT NULL,
    actor_account_id BIGINT,
    actor_key_id     BIGINT,
    actor_label      TEXT   NOT NULL,
    source_ip        TEXT,
    action           TEXT   NOT NULL,
    target_type      TEXT,
    target_id        BIGINT,
    target_label     TEXT,
    before_json      TEXT,
    after_json       TEXT,
    prev_hash        BLOB,
    hash             BLOB   NOT NULL
);
CREATE INDEX audit_events_workspace ON audit_events (workspace_id, occurred_at);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id);

CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind         TEXT   NOT NULL,
    title        TEXT   NOT NULL,
    body         TEXT   NOT NULL DEFAULT '',
    link         TEXT,
    dedupe_key   TEXT,                                     -- makes scheduled reminders exactly-once
    created_at   BIGINT NOT NULL,
    read_at      BIGINT,
    UNIQUE (account_id, dedupe_key)
);
CREATE INDEX notifications_unread ON notifications (account_id, read_at);

CREATE TABLE instance_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE workspace_settings (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    value        TEXT   NOT NULL,
    PRIMARY KEY (workspace_id, name)
);

CREATE TABLE shared_secrets (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id       BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    sealed             BLOB   NOT NULL,
    master_key_version BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    retires_at         BIGINT
);
CREATE INDEX shared_secrets_workspace ON shared_secrets (workspace_id);

CREATE TABLE webhooks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url          TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    enabled      BOOLEAN NOT NULL DEFAULT 1,
    created_at   BIGINT  NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    notification_id BIGINT REFERENCES notifications (id) ON DELETE SET NULL,
    event           TEXT   NOT NULL,
    payload         TEXT   NOT NULL,
    status          TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
