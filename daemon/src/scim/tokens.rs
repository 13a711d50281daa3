//! SCIM bearer tokens: issuing, revoking and checking them.
//!
//! A token is 32 random bytes (base64url, with a `scim_` prefix so it is recognisable in a
//! secret scanner); the store keeps only its SHA-256, looked up by index, so comparing hashes
//! needs no constant-time compare and a database copy yields no usable token. A plain hash
//! (not keyed with the session key) lets the session key rotate without breaking Entra's
//! provisioning. The token never reaches a log line or an error message.

use std::fmt;

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::store::{ScimToken, Store, StoreError};

/// A freshly issued token: shown once, never stored.
pub struct IssuedToken {
    /// The record (id, connection, label, dates).
    pub record: ScimToken,
    /// The token itself.
    pub token: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("record", &self.record)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// Why a request was not let in; every case answers 401.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token")]
    Missing,
    /// The token is unknown or revoked.
    #[error("unknown or revoked token")]
    Unknown,
    /// The token belongs to another connection.
    #[error("the token belongs to connection {0}")]
    OtherConnection(String),
    /// The store failed (answer 500, not 401).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for AuthError {
    fn from(err: diesel::result::Error) -> Self {
        AuthError::Store(err.into())
    }
}

/// Issues a token for a connection.
pub fn create_token(
    store: &Store,
    connection: &str,
    label: &str,
    now: DateTime<Utc>,
) -> Result<IssuedToken, StoreError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!(
        "scim_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let id = uuid::Uuid::new_v4().to_string();
    let record = store
        .write(|tx| tx.insert_scim_token(&id, connection, &hash(&token), label, now.naive_utc()))?;
    Ok(IssuedToken { record, token })
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks an `Authorization` header value for `connection`; records the use (at most once a
/// minute per token).
pub fn authenticate(
    store: &Store,
    connection: &str,
    authorization: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let token = authorization
        .and_then(bearer)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::Missing)?;
    let token_hash = hash(token);
    let record = store
        .read(|tx| tx.scim_token_by_hash(&token_hash))?
        .ok_or(AuthError::Unknown)?;
    if record.connection != connection {
        return Err(AuthError::OtherConnection(record.connection));
    }
    let stale = record
        .last_used_at
        .is_none_or(|last| (now.naive_utc() - last).num_seconds().abs() >= 60);
    if stale {
        store.write(|tx| tx.touch_scim_token(&record, now.naive_utc()))?;
    }
    Ok(())
}

/// The token of `Bearer <token>` (scheme case-insensitive).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_other_schemes_are_not_tokens() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(hash("abc").len(), 64);
        assert_ne!(hash("abc"), hash("abd"));
    }
}
