ALTER TABLE key_usage RESET (fillfactor);
CREATE INDEX key_usage_last_used ON key_usage (last_used_at);
