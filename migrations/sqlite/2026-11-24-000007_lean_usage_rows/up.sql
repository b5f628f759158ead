-- Every usage flush (every 5 s) rewrites the key_usage and key_usage_daily rows of every key used since the
-- last one, so each B-tree behind those rows is paid for on every flush; at 100k busy keys that was a third
-- of the server's CPU. key_usage's key becomes the rowid (INTEGER PRIMARY KEY: one B-tree instead of a
-- table and its primary-key index) and its last_used_at index goes: the index entry moved on every write,
-- and both readers (the dashboard's unused count, the keys page's unused filter) visit every key anyway.
-- key_usage_daily becomes WITHOUT ROWID, one B-tree keyed by (key_id, day).
CREATE TABLE key_usage_new (
    key_id         INTEGER PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
    last_used_at   BIGINT NOT NULL,
    last_used_ip   TEXT,
    last_used_path TEXT,
    use_count      BIGINT NOT NULL DEFAULT 0,
    samples        BIGINT NOT NULL DEFAULT 0,
    sample_due     BIGINT NOT NULL DEFAULT 0
);
INSERT INTO key_usage_new (key_id, last_used_at, last_used_ip, last_used_path, use_count, samples, sample_due)
    SELECT key_id, last_used_at, last_used_ip, last_used_path, use_count, samples, sample_due FROM key_usage;
DROP TABLE key_usage;
ALTER TABLE key_usage_new RENAME TO key_usage;

CREATE TABLE key_usage_daily_new (
    key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day    BIGINT NOT NULL,                                -- unix day number
    uses   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day)
) WITHOUT ROWID;
INSERT INTO key_usage_daily_new (key_id, day, uses) SELECT key_id, day, uses FROM key_usage_daily;
DROP TABLE key_usage_daily;
ALTER TABLE key_usage_daily_new RENAME TO key_usage_daily;
