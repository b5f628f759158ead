-- Recent uses become a ring of 20 slots per key, so a usage flush overwrites one row per key instead of
-- inserting one and trimming the rest. key_usage.flushes counts the flushes that touched the key and picks
-- the slot.
ALTER TABLE key_usage ADD COLUMN flushes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE key_recent_uses ADD COLUMN slot BIGINT NOT NULL DEFAULT 0;
UPDATE key_recent_uses SET slot = (
    SELECT COUNT(*) FROM key_recent_uses AS older
    WHERE older.key_id = key_recent_uses.key_id AND older.id < key_recent_uses.id
);
DELETE FROM key_recent_uses WHERE slot >= 20;
UPDATE key_usage SET flushes = (SELECT COUNT(*) FROM key_recent_uses WHERE key_recent_uses.key_id = key_usage.key_id);
CREATE UNIQUE INDEX key_recent_uses_slot ON key_recent_uses (key_id, slot);
