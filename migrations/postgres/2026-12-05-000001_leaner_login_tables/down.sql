DROP INDEX users_connection_scim_external_id;
CREATE INDEX users_connection_scim_external_id ON users (connection, scim_external_id);
DROP INDEX users_connection_scim_user_name_key;
CREATE UNIQUE INDEX users_connection_scim_user_name_key ON users (connection, scim_user_name_key);
DROP INDEX users_connection_email_key;
CREATE UNIQUE INDEX users_connection_email_key ON users (connection, email_key)
    WHERE email_key <> '';
CREATE INDEX users_connection_email_key_lookup ON users (connection, email_key);
