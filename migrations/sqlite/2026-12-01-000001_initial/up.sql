-- Users, their IdP identities, SAML request state, the assertion replay cache,
-- sessions and the login audit log.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    connection TEXT NOT NULL,
    external_id TEXT,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    user_name TEXT,
    given_name TEXT,
    family_name TEXT,
    display_name TEXT,
    active BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
CREATE UNIQUE INDEX users_connection_external_id ON users (connection, external_id);
CREATE UNIQUE INDEX users_connection_email_key ON users (connection, email_key);

CREATE TABLE identities (
    connection TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connection, issuer, subject)
);
CREATE INDEX identities_user_id ON identities (user_id);

CREATE TABLE saml_requests (
    id TEXT PRIMARY KEY NOT NULL,
    connection TEXT NOT NULL,
    relay_state TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX saml_requests_expires_at ON saml_requests (expires_at);

CREATE TABLE saml_replay (
    connection TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connection, assertion_id)
);
CREATE INDEX saml_replay_expires_at ON saml_replay (expires_at);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    connection TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE login_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    connection TEXT NOT NULL,
    user_id TEXT,
    email TEXT,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX login_audit_connection_at ON login_audit (connection, at);
