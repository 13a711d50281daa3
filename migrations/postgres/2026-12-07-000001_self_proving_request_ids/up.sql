-- Starting a sign-in stores nothing any more: an AuthnRequest ID proves itself (it carries
-- its issue time and an HMAC under the session key). What is stored is each answered ID, until
-- it expires, so that a request is answered once. Requests outstanding at the upgrade were
-- stored in the old table: answers to them are refused (or taken as unsolicited where the
-- connection allows that), and the person signs in again.
DROP TABLE saml_requests;

CREATE TABLE saml_answered_requests (
    id TEXT PRIMARY KEY NOT NULL,
    connection TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX saml_answered_requests_expires_at ON saml_answered_requests (expires_at);
