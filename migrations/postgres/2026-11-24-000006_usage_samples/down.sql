CREATE INDEX key_recent_uses_key ON key_recent_uses (key_id, used_at);
ALTER TABLE key_usage DROP COLUMN sample_due;
ALTER TABLE key_usage RENAME COLUMN samples TO flushes;
