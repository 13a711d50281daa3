-- Back to rowid tables.
CREATE TABLE identities_with_rowid (
    connection TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connection, issuer, subject)
);
-- A subject seen with several users keeps its latest.
INSERT OR REPLACE INTO identities_with_rowid SELECT
    connection, issuer, subject, user_id, first_seen_at, last_seen_at FROM identities
    ORDER BY last_seen_at;
DROP TABLE identities;
ALTER TABLE identities_with_rowid RENAME TO identities;
CREATE INDEX identities_user_id ON identities (user_id);

CREATE TABLE saml_replay_with_rowid (
    connection TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connection, assertion_id)
);
INSERT INTO saml_replay_with_rowid SELECT connection, assertion_id, expires_at FROM saml_replay;
DROP TABLE saml_replay;
ALTER TABLE saml_replay_with_rowid RENAME TO saml_replay;
CREATE INDEX saml_replay_expires_at ON saml_replay (expires_at);

CREATE TABLE sessions_with_rowid (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    connection TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
INSERT INTO sessions_with_rowid SELECT
    token_hash, user_id, connection, created_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_with_rowid RENAME TO sessions;
CREATE INDEX sessions_user_id ON sessions (user_id);

DROP INDEX users_connection_scim_external_id;
CREATE INDEX users_connection_scim_external_id ON users (connection, scim_external_id);
DROP INDEX users_connection_scim_user_name_key;
CREATE UNIQUE INDEX users_connection_scim_user_name_key ON users (connection, scim_user_name_key);
DROP INDEX users_connection_email_key;
CREATE UNIQUE INDEX users_connection_email_key ON users (connection, email_key)
    WHERE email_key <> '';
CREATE INDEX users_connection_email_key_lookup ON users (connection, email_key);
