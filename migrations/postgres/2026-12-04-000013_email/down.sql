ALTER TABLE webhooks DROP COLUMN format;
ALTER TABLE password_links DROP COLUMN purpose;
DROP INDEX notifications_digest;
ALTER TABLE notifications DROP COLUMN digest_pending;
ALTER TABLE accounts DROP COLUMN digest_sent_at;
ALTER TABLE accounts DROP COLUMN email_digest;
DROP TABLE email_muted;
DROP TABLE email_outbox;
