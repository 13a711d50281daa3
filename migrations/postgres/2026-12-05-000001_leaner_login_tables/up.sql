-- Fewer index entries per new account: every index on users is another B-tree page that a
-- login creating an account dirties, and a page dirtied at a random place is written out again
-- at each commit.
--
-- Email keys: one index for uniqueness and lookups alike. Its third column is the user's id
-- when the key is empty (accounts SCIM created without an email, which may share the empty
-- key) and '' otherwise, so non-empty keys stay unique per connection, and a lookup on
-- (connection, email_key) uses the index's first two columns.
DROP INDEX users_connection_email_key_lookup;
DROP INDEX users_connection_email_key;
CREATE UNIQUE INDEX users_connection_email_key ON users (
    connection, email_key, (CASE WHEN email_key = '' THEN id ELSE '' END)
);

-- SCIM keys are only indexed where SCIM set them; lookups compare them with `=`, which
-- already rules out NULL, so the partial indexes serve them.
DROP INDEX users_connection_scim_user_name_key;
CREATE UNIQUE INDEX users_connection_scim_user_name_key ON users (connection, scim_user_name_key)
    WHERE scim_user_name_key IS NOT NULL;
DROP INDEX users_connection_scim_external_id;
CREATE INDEX users_connection_scim_external_id ON users (connection, scim_external_id)
    WHERE scim_external_id IS NOT NULL;

-- Identities are the subjects (issuer + NameID) each user signed in with, keyed by the user.
ALTER TABLE identities DROP CONSTRAINT identities_pkey;
ALTER TABLE identities ADD PRIMARY KEY (user_id, issuer, subject);
DROP INDEX identities_user_id;
