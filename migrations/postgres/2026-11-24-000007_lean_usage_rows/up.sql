-- Every usage flush (every 5 s) updates the key_usage row of every key used since the last one. The
-- last_used_at index moved on every such update and kept it from being a heap-only (HOT) update; both of
-- its readers (the dashboard's unused count, the keys page's unused filter) visit every key anyway. Free
-- space on each page lets the update stay on its page.
DROP INDEX key_usage_last_used;
ALTER TABLE key_usage SET (fillfactor = 70);
