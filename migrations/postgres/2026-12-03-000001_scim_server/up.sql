-- Columns and indexes the SCIM server answers Entra ID's lookups from.
--
-- A SCIM externalId is the client's own key for a resource (Entra sends mailNickname for
-- users, the object id for groups); it is kept apart from users.external_id / groups.external_id,
-- which hold the IdP object id SAML and scheduled sync match on. userName and a group's
-- displayName compare without regard to case, so their lower-cased forms are indexed.
ALTER TABLE users ADD COLUMN scim_external_id TEXT;
ALTER TABLE users ADD COLUMN scim_user_name_key TEXT;
CREATE UNIQUE INDEX users_connection_scim_user_name_key ON users (connection, scim_user_name_key);
CREATE INDEX users_connection_scim_external_id ON users (connection, scim_external_id);
CREATE INDEX users_connection_user_name ON users (connection, user_name);
CREATE INDEX users_connection_created_at ON users (connection, created_at, id);

-- A user pushed by SCIM may have no email yet: only non-empty emails must be unique.
DROP INDEX users_connection_email_key;
CREATE UNIQUE INDEX users_connection_email_key ON users (connection, email_key)
    WHERE email_key <> '';
-- A lookup `email_key = ?` cannot use the partial index (the planner cannot prove the bound
-- value is non-empty), so lookups get a plain index of their own.
CREATE INDEX users_connection_email_key_lookup ON users (connection, email_key);

ALTER TABLE groups ADD COLUMN scim_external_id TEXT;
ALTER TABLE groups ADD COLUMN scim_display_name_key TEXT;
CREATE INDEX groups_connection_scim_external_id ON groups (connection, scim_external_id);
CREATE INDEX groups_connection_scim_display_name_key ON groups (connection, scim_display_name_key);
CREATE INDEX groups_connection_created_at ON groups (connection, created_at, id);

-- Existing rows get their keys so lookups find them too.
UPDATE groups SET scim_display_name_key = lower(display_name);
