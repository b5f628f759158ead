-- One lower-cased column holding everything the key search looks at (name, description, identifier,
-- owner email and name), so a search scans one column instead of joining and lower-casing four.
ALTER TABLE api_keys ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE api_keys SET search_text = lower(
    name || ' ' || description || ' ' || COALESCE(identifier, '') || ' ' ||
    (SELECT email || ' ' || display_name FROM accounts WHERE accounts.id = api_keys.owner_id));
-- Newest-first searches filter on the index entries alone and touch table rows only for matches.
-- It also serves the default newest-first view, so the narrower list index goes.
CREATE INDEX api_keys_search ON api_keys (workspace_id, created_at, id, search_text);
DROP INDEX api_keys_list;
