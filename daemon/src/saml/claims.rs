//! From a validated assertion to a person: external id, email and names.
//!
//! Entra's default claim URIs and the plain `firstName` / `lastName` names both work without
//! configuration; a connection's `attributes` overrides take precedence.

use super::validate::ValidatedAssertion;
use crate::config::AttributeNames;

const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// No stated meaning (core §8.3.1): Okta's default, holding whatever the IdP's user name is.
const UNSPECIFIED_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
/// A one-time identifier (core §8.3.8): a new value at every login.
const TRANSIENT_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// Entra's claim URI, the plain names, and the two X.500 names in the URI form of the SAML
/// X.500/LDAP attribute profile: `mail` (Shibboleth, SimpleSAMLphp) and PKCS #9
/// `emailAddress` (Keycloak's "X500 email" mapper).
const EMAIL_CLAIMS: &[&str] = &[
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "email",
    "mail",
    "emailAddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "urn:oid:1.2.840.113549.1.9.1",
];
/// Entra's `name` claim (the UPN), then the UPN claim AD FS sends by default.
const UPN_CLAIMS: &[&str] = &[
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
];
const FIRST_NAME_CLAIMS: &[&str] = &[
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "firstName",
    "givenName",
    "first_name",
    "urn:oid:2.5.4.42",
];
const LAST_NAME_CLAIMS: &[&str] = &[
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "lastName",
    "surname",
    "sn",
    "last_name",
    "urn:oid:2.5.4.4",
];
const DISPLAY_NAME_CLAIMS: &[&str] = &[
    "http://schemas.microsoft.com/identity/claims/displayname",
    "displayName",
    "urn:oid:2.16.840.1.113730.3.1.241",
];
const EXTERNAL_ID_CLAIMS: &[&str] =
    &["http://schemas.microsoft.com/identity/claims/objectidentifier"];

/// The person an assertion describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The IdP's stable id: the external-id claim (Entra's object id), else the NameID unless
    /// it is transient. `None` when the assertion names no stable id: the email is the key.
    pub external_id: Option<String>,
    /// Email address, if one could be found.
    pub email: Option<String>,
    /// The IdP's user name (Entra UPN), when sent.
    pub user_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
}

/// Reads the identity out of an assertion.
///
/// Email comes from the NameID when its format is emailAddress, or is unspecified or absent and
/// the value looks like an address; else from an email claim, else from Entra's UPN claim when
/// that looks like an address. Persistent and transient NameIDs are opaque, never an email.
pub fn identity(assertion: &ValidatedAssertion, names: &AttributeNames) -> Identity {
    let first = |custom: &Option<String>, defaults: &[&str]| -> Option<String> {
        let custom = custom.iter().map(String::as_str);
        custom
            .chain(defaults.iter().copied())
            .find_map(|name| first_value(assertion, name))
    };

    let name_id_is_email = matches!(
        assertion.name_id_format.as_deref(),
        None | Some(EMAIL_FORMAT | UNSPECIFIED_FORMAT)
    );
    let claimed_email = first(&names.email, EMAIL_CLAIMS).filter(|e| looks_like_email(e));
    let user_name = first(&None, UPN_CLAIMS);
    let email = if names.email.is_some() {
        claimed_email
    } else if name_id_is_email && looks_like_email(&assertion.name_id) {
        Some(assertion.name_id.clone())
    } else {
        claimed_email.or_else(|| user_name.clone().filter(|upn| looks_like_email(upn)))
    };

    // A NameID that is an address keys the account in its ASCII-folded form: an IdP that
    // changes an address's letter case is still naming the same person.
    let name_id_key = if name_id_is_email && looks_like_email(&assertion.name_id) {
        crate::store::email_key(&assertion.name_id)
    } else {
        assertion.name_id.clone()
    };
    Identity {
        external_id: first(&names.external_id, EXTERNAL_ID_CLAIMS)
            .or_else(|| (!name_id_is_transient(assertion)).then_some(name_id_key)),
        email,
        user_name,
        given_name: first(&names.first_name, FIRST_NAME_CLAIMS),
        family_name: first(&names.last_name, LAST_NAME_CLAIMS),
        display_name: first(&names.display_name, DISPLAY_NAME_CLAIMS),
    }
}

/// Whether the NameID is a one-time identifier, which names nobody at the next login.
pub fn name_id_is_transient(assertion: &ValidatedAssertion) -> bool {
    assertion.name_id_format.as_deref() == Some(TRANSIENT_FORMAT)
}

