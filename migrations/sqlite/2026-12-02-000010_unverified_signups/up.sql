-- Self sign-up never proved that the person owns the email. When single sign-on later links an account
-- by a verified email, a password set by such a sign-up is dropped (its maker may not be the owner).
ALTER TABLE accounts ADD COLUMN email_unverified BOOLEAN NOT NULL DEFAULT 0;
