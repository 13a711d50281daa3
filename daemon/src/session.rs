//! Browser sessions: random tokens in an HttpOnly cookie, stored only as a keyed hash.
//!
//! The cookie value is a time-ordered id and 32 random bytes; the store keeps the id and
//! HMAC-SHA256(session_key, token), so neither a database copy nor a log line can be turned
//! back into a working cookie.

use base64::Engine;
use rand::RngCore;

use crate::config::Secret;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "provisiond_session";

/// Makes and recognises session tokens with the install's session key.
#[derive(Clone)]
pub struct SessionKeys {
    key: Secret,
}

impl SessionKeys {
    /// Uses the configured session key.
    pub fn new(key: Secret) -> Self {
        Self { key }
    }

    /// A fresh token for a cookie, and the hash to store for it.
    ///
    /// The token is a time-ordered id, a dot and 32 random bytes; the id (public, like the
    /// rest of the cookie) also starts the stored hash, so sessions are stored in the order
    /// they began rather than at random places in their table.
    pub fn issue(&self) -> (String, String) {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!(
            "{}.{}",
            uuid::Uuid::now_v7().simple(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let hash = self.hash(&token);
        (token, hash)
    }

    /// The stored form of a token: the HMAC of the whole token, after its id when it has one.
    pub fn hash(&self, token: &str) -> String {
        let mac = hex::encode(self.key.mac(&[token.as_bytes()]));
        match token.split_once('.') {
            Some((id, _)) if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
                format!("{id}.{mac}")
            }
            _ => mac,
        }
    }

    /// The `Set-Cookie` value that starts a session.
    pub fn cookie(token: &str, max_age_seconds: u64, secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!(
            "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; \
             Max-Age={max_age_seconds}{secure}"
        )
    }

    /// The `Set-Cookie` value that ends a session.
    pub fn clear_cookie(secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashes_depend_on_the_key() {
        let keys = SessionKeys::new(Secret::new("k".repeat(32)));
        let other = SessionKeys::new(Secret::new("o".repeat(32)));
        let (a, hash_a) = keys.issue();
        let (b, _) = keys.issue();
        assert_ne!(a, b);
        assert_eq!(keys.hash(&a), hash_a);
        assert_ne!(other.hash(&a), hash_a);
        assert_eq!(hash_a.len(), 32 + 1 + 64);
    }

    #[test]
    fn stored_hashes_begin_with_the_token_id_in_issue_order() {
        let keys = SessionKeys::new(Secret::new("k".repeat(32)));
        let hashes: Vec<String> = (0..50).map(|_| keys.issue().1).collect();
        let mut sorted = hashes.clone();
        sorted.sort();
        assert_eq!(hashes, sorted);
        let (token, hash) = keys.issue();
        let (id, _) = token.split_once('.').unwrap();
        assert!(hash.starts_with(&format!("{id}.")));
    }

    /// The id in a token is only a prefix: another secret behind it, or another id in front
    /// of it, gives another stored hash; a token without an id hashes to the MAC alone.
    #[test]
    fn the_id_alone_matches_nothing() {
        let keys = SessionKeys::new(Secret::new("k".repeat(32)));
        let (token, hash) = keys.issue();
        let (id, secret) = token.split_once('.').unwrap();
        assert_ne!(
            keys.hash(&format!("{id}.{}", "A".repeat(secret.len()))),
            hash
        );
        let other_id = keys.issue().0;
        let (other_id, _) = other_id.split_once('.').unwrap();
        assert_ne!(keys.hash(&format!("{other_id}.{secret}")), hash);
        assert_eq!(
            keys.hash("plain"),
            hex::encode(Secret::new("k".repeat(32)).mac(&[b"plain"]))
        );
    }

    #[test]
    fn cookie_is_http_only_lax_and_secure_only_on_https() {
        let cookie = SessionKeys::cookie("t", 60, false);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        assert!(!cookie.contains("Secure"));
        assert!(SessionKeys::cookie("t", 60, true).ends_with("; Secure"));
    }
}
