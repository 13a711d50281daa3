DROP TABLE login_audit;
DROP TABLE sessions;
DROP TABLE saml_replay;
DROP TABLE saml_requests;
DROP TABLE identities;
DROP TABLE users;
