CREATE TABLE key_usage_old (
    key_id         BIGINT PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
    last_used_at   BIGINT NOT NULL,
    last_used_ip   TEXT,
    last_used_path TEXT,
    use_count      BIGINT NOT NULL DEFAULT 0,
    samples        BIGINT NOT NULL DEFAULT 0,
    sample_due     BIGINT NOT NULL DEFAULT 0
);
INSERT INTO key_usage_old (key_id, last_used_at, last_used_ip, last_used_path, use_count, samples, sample_due)
    SELECT key_id, last_used_at, last_used_ip, last_used_path, use_count, samples, sample_due FROM key_usage;
DROP TABLE key_usage;
ALTER TABLE key_usage_old RENAME TO key_usage;
CREATE INDEX key_usage_last_used ON key_usage (last_used_at);

CREATE TABLE key_usage_daily_old (
    key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day    BIGINT NOT NULL,                                -- unix day number
    uses   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day)
);
INSERT INTO key_usage_daily_old (key_id, day, uses) SELECT key_id, day, uses FROM key_usage_daily;
DROP TABLE key_usage_daily;
ALTER TABLE key_usage_daily_old RENAME TO key_usage_daily;
