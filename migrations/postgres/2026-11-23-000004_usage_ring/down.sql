DROP INDEX key_recent_uses_slot;
ALTER TABLE key_recent_uses DROP COLUMN slot;
ALTER TABLE key_usage DROP COLUMN flushes;
