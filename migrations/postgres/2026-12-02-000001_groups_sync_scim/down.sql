DROP TABLE scim_tokens;
DROP TABLE sync_state;
DROP TABLE sync_runs;
DROP TABLE group_members;
DROP TABLE groups;
ALTER TABLE users DROP COLUMN scim_deleted_at;
ALTER TABLE users DROP COLUMN scim_resource;
