CREATE INDEX identities_user_id ON identities (user_id);
ALTER TABLE identities DROP CONSTRAINT identities_pkey;
-- A subject seen with several users keeps its latest (of those seen at the same instant, one).
DELETE FROM identities AS older USING identities AS newer
    WHERE older.connection = newer.connection AND older.issuer = newer.issuer
    AND older.subject = newer.subject
    AND (older.last_seen_at, older.user_id) < (newer.last_seen_at, newer.user_id);
ALTER TABLE identities ADD PRIMARY KEY (connection, issuer, subject);
DROP INDEX users_connection_scim_external_id;
CREATE INDEX users_connection_scim_external_id ON users (connection, scim_external_id);
DROP INDEX users_connection_scim_user_name_key;
CREATE UNIQUE INDEX users_connection_scim_user_name_key ON users (connection, scim_user_name_key);
DROP INDEX users_connection_email_key;
CREATE UNIQUE INDEX users_connection_email_key ON users (connection, email_key)
    WHERE email_key <> '';
CREATE INDEX users_connection_email_key_lookup ON users (connection, email_key);
