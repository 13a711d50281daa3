-- Groups and memberships, scheduled sync runs and their cursors, SCIM tokens and the SCIM
-- view of users and groups.

-- The whole SCIM resource as last written (extensions, phone numbers, ...), and when SCIM
-- deleted it: a deleted resource is gone from SCIM's view but the account stays, deactivated.
ALTER TABLE users ADD COLUMN scim_resource TEXT;
ALTER TABLE users ADD COLUMN scim_deleted_at TIMESTAMP;

CREATE TABLE groups (
    id TEXT PRIMARY KEY NOT NULL,
    connection TEXT NOT NULL,
    external_id TEXT,
    display_name TEXT NOT NULL,
    source TEXT NOT NULL,
    version BIGINT NOT NULL,
    scim_resource TEXT,
    deleted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX groups_connection_external_id ON groups (connection, external_id);
CREATE INDEX groups_connection_display_name ON groups (connection, display_name);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_id ON group_members (user_id);

CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY NOT NULL,
    connection TEXT NOT NULL,
    trigger TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    counts TEXT NOT NULL,
    message TEXT
);
CREATE INDEX sync_runs_connection_started_at ON sync_runs (connection, started_at);

CREATE TABLE sync_state (
    connection TEXT PRIMARY KEY NOT NULL,
    delta_token TEXT,
    last_full_sync_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE scim_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    connection TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX scim_tokens_token_hash ON scim_tokens (token_hash);
