DROP INDEX groups_connection_created_at;
DROP INDEX groups_connection_scim_display_name_key;
DROP INDEX groups_connection_scim_external_id;
ALTER TABLE groups DROP COLUMN scim_display_name_key;
ALTER TABLE groups DROP COLUMN scim_external_id;

DROP INDEX users_connection_email_key_lookup;
DROP INDEX users_connection_email_key;
CREATE UNIQUE INDEX users_connection_email_key ON users (connection, email_key);

DROP INDEX users_connection_created_at;
DROP INDEX users_connection_user_name;
DROP INDEX users_connection_scim_external_id;
DROP INDEX users_connection_scim_user_name_key;
ALTER TABLE users DROP COLUMN scim_user_name_key;
ALTER TABLE users DROP COLUMN scim_external_id;
