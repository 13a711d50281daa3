-- The indexes and the work email key column go. Keys stay as the up migration made them:
-- the Unicode-lowercased keys cannot be made again in SQL. Keys of ASCII texts are the same
-- either way; a key of a text with a non-ASCII letter stays ASCII-folded, which the code of
-- the previous version does not find by its own lowercasing. Groups sync created keep no
-- displayName key, as those created since the SCIM server migration never had one.
DROP INDEX users_connection_scim_work_email_key;
ALTER TABLE users DROP COLUMN scim_work_email_key;

DROP INDEX groups_connection_display_name_key;
DROP INDEX users_connection_user_name_key;
CREATE INDEX users_connection_user_name ON users (connection, user_name);
