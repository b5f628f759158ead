-- What each change of access named (db::changes::Scope, as text), by the epoch it set: how an instance
-- that missed the change's notice — or, on SQLite, never gets one — learns which cached answers the change
-- made stale, instead of dropping all of them. Only recent epochs are kept.
CREATE TABLE change_log (
    epoch BIGINT PRIMARY KEY,
    scopes TEXT NOT NULL
);
