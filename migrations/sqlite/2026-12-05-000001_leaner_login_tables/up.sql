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

-- Tables looked up only by their primary key keep their rows in that key's B-tree (no
-- separate rowid table to write as well).
--
-- Identities are the subjects (issuer + NameID) each user signed in with, first and last
-- sighting, keyed by the user: a new account's rows go at the end of the table (user ids
-- grow with time) instead of at a random place in the order of subjects.
CREATE TABLE identities_by_user (
    user_id TEXT NOT NULL REFERENCES users (id),
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    connection TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, issuer, subject)
) WITHOUT ROWID;
INSERT INTO identities_by_user SELECT
    user_id, issuer, subject, connection, first_seen_at, last_seen_at FROM identities;
DROP TABLE identities;
ALTER TABLE identities_by_user RENAME TO identities;

CREATE TABLE saml_replay_by_key (
    connection TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connection, assertion_id)
) WITHOUT ROWID;
INSERT INTO saml_replay_by_key SELECT connection, assertion_id, expires_at FROM saml_replay;
DROP TABLE saml_replay;
ALTER TABLE saml_replay_by_key RENAME TO saml_replay;
CREATE INDEX saml_replay_expires_at ON saml_replay (expires_at);

CREATE TABLE sessions_by_key (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    connection TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
) WITHOUT ROWID;
INSERT INTO sessions_by_key SELECT
    token_hash, user_id, connection, created_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_by_key RENAME TO sessions;
CREATE INDEX sessions_user_id ON sessions (user_id);
