-- Recent uses become samples: at most one a minute per key, so a busy key costs one ring write a minute
-- instead of one per usage flush (every 5 s). key_usage.samples (was flushes) counts the samples taken and
-- picks the ring slot; sample_due is when the next one may be taken. The (key_id, used_at) index goes: the
-- unique (key_id, slot) index finds a key's twenty rows, and every write kept both up to date.
ALTER TABLE key_usage RENAME COLUMN flushes TO samples;
ALTER TABLE key_usage ADD COLUMN sample_due BIGINT NOT NULL DEFAULT 0;
DROP INDEX key_recent_uses_key;
