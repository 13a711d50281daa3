//! SCIM bearer tokens: issuing, revoking and checking them.
//!
//! A token is 32 random bytes (base64url, with a `scim_` prefix so it is recognisable in a
//! secret scanner); the store keeps only its SHA-256, looked up by index, so comparing hashes
//! needs no constant-time compare and a database copy yields no usable token. A plain hash
//! (not keyed with the session key) lets the session key rotate without breaking Entra's
//! provisioning. The token never reaches a log line or an error message.
//!
//! A [`TokenCache`] remembers tokens found valid for [`TOKEN_CACHE_SECONDS`], so a busy
//! SCIM client costs one store lookup per token every few seconds instead of one per
//! request. Revocation (`provisiond scim-token revoke`, another process, or another replica)
//! therefore takes effect within that many seconds on every replica; unknown and revoked
//! tokens are never cached.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

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

/// How long a token found valid is believed without asking the store again: the longest a
/// revoked token keeps working, on every replica.
pub const TOKEN_CACHE_SECONDS: i64 = 5;

/// `last_used_at` is written at most this often per token, so verifying stays a read.
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

/// Beyond this many remembered tokens, expired entries are dropped on insert.
const CACHE_PRUNE_ABOVE: usize = 1024;

/// Tokens recently found valid, by hash; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct TokenCache {
    entries: Arc<Mutex<HashMap<String, Verified>>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCache")
    }
}

/// What the store said about a valid token, and when.
#[derive(Debug, Clone)]
struct Verified {
    record: ScimToken,
    checked_at: DateTime<Utc>,
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The record of a token found valid less than [`TOKEN_CACHE_SECONDS`] before `now` (a
    /// clock that went back counts as expired).
    /// Whether the bearer token in an `Authorization` header value was found valid within
    /// the last [`TOKEN_CACHE_SECONDS`] (it may have been revoked since: [`authenticate`]
    /// still decides).
    pub fn recently_valid(&self, authorization: Option<&str>, now: DateTime<Utc>) -> bool {
        authorization
            .and_then(bearer)
            .filter(|token| !token.is_empty())
            .is_some_and(|token| self.fresh(&hash(token), now).is_some())
    }

    fn fresh(&self, token_hash: &str, now: DateTime<Utc>) -> Option<ScimToken> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(token_hash)?;
        let age = (now - entry.checked_at).num_milliseconds();
        (0..TOKEN_CACHE_SECONDS * 1000)
            .contains(&age)
            .then(|| entry.record.clone())
    }

    fn remember(&self, token_hash: String, record: ScimToken, checked_at: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_PRUNE_ABOVE {
            entries.retain(|_, e| (checked_at - e.checked_at).num_seconds() < TOKEN_CACHE_SECONDS);
        }
        entries.insert(token_hash, Verified { record, checked_at });
    }

    /// Records a write of `last_used_at` without restarting the entry's lifetime.
    fn note_use(&self, token_hash: &str, used_at: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get_mut(token_hash) {
            entry.record.last_used_at = Some(used_at.naive_utc());
        }
    }
}

/// Checks an `Authorization` header value for `connection`; records the use (at most once a
/// minute per token). A token found valid within the last [`TOKEN_CACHE_SECONDS`] is taken
/// from `cache` without a store lookup.
pub fn authenticate(
    store: &Store,
    cache: &TokenCache,
    connection: &str,
    authorization: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let token = authorization
        .and_then(bearer)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::Missing)?;
    let token_hash = hash(token);

    let record = match cache.fresh(&token_hash, now) {
        Some(record) => record,
        None => {
            let record = store
                .read(|tx| tx.scim_token_by_hash(&token_hash))?
                .ok_or(AuthError::Unknown)?;
            cache.remember(token_hash.clone(), record.clone(), now);
            record
        }
    };
    if record.connection != connection {
        return Err(AuthError::OtherConnection(record.connection));
    }

    let stale = record.last_used_at.is_none_or(|last| {
        (now.naive_utc() - last).num_seconds().abs() >= LAST_USED_GRANULARITY_SECONDS
    });
    if stale {
        store.write(|tx| tx.touch_scim_token(&record, now.naive_utc()))?;
        cache.note_use(&token_hash, now);
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

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_revoked_token_is_refused_once_its_cache_entry_is_older_than_the_bound() {
        let store = crate::store::tests::memory_store();
        let cache = TokenCache::new();
        let issued = create_token(&store, "acme", "entra", at(0)).unwrap();
        let header = format!("Bearer {}", issued.token);
        authenticate(&store, &cache, "acme", Some(&header), at(0)).unwrap();

        store
            .write(|tx| tx.revoke_scim_token(&issued.record.id, at(1).naive_utc()))
            .unwrap();
        // Within the documented bound the remembered answer may still be used ...
        authenticate(
            &store,
            &cache,
            "acme",
            Some(&header),
            at(TOKEN_CACHE_SECONDS - 1),
        )
        .unwrap();
        // ... and never after it.
        let late = authenticate(
            &store,
            &cache,
            "acme",
            Some(&header),
            at(TOKEN_CACHE_SECONDS),
        );
        assert!(matches!(late, Err(AuthError::Unknown)), "{late:?}");
        // A clock that went back does not extend an entry either.
        let earlier = authenticate(&store, &cache, "acme", Some(&header), at(-1));
        assert!(matches!(earlier, Err(AuthError::Unknown)), "{earlier:?}");
    }

    #[test]
    fn a_cached_token_still_opens_only_its_own_connection_and_records_use() {
        let store = crate::store::tests::memory_store();
        let cache = TokenCache::new();
        let issued = create_token(&store, "acme", "entra", at(0)).unwrap();
        let header = format!("Bearer {}", issued.token);
        authenticate(&store, &cache, "acme", Some(&header), at(0)).unwrap();
        let other = authenticate(&store, &cache, "other", Some(&header), at(1));
        assert!(
            matches!(other, Err(AuthError::OtherConnection(_))),
            "{other:?}"
        );
        let unknown = authenticate(&store, &cache, "acme", Some("Bearer scim_x"), at(1));
        assert!(matches!(unknown, Err(AuthError::Unknown)), "{unknown:?}");

        // A use more than a minute after the last recorded one is written, cache or not.
        for second in [2, 4, 70, 72] {
            authenticate(&store, &cache, "acme", Some(&header), at(second)).unwrap();
        }
        let stored = store.read(|tx| tx.scim_tokens(Some("acme"))).unwrap();
        assert_eq!(stored[0].last_used_at, Some(at(70).naive_utc()));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(hash("abc").len(), 64);
        assert_ne!(hash("abc"), hash("abd"));
    }
}
