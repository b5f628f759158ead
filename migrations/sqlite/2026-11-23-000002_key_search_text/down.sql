CREATE INDEX api_keys_list ON api_keys (workspace_id, created_at, id);
DROP INDEX api_keys_search;
ALTER TABLE api_keys DROP COLUMN search_text;
