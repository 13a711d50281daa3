-- The answered IDs go; the table of outstanding requests comes back empty (requests issued in
-- the new form are not in it, so their answers are refused after the downgrade).
DROP TABLE saml_answered_requests;

CREATE TABLE saml_requests (
    id TEXT PRIMARY KEY NOT NULL,
    connection TEXT NOT NULL,
    relay_state TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX saml_requests_expires_at ON saml_requests (expires_at);