fn first_value(assertion: &ValidatedAssertion, name: &str) -> Option<String> {
    assertion
        .attributes
        .get(name)
        .and_then(|values| values.iter().find(|v| !v.trim().is_empty()))
        .map(|v| v.trim().to_string())
}

/// A plain `local@host.name` check; the domain rule decides the rest.
///
/// Exactly one `@`, and a domain of letter-digit-hyphen labels (IDNs in their `xn--` form,
/// as connection domains are written). Anything looser would let `a@other.example@acme.example`
/// become an account of acme whose address other software reads as other.example's. At most
/// [`MAX_EMAIL_BYTES`] long, as RFC 5321 allows (and short enough to be an index key).
pub fn looks_like_email(text: &str) -> bool {
    if text.len() > MAX_EMAIL_BYTES {
        return false;
    }
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let host_name = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    !local.is_empty()
        && host_name
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'))
}

/// The longest address: RFC 5321 §4.5.3.1.3 allows a path of 256 octets, angle brackets
/// included.
pub const MAX_EMAIL_BYTES: usize = 254;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn assertion(
        name_id: &str,
        format: Option<&str>,
        attrs: &[(&str, &str)],
    ) -> ValidatedAssertion {
        let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in attrs {
            attributes
                .entry(name.to_string())
                .or_default()
                .push(value.to_string());
        }
        ValidatedAssertion {
            assertion_id: "_a".into(),
            issuer: "idp".into(),
            name_id: name_id.into(),
            name_id_format: format.map(str::to_string),
            in_response_to: None,
            replay_until: chrono::Utc::now(),
            session_index: None,
            session_until: None,
            attributes,
        }
    }

    #[test]
    fn entra_default_claims_give_object_id_email_and_names() {
        let a = assertion(
            "alice@acme.example",
            Some(EMAIL_FORMAT),
            &[
                (EXTERNAL_ID_CLAIMS[0], "oid-1"),
                (FIRST_NAME_CLAIMS[0], "Alice"),
                (LAST_NAME_CLAIMS[0], "Smith"),
                (UPN_CLAIMS[0], "alice@acme.onmicrosoft.com"),
            ],
        );
        let id = identity(&a, &AttributeNames::default());
        assert_eq!(id.external_id.as_deref(), Some("oid-1"));
        assert_eq!(id.email.as_deref(), Some("alice@acme.example"));
        assert_eq!(id.given_name.as_deref(), Some("Alice"));
        assert_eq!(id.family_name.as_deref(), Some("Smith"));
        assert_eq!(id.user_name.as_deref(), Some("alice@acme.onmicrosoft.com"));
    }

    #[test]
    fn plain_first_and_last_name_claims_work_and_nameid_is_the_fallback_key() {
        let a = assertion(
            "bob@acme.example",
            None,
            &[("firstName", "Bob"), ("lastName", "Jones")],
        );
        let id = identity(&a, &AttributeNames::default());
        assert_eq!(id.external_id.as_deref(), Some("bob@acme.example"));
        assert_eq!(id.email.as_deref(), Some("bob@acme.example"));
        assert_eq!(
            (id.given_name.as_deref(), id.family_name.as_deref()),
            (Some("Bob"), Some("Jones"))
        );
    }

    #[test]
    fn persistent_nameid_takes_email_from_claims_then_upn() {
        let persistent = Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
        let a = assertion(
            "opaque",
            persistent,
            &[(UPN_CLAIMS[0], "carol@acme.example")],
        );
        assert_eq!(
            identity(&a, &AttributeNames::default()).email.as_deref(),
            Some("carol@acme.example")
        );
        let b = assertion("opaque", persistent, &[]);
        assert_eq!(identity(&b, &AttributeNames::default()).email, None);
    }

    #[test]
    fn ad_fs_upn_claim_gives_the_user_name_and_stands_in_for_a_missing_email() {
        let persistent = Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
        let upn = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
        let a = assertion("opaque", persistent, &[(upn, "dana@acme.example")]);
        let id = identity(&a, &AttributeNames::default());
        assert_eq!(id.user_name.as_deref(), Some("dana@acme.example"));
        assert_eq!(id.email.as_deref(), Some("dana@acme.example"));
        // Entra's UPN claim comes first when both are sent.
        let both = [
            (UPN_CLAIMS[0], "entra@acme.example"),
            (upn, "adfs@acme.example"),
        ];
        let id = identity(
            &assertion("opaque", persistent, &both),
            &AttributeNames::default(),
        );
        assert_eq!(id.user_name.as_deref(), Some("entra@acme.example"));
    }

    #[test]
    fn the_name_id_format_decides_whether_it_is_the_email_and_the_key() {
        let upn = [(UPN_CLAIMS[0], "upn@acme.example")];
        // (format, email, external id) for a NameID `kim@acme.example` beside a UPN claim.
        for (format, email, key) in [
            (
                Some(EMAIL_FORMAT),
                "kim@acme.example",
                Some("kim@acme.example"),
            ),
            (
                Some(UNSPECIFIED_FORMAT),
                "kim@acme.example",
                Some("kim@acme.example"),
            ),
            (None, "kim@acme.example", Some("kim@acme.example")),
            (
                Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
                "upn@acme.example",
                Some("kim@acme.example"),
            ),
            (Some(TRANSIENT_FORMAT), "upn@acme.example", None),
        ] {
            let id = identity(
                &assertion("kim@acme.example", format, &upn),
                &AttributeNames::default(),
            );
            assert_eq!(id.email.as_deref(), Some(email), "{format:?}");
            assert_eq!(id.external_id.as_deref(), key, "{format:?}");
        }
        // An external-id claim is the key whatever the NameID.
        let a = assertion(
            "_t1",
            Some(TRANSIENT_FORMAT),
            &[(EXTERNAL_ID_CLAIMS[0], "oid-1")],
        );
        let id = identity(&a, &AttributeNames::default());
        assert_eq!(id.external_id.as_deref(), Some("oid-1"));
    }

    #[test]
    fn email_with_several_at_signs_or_a_non_host_name_domain_is_not_an_email() {
        for bad in [
            "mallory@other.example@acme.example",
            "\"mallory@other\"@acme.example",
            "alice@acme.example.",
            "alice@.acme.example",
            "alice@acme..example",
            "alice@acme.example/x",
            "alice@acme_example.com",
            "alice@bücher.example",
            "al ice@acme.example",
            "@acme.example",
            "alice@localhost",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
            let a = assertion(bad, Some(EMAIL_FORMAT), &[]);
            assert_eq!(
                identity(&a, &AttributeNames::default()).email,
                None,
                "{bad}"
            );
        }
        for good in [
            "alice@acme.example",
            "Alice.O'Neil+sso@ACME.example",
            "a@xn--bcher-kva.example",
        ] {
            assert!(looks_like_email(good), "{good}");
        }
    }

    /// RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets.
    #[test]
    fn an_address_longer_than_254_bytes_is_not_an_email() {
        let longest = format!("{}@acme.example", "a".repeat(254 - "@acme.example".len()));
        assert!(looks_like_email(&longest));
        assert!(!looks_like_email(&format!("a{longest}")));
    }

    /// Keycloak sends the user name as an unspecified NameID and the address under the
    /// PKCS #9 name of its X.500 mapper; Shibboleth under the LDAP `mail` name.
    #[test]
    fn x500_attribute_names_give_the_email_and_names_beside_a_user_name() {
        let unspecified = Some(UNSPECIFIED_FORMAT);
        for email_name in [
            "urn:oid:1.2.840.113549.1.9.1",
            "urn:oid:0.9.2342.19200300.100.1.3",
        ] {
            let a = assertion(
                "alice",
                unspecified,
                &[
                    (email_name, "alice@acme.example"),
                    ("urn:oid:2.5.4.42", "Alice"),
                    ("urn:oid:2.5.4.4", "Smith"),
                ],
            );
            let id = identity(&a, &AttributeNames::default());
            assert_eq!(
                id.email.as_deref(),
                Some("alice@acme.example"),
                "{email_name}"
            );
            assert_eq!(id.external_id.as_deref(), Some("alice"));
            assert_eq!(id.given_name.as_deref(), Some("Alice"));
            assert_eq!(id.family_name.as_deref(), Some("Smith"));
        }
    }

    #[test]
    fn configured_claim_names_override_the_defaults() {
        let a = assertion(
            "x@acme.example",
            Some(EMAIL_FORMAT),
            &[
                ("corpMail", "dave@acme.example"),
                ("gn", "Dave"),
                ("firstName", "Ignored"),
            ],
        );
        let names = AttributeNames {
            email: Some("corpMail".into()),
            first_name: Some("gn".into()),
            ..Default::default()
        };
        let id = identity(&a, &names);
        assert_eq!(id.email.as_deref(), Some("dave@acme.example"));
        assert_eq!(id.given_name.as_deref(), Some("Dave"));
    }
}
