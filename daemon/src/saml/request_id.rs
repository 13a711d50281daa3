//! AuthnRequest IDs that prove themselves: starting a sign-in stores nothing, so the public
//! login route cannot be used to fill the store, and any replica can check an answer.
//!
//! An ID is `_`, the issue time (milliseconds since the epoch as 16 hex digits, so that the
//! answered IDs the store keeps arrive in time order) and the URL-safe base64 of a random
//! nonce, a tag over the connection, time and nonce, and a second tag over the first and the
//! RelayState sent with the request. Tags are HMAC-SHA256 with the install's session key,
//! each under a label of its own, cut to 16 and 8 bytes. An answer names its request in
//! InResponseTo; it counts once (the store records answered IDs until they expire).

use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::RngCore;

use crate::config::Secret;

/// How long an issued AuthnRequest may be answered.
pub const REQUEST_LIFETIME_MINUTES: i64 = 15;

/// How far ahead of this clock another replica's may run: an ID issued later than that is
/// refused, so that a clock set wrong for a while cannot leave IDs that stay valid for as
/// long after it is put right.
pub const ISSUE_SKEW_MINUTES: i64 = 5;

const NONCE_BYTES: usize = 8;
const ID_TAG_BYTES: usize = 16;
const RELAY_TAG_BYTES: usize = 8;
const TAIL_BYTES: usize = NONCE_BYTES + ID_TAG_BYTES + RELAY_TAG_BYTES;
const ID_LABEL: &[u8] = b"provisiond saml request id v1\0";
const RELAY_LABEL: &[u8] = b"provisiond saml request relay state v1\0";

/// Issues and checks request IDs with the install's session key.
#[derive(Debug, Clone)]
pub struct RequestIds {
    key: Secret,
}

/// An ID this install issued for the connection, still within its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedRequest {
    /// What the store keeps of an answered request: the ID up to its relay tag, so that an
    /// ID whose relay tag was altered still names the same request.
    pub key: String,
    /// When the answer stops counting; the store keeps the answered ID until then.
    pub expires_at: DateTime<Utc>,
    /// Whether the RelayState that came back is the one sent with the request.
    pub relay_state_intact: bool,
}

/// Why an InResponseTo names no request this connection may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotIssued {
    /// Not an ID of this install and connection (or issued under an earlier session key).
    Unknown,
    /// Issued here, but its lifetime is over.
    Expired,
    /// Issued here, at a time further ahead of this clock than replicas' clocks may differ.
    FromTheFuture,
}

impl NotIssued {
    /// What the log and the audit row say.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Unknown => "was not issued by this connection",
            Self::Expired => "has expired",
            Self::FromTheFuture => "was issued later than this clock allows",
        }
    }
}

impl RequestIds {
    /// Uses the configured session key.
    pub fn new(key: Secret) -> Self {
        Self { key }
    }

    /// A fresh ID for a request of `connection` sent with `relay_state`.
    pub fn issue(&self, connection: &str, relay_state: Option<&str>, now: DateTime<Utc>) -> String {
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut tail = Vec::with_capacity(TAIL_BYTES);
        tail.extend_from_slice(&nonce);
        let id_tag = self.key.mac(&[&id_input(connection, millis, &nonce)]);
        tail.extend_from_slice(&id_tag[..ID_TAG_BYTES]);
        // No RelayState and an empty one are the same: the login route drops an empty one.
        let relay = relay_state.unwrap_or_default().as_bytes();
        let relay_tag = self.key.mac(&[RELAY_LABEL, &id_tag[..ID_TAG_BYTES], relay]);
        tail.extend_from_slice(&relay_tag[..RELAY_TAG_BYTES]);
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tail);
        format!("_{millis:016x}{encoded}")
    }

    /// Checks that `id` was issued for `connection` and is still within its lifetime, and
    /// whether `relay_state` is what was sent with it.
    pub fn check(
        &self,
        connection: &str,
        id: &str,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<IssuedRequest, NotIssued> {
        let (millis, tail) = parse(id).ok_or(NotIssued::Unknown)?;
        let (nonce, tags) = tail.split_at(NONCE_BYTES);
        let (id_tag, relay_tag) = tags.split_at(ID_TAG_BYTES);
        if !self
            .key
            .mac_starts_with(&[&id_input(connection, millis, nonce)], id_tag)
        {
            return Err(NotIssued::Unknown);
        }
        let issued = i64::try_from(millis)
            .ok()
            .and_then(|millis| Utc.timestamp_millis_opt(millis).single())
            .ok_or(NotIssued::Unknown)?;
        if issued > now + Duration::minutes(ISSUE_SKEW_MINUTES) {
            return Err(NotIssued::FromTheFuture);
        }
        let expires_at = issued + Duration::minutes(REQUEST_LIFETIME_MINUTES);
        if expires_at <= now {
            return Err(NotIssued::Expired);
        }
        let relay = relay_state.unwrap_or_default().as_bytes();
        Ok(IssuedRequest {
            key: format!(
                "_{millis:016x}{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(&tail[..NONCE_BYTES + ID_TAG_BYTES])
            ),
            expires_at,
            relay_state_intact: self
                .key
                .mac_starts_with(&[RELAY_LABEL, id_tag, relay], relay_tag),
        })
    }
}

/// What the ID tag covers. The connection's length comes first, so no two (connection,
/// time, nonce) triples give the same input.
fn id_input(connection: &str, millis: u64, nonce: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(ID_LABEL.len() + 4 + connection.len() + 8 + nonce.len());
    input.extend_from_slice(ID_LABEL);
    input.extend_from_slice(
        &u32::try_from(connection.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    input.extend_from_slice(connection.as_bytes());
    input.extend_from_slice(&millis.to_be_bytes());
    input.extend_from_slice(nonce);
    input
}

/// The issue time and the decoded tail of a well-formed ID. The base64 decoder refuses
/// non-zero padding bits, so each ID has one spelling.
fn parse(id: &str) -> Option<(u64, Vec<u8>)> {
    let rest = id.strip_prefix('_')?;
    let (time, tail) = (rest.get(..16)?, rest.get(16..)?);
    // Only the form `issue` writes: the store keys answered IDs by their text, so two
    // spellings of one ID (upper-case hex) must not both pass.
    if !time.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let millis = u64::from_str_radix(time, 16).ok()?;
    let tail = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(tail)
        .ok()?;
    (tail.len() == TAIL_BYTES).then_some((millis, tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> RequestIds {
        RequestIds::new(Secret::new("test-session-key-0123456789abcdef"))
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn an_issued_id_checks_for_its_connection_and_relay_state() {
        let id = ids().issue("acme", Some("/app"), at(0));
        let checked = ids().check("acme", &id, Some("/app"), at(1)).unwrap();
        assert!(checked.relay_state_intact);
        assert_eq!(checked.expires_at, at(REQUEST_LIFETIME_MINUTES));
    }

    #[test]
    fn ids_are_valid_saml_ids_and_start_with_their_time() {
        let earlier = ids().issue("acme", None, at(0));
        let later = ids().issue("acme", None, at(1));
        assert_ne!(
            earlier,
            ids().issue("acme", None, at(0)),
            "nonce makes each unique"
        );
        assert!(earlier < later);
        // xsd:ID: an NCName, and Entra refuses one starting with a digit.
        assert!(earlier.starts_with('_'));
        assert!(
            earlier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        );
        assert!(earlier.len() < 80, "{earlier}");
    }

    #[test]
    fn a_changed_relay_state_is_told_apart_from_a_forged_id() {
        let id = ids().issue("acme", Some("/app"), at(0));
        for returned in [Some("/elsewhere"), None, Some("")] {
            let checked = ids().check("acme", &id, returned, at(1)).unwrap();
            assert!(!checked.relay_state_intact, "{returned:?}");
        }
        let none = ids().issue("acme", None, at(0));
        assert!(
            ids()
                .check("acme", &none, Some(""), at(1))
                .unwrap()
                .relay_state_intact
        );
        assert!(
            !ids()
                .check("acme", &none, Some("/x"), at(1))
                .unwrap()
                .relay_state_intact
        );
    }

    #[test]
    fn an_id_with_an_altered_relay_tag_names_the_same_request() {
        let id = ids().issue("acme", Some("/app"), at(0));
        let original = ids().check("acme", &id, Some("/app"), at(1)).unwrap();
        let mut altered = id.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        let checked = ids().check("acme", &altered, Some("/app"), at(1)).unwrap();
        assert!(!checked.relay_state_intact);
        assert_eq!(checked.key, original.key);
        assert!(id.starts_with(&original.key));
    }

    #[test]
    fn another_connection_key_or_any_changed_character_is_unknown() {
        let id = ids().issue("acme", None, at(0));
        assert_eq!(
            ids().check("other", &id, None, at(1)),
            Err(NotIssued::Unknown)
        );
        let rotated = RequestIds::new(Secret::new("another-session-key-0123456789abcd"));
        assert_eq!(
            rotated.check("acme", &id, None, at(1)),
            Err(NotIssued::Unknown)
        );
        // Every character before the relay tag.
        let key = ids().check("acme", &id, None, at(1)).unwrap().key;
        for index in 1..key.len() {
            let mut changed = id.clone().into_bytes();
            changed[index] = if changed[index] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(changed).unwrap();
            assert!(
                ids().check("acme", &changed, None, at(1)).is_err(),
                "{changed} accepted"
            );
        }
    }

    #[test]
    fn malformed_ids_are_unknown_not_a_panic() {
        let id = ids().issue("acme", None, at(0));
        for bad in [
            "",
            "_",
            "_never-issued-by-provisiond",
            "_zzzzzzzzzzzzzzzz",
            &id[..id.len() - 1],
            &format!("{id}A"),
            &id[1..],
            "_ffffffffffffffffAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "_0000000000000000é",
        ] {
            assert_eq!(
                ids().check("acme", bad, None, at(1)),
                Err(NotIssued::Unknown),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_id_issued_ahead_of_this_clock_counts_within_the_replicas_skew_only() {
        let id = ids().issue("acme", None, at(ISSUE_SKEW_MINUTES));
        assert!(ids().check("acme", &id, None, at(0)).is_ok());
        let id = ids().issue("acme", None, at(ISSUE_SKEW_MINUTES + 1));
        assert_eq!(
            ids().check("acme", &id, None, at(0)),
            Err(NotIssued::FromTheFuture)
        );
        let id = ids().issue("acme", None, at(60 * 24 * 365));
        assert_eq!(
            ids().check("acme", &id, None, at(0)),
            Err(NotIssued::FromTheFuture)
        );
    }

    #[test]
    fn an_id_expires_after_its_lifetime() {
        let id = ids().issue("acme", None, at(0));
        assert!(
            ids()
                .check("acme", &id, None, at(REQUEST_LIFETIME_MINUTES - 1))
                .is_ok()
        );
        assert_eq!(
            ids().check("acme", &id, None, at(REQUEST_LIFETIME_MINUTES)),
            Err(NotIssued::Expired)
        );
    }
}
